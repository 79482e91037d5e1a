"""Subject access (nFADP art. 25, decision 0037): everything the organisation holds on one
person and who read or changed it, as JSON (streamed) or as a PDF in the reader's language.

Reach is the organisation's, not the actor's: the dossiers the organisation owns (every
section) and those shared with it (the shared sections, a former owner's only its period),
where the person is the client or a member of the dossier's household. The policy row
``subject.access`` says under which of these relations a section is included.

The content is the exchange format's records (``filum.exchange.format``, its documented
shape), read by kind over all the dossiers in reach at once: a fixed number of queries
whatever the number of dossiers or journal entries. The log is read per dossier through the
audit's keyset pages (``filum.records.audit.dossier_history``), two queries per page."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override
from pydantic import BaseModel

from filum.assessments.models import Assessment
from filum.cases.models import (
    Case,
    CaseTransition,
    Consent,
    Domain,
    DossierTransfer,
    SegmentAssignment,
    Share,
)
from filum.cases.permissions import period_of, relations_for
from filum.documents.models import Document
from filum.exchange import export as delivery
from filum.followup.models import Task
from filum.followup.texts import stored_text
from filum.journal.models import Contact
from filum.people.models import AssistanceUnit, Person, PersonReach, UnitMember
from filum.plans.models import Measure, Plan
from filum.records.audit import AuditRow, Cursor, _field, _value, dossier_history
from filum.records.models import ReadKind, ReadLog
from filum.records.retention import rules_by_domain
from filum.records.services import log_list_reads, log_read, log_security_event, refuse
from filum.tenancy import labels
from filum.tenancy.models import Organisation, User
from filum.tenancy.policy import SECTIONS, Actor, ActorRequest, Relation, Section

FORMAT = "filum-subject-access/1"
EXPORT_EVENT = "subject_access_export"
LOG_PAGE = 500  # log rows per audit page (two queries each)

# Each kind of record and the dossier section it belongs to.
KINDS: tuple[tuple[str, Section], ...] = (
    ("stages", Section.CORE),
    ("segments", Section.CORE),
    ("tasks", Section.CORE),
    ("consents", Section.CORE),
    ("shares", Section.CORE),
    ("journal", Section.JOURNAL),
    ("assessments", Section.ASSESSMENT),
    ("plans", Section.PLAN),
    ("measures", Section.PLAN),
    ("documents", Section.DOCUMENTS),
)
# The model each kind's record comes from: its fields' labels and choices for the PDF.
MODELS: dict[str, type[Any]] = {
    "dossiers": Case,
    "stages": CaseTransition,
    "segments": SegmentAssignment,
    "tasks": Task,
    "consents": Consent,
    "shares": Share,
    "journal": Contact,
    "assessments": Assessment,
    "plans": Plan,
    "measures": Measure,
    "documents": Document,
    "persons": Person,
    "households": AssistanceUnit,
}
# Fields a PDF row does not show: ids, and parameters shown through their rendered text.
HIDDEN = {"source_id", "dossier", "title_params", "reason_params", "path"}


@dataclass(frozen=True)
class Dossier:
    """A dossier in the organisation's reach and the sections the export includes."""

    case: Case
    sections: tuple[str, ...]
    owned: bool
    period_until: datetime.date | None = None


@dataclass
class Subject:
    person: Person
    organisation: Organisation
    dossiers: list[Dossier] = field(default_factory=list)

    def case_ids(self, section: str) -> list[uuid.UUID]:
        return [d.case.pk for d in self.dossiers if section in d.sections]

    def period(self) -> dict[str, datetime.date]:
        """The dossiers reached only for a former owner's period: source id -> cut-over."""
        return {
            delivery.sid("dossier", d.case.pk): d.period_until
            for d in self.dossiers
            if d.period_until is not None
        }


def dossiers_in_reach(actor: Actor, person: Person) -> list[Dossier]:
    """The person's dossiers (as client or household member) that the actor's organisation
    owns or holds an active share on, with the sections the export includes (two queries)."""
    org_id = actor.organisation_id
    households = UnitMember.objects.filter(person_id=person.pk).values("unit_id")
    shares_with_org = Share.objects.active().filter(organisation_id=org_id)
    cases = list(
        Case.objects.filter(Q(client_id=person.pk) | Q(assistance_unit_id__in=households))
        .filter(Q(owner_id=org_id) | Q(pk__in=shares_with_org.values("case_id")))
        .select_related("owner", "client", "team")
        .order_by("opened_on", "number")
    )
    shares: dict[uuid.UUID, list[Share]] = {}
    for share in shares_with_org.filter(case_id__in=[c.pk for c in cases if c.owner_id != org_id]):
        shares.setdefault(share.case_id, []).append(share)
    found = []
    for case in cases:
        case_shares = shares.get(case.pk, [])
        relations = relations_for(actor, case, case_shares)
        # the organisation's relation: whoever is responsible, the owner holds it all
        relations = {
            s: Relation.OWN_ORG if r == Relation.OWN_CASE else r for s, r in relations.items()
        }
        sections = tuple(s for s in SECTIONS if actor.may("subject.access", relations[s]))
        if sections:
            found.append(
                Dossier(
                    case=case,
                    sections=sections,
                    owned=case.owner_id == org_id,
                    period_until=period_of(case_shares),
                )
            )
    return found


def get_subject_for_actor(
    *, request: ActorRequest, person_id: uuid.UUID, export: str = ""
) -> Subject:
    """The one door to a person's subject access: the person and the dossiers in reach.

    A person neither registered by the organisation nor in one of its dossiers (owned or
    shared) answers the same 404 as a missing one, and leaves a security event (R12, R14).
    On a page shown (GET) the person's core data is logged as read; with ``export`` (the
    format) every section of every dossier in reach is logged as exported, and a security
    event records the export: by whom, for whom, in which format."""
    actor = request.actor
    if not actor.may("subject.access", Relation.OWN_ORG):
        raise Http404
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise Http404
    dossiers = dossiers_in_reach(actor, person)
    if not dossiers and not (
        PersonReach.objects.filter(organisation_id=actor.organisation_id, person_id=person.pk)
        .filter(Q(registered=True) | Q(cases__gt=0))
        .exists()
    ):
        refuse(request, "person", person.pk, owner_id=person.registered_by_id)
    subject = Subject(person=person, organisation=actor.organisation, dossiers=dossiers)
    if export:
        log_read(
            actor=actor,
            person_id=person.pk,
            sections=[Section.CORE],
            kind=ReadKind.EXPORT,
            path=request.path,
        )
        for section in SECTIONS:
            log_list_reads(
                actor=actor,
                case_ids=subject.case_ids(section),
                section=section,
                kind=ReadKind.EXPORT,
                path=request.path,
            )
        log_security_event(
            EXPORT_EVENT,
            request=request,
            user=actor.user,
            person_id=str(person.pk),
            format=export,
            dossiers=len(dossiers),
        )
    elif request.method == "GET":
        log_read(actor=actor, person_id=person.pk, sections=[Section.CORE], path=request.path)
    return subject


# --- the content ------------------------------------------------------------------------------


def _scope(subject: Subject, section: str) -> delivery.Scope:
    return delivery.Scope(
        organisation=subject.organisation,
        cases=Case.objects.filter(pk__in=subject.case_ids(section)),
    )


def _stored_checksum(document: Document, path: str) -> tuple[str, int]:
    """A document listed by its stored checksum and size: the file itself is not read."""
    return document.sha256, document.size


def _in_period(subject: Subject, kind: str) -> Callable[[Any], bool]:
    """Whether a record lies in what the organisation reaches: a former owner reads the
    journal and the documents of its own period only (decision 0026)."""
    periods = subject.period()
    me = delivery.sid("person", subject.person.pk)

    def keep(record: Any) -> bool:
        if kind in ("consents", "assessments"):  # the person's own, not a relative's
            return bool(record.person == me)
        until = periods.get(getattr(record, "dossier", ""))
        if until is None:
            return True
        if kind == "journal":
            return bool(record.date < until)
        if kind == "documents":
            return bool(timezone.localdate(record.uploaded_at) < until)
        return True

    return keep


def records(subject: Subject, kind: str) -> Iterator[BaseModel]:
    """One kind's records over every dossier in reach whose section it belongs to."""
    section = dict(KINDS)[kind]
    scope = _scope(subject, section)
    if not subject.case_ids(section):
        return
    produce: dict[str, Callable[[], Iterable[BaseModel]]] = {
        "stages": lambda: delivery._stages(scope),
        "segments": lambda: delivery._segments(scope),
        "tasks": lambda: delivery._tasks(scope),
        "consents": lambda: delivery._consents(scope),
        "shares": lambda: delivery._shares(scope),
        "journal": lambda: delivery._journal(scope),
        "assessments": lambda: delivery._assessments(scope),
        "plans": lambda: delivery._plans(scope),
        "measures": lambda: delivery._measures(scope),
        "documents": lambda: delivery._documents(scope, _stored_checksum),
    }
    yield from filter(_in_period(subject, kind), produce[kind]())


def dossier_records(subject: Subject) -> Iterator[BaseModel]:
    cases = Case.objects.filter(pk__in=[d.case.pk for d in subject.dossiers])
    scope = delivery.Scope(organisation=subject.organisation, cases=cases)
    yield from delivery._dossiers(scope)


def household_ids(subject: Subject) -> list[Any]:
    """The households the person belongs to that the organisation reaches: of its dossiers
    in reach (core section) or registered by the organisation."""
    units = [d.case.assistance_unit_id for d in subject.dossiers if Section.CORE in d.sections]
    return list(
        UnitMember.objects.filter(person_id=subject.person.pk)
        .filter(Q(unit__registered_by_id=subject.organisation.pk) | Q(unit_id__in=units))
        .values_list("unit_id", flat=True)
        .distinct()
    )


def person_records(subject: Subject) -> tuple[BaseModel, list[BaseModel]]:
    scope = delivery.Scope(organisation=subject.organisation, cases=Case.objects.none())
    scope.person_ids = {subject.person.pk}
    person = next(iter(delivery._persons(scope)))
    scope.household_ids = set(household_ids(subject))
    return person, list(delivery._households(scope))


# --- the log ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    at: datetime.datetime
    kind: str  # "read", "change" or "denied"
    user: str
    what: str  # read: the kind of read; change: insert/update/delete; denied: "denied"
    section: str = ""
    object: str = ""  # change: the changed record's label
    fields: tuple[str, ...] = ()  # change: the labels of the changed fields

    def as_json(self, dossier: str) -> dict[str, Any]:
        return {
            "dossier": dossier,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "user": self.user,
            "what": self.what,
            "section": self.section,
            "object": self.object,
            "fields": list(self.fields),
        }

    @property
    def label(self) -> str:
        """What happened, in the active language."""
        if self.kind == "read":
            what = str(ReadKind(self.what).label) if self.what in ReadKind.values else self.what
            return f"{what}: {labels.section_label(self.section)}" if self.section else what
        if self.kind == "denied":
            return _("access refused")
        changed = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.object}: {self.what}{changed}"


def _user_name(user: Any) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.username if user else ""


def _entry(row: AuditRow) -> LogEntry:
    return LogEntry(
        at=row.at,
        kind=row.kind,
        user=_user_name(row.user),
        what=row.what if row.kind != "change" else row.label,
        section=row.section,
        object=row.model_label,
        fields=tuple(change.label for change in row.shown),
    )


def dossier_log(subject: Subject, dossier: Dossier) -> Iterator[LogEntry]:
    """Who read, changed or was refused the dossier, newest first. For the organisation's own
    dossier everything (the audit's pages); for a dossier shared with it, its own staff's reads
    (the owner answers for the rest)."""
    if dossier.owned:
        cursor: Cursor | None = None
        while True:
            page = dossier_history(dossier.case, cursor=cursor, page_size=LOG_PAGE)
            yield from (_entry(row) for row in page.rows)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
    yield from _reads(subject, case_id=dossier.case.pk)


def person_log(subject: Subject) -> Iterator[LogEntry]:
    """The organisation's reads of the person record itself (pages, searches, exports)."""
    return _reads(subject, person_id=subject.person.pk)


def _reads(subject: Subject, **key: uuid.UUID) -> Iterator[LogEntry]:
    """The organisation's own reads of a dossier or a person, newest first, through the read
    log's index on that key and time."""
    reads = ReadLog.objects.filter(organisation_id=subject.organisation.pk, **key)
    for read in reads.select_related("user").order_by("-at", "-id").iterator(LOG_PAGE):
        yield LogEntry(
            at=read.at,
            kind="read",
            user=_user_name(read.user),
            what=read.kind,
            section=read.section,
        )


# --- the cover (art. 25 para. 2) --------------------------------------------------------------


@dataclass
class Cover:
    controller: Organisation
    purpose: str
    retention: str
    retention_rules: list[str]
    origin: list[str]
    recipients: list[str]
    automated: str
    not_covered: list[str]


def retention_rules(subject: Subject) -> list[str]:
    """The retention rule (decision 0036) of each kind of dossier the export holds, in the
    organisation's canton: how long after its legal closure the dossier is kept."""
    rules = rules_by_domain(subject.organisation.canton)
    lines = []
    for domain in sorted({d.case.domain for d in subject.dossiers}):
        kind = str(Domain(domain).label)
        rule = rules.get(domain)
        if rule is None:
            lines.append(_("%(kind)s: no retention rule; kept until one is set.") % {"kind": kind})
        else:
            lines.append(
                ngettext(
                    "%(kind)s: kept %(years)d year after the legal closure.",
                    "%(kind)s: kept %(years)d years after the legal closure.",
                    rule.years,
                )
                % {"kind": kind, "years": rule.years}
            )
    return lines


def cover(subject: Subject) -> Cover:
    """What art. 25 para. 2 asks for besides the data, from the organisation's data: the
    recipients are the organisations holding shares on the dossiers in reach (granted by
    the organisation, or that it received) and those a dossier was handed over to or from."""
    case_ids = [d.case.pk for d in subject.dossiers]
    recipients = sorted(
        set(
            Share.objects.filter(case_id__in=case_ids)
            .exclude(organisation_id=subject.organisation.pk)
            .values_list("organisation__name", flat=True)
        )
        | {
            name
            for pair in DossierTransfer.objects.filter(
                case_id__in=case_ids, status=DossierTransfer.Status.ACCEPTED
            ).values_list("owner__name", "receiver__name")
            for name in pair
            if name != subject.organisation.name
        }
    )
    person = subject.person
    origin = [
        _("Registered by %(organisation)s on %(date)s.")
        % {
            "organisation": Organisation.objects.get(pk=person.registered_by_id).name,
            "date": formats.date_format(timezone.localdate(person.created_at)),
        }
    ]
    origin += [
        _("Dossier %(reference)s opened by %(organisation)s on %(date)s.")
        % {
            "reference": d.case.reference,
            "organisation": d.case.owner.name,
            "date": formats.date_format(d.case.opened_on),
        }
        for d in subject.dossiers
    ]
    origin.append(
        _(
            "The data were collected from the person, and with their consent or by law from "
            "the authorities and partners named in the dossiers."
        )
    )
    return Cover(
        controller=subject.organisation,
        purpose=_(
            "Social assistance, integration support and protection measures under cantonal "
            "social assistance law: assessing needs, deciding and paying support, planning and "
            "following measures, and the statistics the law requires (anonymised)."
        ),
        retention=_(
            "Dossiers are kept as long as cantonal social assistance and archive law requires, "
            "counted from the dossier's legal closure; then they are offered to the archive and, "
            "if it declines them, deleted with the approval of the organisation. The read log "
            "and the security events are kept for at least one year (DSV art. 4)."
        ),
        retention_rules=retention_rules(subject),
        origin=origin,
        recipients=recipients,
        automated=_(
            "No decision about the person is taken automatically: the rules only propose "
            "tasks and segments, which a person decides."
        ),
        not_covered=[
            _(
                "Dossiers of other organisations that are not shared with this organisation: "
                "ask those organisations."
            ),
            _(
                "For a dossier shared with this organisation: only the shared sections and "
                "this organisation's own reads of them; the owner answers for the rest."
            ),
            _("The documents' contents: they are listed by name and checksum."),
            _("The anonymised statistics, which no longer concern the person."),
        ],
    )


# --- JSON -------------------------------------------------------------------------------------


def _json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_stream(subject: Subject, *, actor: Actor, language: str) -> Iterator[bytes]:
    """The export as one JSON document, written record by record (never held in memory).

    The shape (decision 0037): ``format``, ``created_at``, ``language``, ``organisation``,
    ``requested_by``, ``cover``, ``person`` (a ``PersonRecord``), ``households``
    (``HouseholdRecord``), ``dossiers`` (``DossierRecord`` plus ``sections`` and
    ``relation``), one array per kind of ``KINDS`` holding the exchange format's records
    (``filum/exchange/format.py``), ``person_log`` and ``log`` (``LogEntry.as_json``)."""
    with override(language):
        yield from _json_parts(subject, actor=actor, language=language)


def _json_parts(subject: Subject, *, actor: Actor, language: str) -> Iterator[bytes]:
    about = cover(subject)
    head = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "language": language,
        "organisation": {
            "name": subject.organisation.name,
            "kind": subject.organisation.kind,
            "canton": subject.organisation.canton,
        },
        "requested_by": _user_name(actor.user),
        "cover": {
            "controller": about.controller.name,
            "purpose": about.purpose,
            "retention": about.retention,
            "retention_rules": about.retention_rules,
            "origin": about.origin,
            "recipients": about.recipients,
            "automated_decisions": about.automated,
            "not_covered": about.not_covered,
        },
    }
    yield _json_value(head)[:-1].encode()
    person, households = person_records(subject)
    yield f', "person": {person.model_dump_json()}'.encode()
    yield from _array("households", households)
    by_id = {delivery.sid("dossier", d.case.pk): d for d in subject.dossiers}

    def dossier(record: BaseModel) -> str:
        reached = by_id[getattr(record, "source_id", "")]
        data = json.loads(record.model_dump_json())
        data["sections"] = list(reached.sections)
        data["relation"] = "owner" if reached.owned else "shared"
        data["period_until"] = reached.period_until.isoformat() if reached.period_until else None
        return _json_value(data)

    yield from _array("dossiers", dossier_records(subject), dossier)
    for kind, _section in KINDS:
        yield from _array(kind, records(subject, kind))
    yield from _array("person_log", person_log(subject), lambda e: _json_value(e.as_json("")))
    yield b', "log": ['
    first = True
    for reached in subject.dossiers:
        source = delivery.sid("dossier", reached.case.pk)
        for entry in dossier_log(subject, reached):
            yield (b"" if first else b", ") + _json_value(entry.as_json(source)).encode()
            first = False
    yield b"]}\n"


def _array(
    name: str, items: Iterable[Any], dump: Callable[[Any], str] | None = None
) -> Iterator[bytes]:
    yield f', "{name}": ['.encode()
    for index, item in enumerate(items):
        text = dump(item) if dump is not None else item.model_dump_json()
        yield (", " if index else "").encode() + text.encode()
    yield b"]"


# --- the PDF ----------------------------------------------------------------------------------


@dataclass
class ShownRecord:
    title: str
    rows: list[tuple[str, str]]


@dataclass
class ShownDossier:
    dossier: Dossier
    facts: list[tuple[str, str]]
    kinds: list[tuple[str, list[ShownRecord]]]
    log: list[LogEntry]


KIND_LABELS: dict[str, Callable[[], str]] = {
    "stages": lambda: _("Stages"),
    "segments": lambda: _("Segments"),
    "tasks": lambda: _("Tasks"),
    "consents": lambda: _("Consents"),
    "shares": lambda: _("Shares"),
    "journal": lambda: _("Journal"),
    "assessments": lambda: _("Assessments"),
    "plans": lambda: _("Integration plans"),
    "measures": lambda: _("Measures"),
    "documents": lambda: _("Documents"),
}


class _Names:
    """Names for the references a record holds (users, persons, dossiers, plans)."""

    def __init__(self, subject: Subject, user_ids: set[Any], households: list[BaseModel]):
        self.names: dict[str, str] = {
            delivery.sid("dossier", d.case.pk): d.case.reference for d in subject.dossiers
        }
        self.names[delivery.sid("person", subject.person.pk)] = str(subject.person)
        members = {
            str(m.person).split(":")[-1] for h in households for m in getattr(h, "members", [])
        }
        for person in Person.objects.filter(pk__in=members).only("last_name", "first_name"):
            self.names[delivery.sid("person", person.pk)] = str(person)
        for user in User.objects.filter(pk__in=list(user_ids)).only(
            "first_name", "last_name", "username"
        ):
            self.names[delivery.sid("user", user.pk)] = _user_name(user)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("filum:"):
            return self.names.get(value, value.split(":")[1])
        return value


def _shown(kind: str, record: BaseModel, names: _Names) -> ShownRecord:
    model = MODELS.get(kind)
    data = json.loads(record.model_dump_json())
    rows: list[tuple[str, str]] = []
    for name, value in data.items():
        if name in HIDDEN or value in (None, "", [], {}):
            continue
        if name == "title_key":
            rows.append((_("title"), stored_text(value, data.get("title_params") or {})))
            continue
        if name == "reason_key":
            rows.append((_("reason"), stored_text(value, data.get("reason_params") or {})))
            continue
        fld = _field(model, name)
        label = str(fld.verbose_name) if fld is not None else name.replace("_", " ")
        if isinstance(value, dict):
            text = "; ".join(f"{k}: {names(v)}" for k, v in value.items())
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            text = "; ".join(", ".join(str(names(v)) for v in item.values()) for item in value)
        elif isinstance(value, str) and value.startswith("filum:"):
            text = str(names(value))
        else:
            text = _value(fld, value, {}) or ""
        rows.append((label[:1].upper() + label[1:], text))
    title = rows[0][1] if rows else kind
    return ShownRecord(title=title, rows=rows)


def pdf_context(subject: Subject, *, actor: Actor) -> dict[str, Any]:
    """Everything the PDF shows, in the active language."""
    person, households = person_records(subject)
    collected: dict[str, list[BaseModel]] = {
        kind: list(records(subject, kind)) for kind, _ in KINDS
    }
    dossiers = list(dossier_records(subject))
    user_ids: set[Any] = set()
    for items in [*collected.values(), dossiers]:
        for item in items:
            for value in item.model_dump().values():
                if isinstance(value, str) and value.startswith("filum:user:"):
                    user_ids.add(value.split(":")[-1])
    names = _Names(subject, user_ids, households)
    facts = {getattr(r, "source_id", ""): _shown("dossiers", r, names).rows for r in dossiers}
    # a measure names its plan only
    plan_dossier = {
        getattr(p, "source_id", ""): getattr(p, "dossier", "") for p in collected["plans"]
    }
    shown = []
    for reached in subject.dossiers:
        source = delivery.sid("dossier", reached.case.pk)
        kinds = []
        for kind, _section in KINDS:
            rows = [
                _shown(kind, r, names)
                for r in collected[kind]
                if getattr(r, "dossier", None) == source
                or plan_dossier.get(getattr(r, "plan", "")) == source
            ]
            if rows:
                kinds.append((str(KIND_LABELS[kind]()), rows))
        shown.append(
            ShownDossier(
                dossier=reached,
                facts=facts.get(source, []),
                kinds=kinds,
                log=list(dossier_log(subject, reached)),
            )
        )
    return {
        "subject": subject,
        "person_rows": _shown("persons", person, names).rows,
        "households": [_shown("households", h, names) for h in households],
        "cover": cover(subject),
        "dossiers": shown,
        "person_log": list(person_log(subject)),
        "requested_by": _user_name(actor.user),
        "printed_at": timezone.localtime(),
    }
