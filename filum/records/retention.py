"""Retention and disposal of dossiers (M3, decision 0036).

A closed dossier reaches the end of its retention ``years`` after its legal closure date
(``Case.closed_on``), by the most specific ``RetentionRule`` of its organisation's canton and
its kind. The nightly ``retention`` command offers each such dossier to the archive as a
package (``filum.records.archive``); the organisation's super-user then approves its disposal
(or puts it on legal hold). ``dispose`` removes the dossier, everything that hangs on it, its
audit rows (leaving chain tombstones), and the persons nothing else keeps, in one transaction,
and leaves a ``DisposalRecord``; document files go after the commit.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import ForeignObjectRel, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pghistory.models import Event

from filum.cases.models import Case, CaseStatus, Domain
from filum.dates import add_months
from filum.exchange.models import SourceRecord
from filum.people.models import AssistanceUnit, Person, UnitMember
from filum.records.retention_models import (
    ArchiveOffer,
    ArchiveReceipt,
    DisposalRecord,
    LegalHold,
    RetentionRule,
)
from filum.tenancy.models import Organisation, User

Pks = dict[type[models.Model], set[Any]]

# Why a disposal is refused: the message shown to the super-user.
REFUSALS = {
    "open": _("The dossier is still open: only closed dossiers can be disposed of."),
    "hold": _("The dossier is under legal hold: lift the hold first."),
    "not_due": _("The dossier has not reached the end of its retention period."),
    "not_offered": _("The dossier has not been offered to the archive yet (nightly job)."),
    "no_receipt": _(
        "The archive has not answered the offer yet: record its receipt of the package (or its "
        "decision not to archive it) first."
    ),
    "no_rule": _("No retention rule applies to this dossier."),
}


FAILED = _("The disposal failed and was rolled back: nothing of the dossier was changed.")
logger = logging.getLogger(__name__)


class DisposalRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(REFUSALS[self.code])


# --- rules ------------------------------------------------------------------------------------


def rule_for(rules: Iterable[RetentionRule], canton: str, domain: str) -> RetentionRule | None:
    """The most specific rule: canton and kind, canton, kind, then the general one."""
    best: tuple[int, RetentionRule] | None = None
    for rule in rules:
        if rule.canton not in ("", canton) or rule.domain not in ("", domain):
            continue
        rank = 2 * bool(rule.canton) + bool(rule.domain)
        if best is None or rank > best[0]:
            best = (rank, rule)
    return best[1] if best else None


def due_on(closed_on: datetime.date, years: int) -> datetime.date:
    return add_months(closed_on, 12 * years)


def rules_by_domain(canton: str) -> dict[str, RetentionRule]:
    """The rule of each kind of dossier in a canton (kinds without one are never due)."""
    rules = list(RetentionRule.objects.filter(canton__in=["", canton]))
    found = {domain: rule_for(rules, canton, domain) for domain in Domain.values}
    return {domain: rule for domain, rule in found.items() if rule is not None}


Key = tuple[datetime.date, int]  # (closure date, number): the listing's keyset


def due_cases(
    organisation: Organisation,
    today: datetime.date,
    rules: dict[str, RetentionRule] | None = None,
    *,
    after: Key | None = None,
) -> QuerySet[Case]:
    """The organisation's closed dossiers past their retention, oldest closure first;
    ``after`` (closure date, number) starts after that dossier (keyset pages)."""
    condition = Q(pk__in=[])
    if rules is None:
        rules = rules_by_domain(organisation.canton)
    cutoffs = {domain: add_months(today, -12 * rule.years) for domain, rule in rules.items()}
    for domain, cutoff in cutoffs.items():
        condition |= Q(domain=domain, closed_on__lte=cutoff)
    # the latest cut-off bounds the scan of the index case_closed_retention (records 0008)
    latest = max(cutoffs.values(), default=datetime.date.min)
    cases = Case.objects.filter(
        owner=organisation, status=CaseStatus.CLOSED, closed_on__lte=latest
    ).filter(condition)
    if after is not None:
        cases = cases.filter(
            Q(closed_on__gt=after[0]) | Q(closed_on=after[0], number__gt=after[1]),
            closed_on__gte=after[0],
        )
    return cases.order_by("closed_on", "number")


@dataclass
class DueDossier:
    case: Case
    rule: RetentionRule
    due_on: datetime.date
    hold: LegalHold | None
    offer: ArchiveOffer | None


def due_dossiers(
    organisation: Organisation,
    today: datetime.date,
    *,
    limit: int | None = None,
    after: Key | None = None,
    rules: dict[str, RetentionRule] | None = None,
) -> list[DueDossier]:
    """The due dossiers with their rule, hold, offer and the archive's receipt (four queries:
    the rules unless given, one page of dossiers, their holds, their offers with receipts;
    one query without rules to read, two when nothing is due)."""
    if rules is None:
        rules = rules_by_domain(organisation.canton)
    due = due_cases(organisation, today, rules, after=after)
    cases = list(due[:limit] if limit else due)
    if not cases:
        return []
    ids = [case.pk for case in cases]
    holds = {h.case_id: h for h in LegalHold.objects.filter(case__in=ids, lifted_at__isnull=True)}
    offers = {
        o.case_id: o for o in ArchiveOffer.objects.filter(case__in=ids).select_related("receipt")
    }
    return [
        DueDossier(
            case=case,
            rule=rules[case.domain],
            due_on=due_on(case.closed_on, rules[case.domain].years),  # type: ignore[arg-type]
            hold=holds.get(case.pk),
            offer=offers.get(case.pk),
        )
        for case in cases
    ]


# --- the dossier's rows -----------------------------------------------------------------------

_LOOSE = (models.SET_NULL, models.SET_DEFAULT)


def _is_event(model: type[models.Model]) -> bool:
    return issubclass(model, Event)


def _relations(model: type[models.Model]) -> list[ForeignObjectRel]:
    """The keys pointing at the model, hidden ones (related_name "+", many-to-many tables)
    included; not those kept by database triggers (DO_NOTHING) nor audit events."""
    return [
        rel
        for rel in model._meta.get_fields(include_hidden=True)
        if isinstance(rel, ForeignObjectRel)
        and not rel.many_to_many
        and rel.on_delete is not models.DO_NOTHING
        and not _is_event(rel.related_model)  # type: ignore[arg-type]
    ]


def collect(roots: Pks) -> Pks:
    """Every row that hangs on the roots through foreign keys (whatever their on_delete:
    PROTECT only guards against deleting by mistake), recursively. Audit events are not
    collected (they go through ``filum_dispose_events``), nor rows that only point at the
    roots through a nullable SET_NULL key (they stay, the key cleared)."""
    graph: Pks = defaultdict(set)
    queue = [(model._meta.concrete_model or model, pks) for model, pks in roots.items()]
    while queue:
        model, pks = queue.pop()
        new = set(pks) - graph[model]
        if not new:
            continue
        graph[model] |= new
        for rel in _relations(model):
            related = rel.related_model
            if rel.on_delete in _LOOSE:
                continue
            rows = related._base_manager.filter(**{f"{rel.field.name}__in": new})  # type: ignore[union-attr]
            child = set(rows.values_list("pk", flat=True))
            if child:
                queue.append((related._meta.concrete_model, child))  # type: ignore[union-attr, arg-type]
    return {model: pks for model, pks in graph.items() if pks}


def _delete_rows(graph: Pks, counts: dict[str, int]) -> list[str]:
    """Delete the rows (foreign keys are checked at the end: Django's are deferrable), clear
    the SET_NULL keys pointing at them, and return the names of their stored files."""
    files: list[str] = []
    with connection.cursor() as cursor:
        for model, pks in graph.items():
            ids = list(pks)
            for f in model._meta.fields:
                if isinstance(f, models.FileField):
                    files += [
                        name
                        for name in model._base_manager.filter(pk__in=ids).values_list(
                            f.attname, flat=True
                        )
                        if name
                    ]
            for rel in _relations(model):
                if rel.on_delete in _LOOSE:
                    rel.related_model._base_manager.filter(  # type: ignore[union-attr]
                        **{f"{rel.field.name}__in": ids}
                    ).update(**{rel.field.name: None})
            table, pk = model._meta.db_table, model._meta.pk.column
            # the table's own guards against deleting (append-only journals) stand aside for
            # this statement; pghistory's delete trigger still records it (removed below)
            cursor.execute(
                "SELECT set_config('pgtrigger.ignore', coalesce('{' || string_agg(tgname, ',') "
                "|| '}', '{}'), true) FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND tgname LIKE 'pgtrigger\\_%%' AND tgtype & 8 = 8 "
                "AND tgname NOT LIKE 'pgtrigger\\_delete\\_delete\\_%%'",
                [table],
            )
            cursor.execute(f'DELETE FROM "{table}" WHERE "{pk}" = ANY(%s)', [ids])  # noqa: S608
            cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
            counts[model._meta.label_lower] = (
                counts.get(model._meta.label_lower, 0) + cursor.rowcount
            )
    return files


def _event_models() -> dict[type[models.Model], list[type[Event]]]:
    found: dict[type[models.Model], list[type[Event]]] = defaultdict(list)
    from django.apps import apps

    for model in apps.get_models():
        if issubclass(model, Event) and model._meta.managed and not model._meta.proxy:
            tracked = getattr(model, "pgh_tracked_model", None)
            if tracked is not None:
                found[tracked._meta.concrete_model].append(model)
    return found


def _dispose_events(graph: Pks, disposal_id: int) -> int:
    """Remove the audit events of every removed row, through the owner's function that leaves
    a tombstone of each (decision 0036)."""
    events = _event_models()
    removed = 0
    with connection.cursor() as cursor:
        for model, pks in graph.items():
            for event in events.get(model, []):
                cursor.execute(
                    "SELECT filum_dispose_events(%s::regclass, %s, %s)",
                    [event._meta.db_table, [str(pk) for pk in pks], disposal_id],
                )
                removed += int(cursor.fetchone()[0])
    return removed


def _check_now() -> None:
    """Check the deferred foreign keys now: a row outside the dossier still pointing at a
    removed one fails here, inside the dossier's transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _keeps(model: type[models.Model]) -> bool:
    """Rows of this model reached from a person keep the person: another dossier (of any
    organisation), anything of a dossier (a consent given in it, ...), a household."""
    return (
        model is Case
        or model is UnitMember
        or any(
            f.is_relation and f.many_to_one and f.related_model is Case for f in model._meta.fields
        )
    )


@dataclass
class Outcome:
    record: DisposalRecord | None
    counts: dict[str, int] = field(default_factory=dict)
    persons_disposed: int = 0
    persons_kept: int = 0
    files: list[str] = field(default_factory=list)


class _DryRun(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


def receipt_of(offer: ArchiveOffer) -> ArchiveReceipt | None:
    try:
        return offer.receipt
    except ArchiveReceipt.DoesNotExist:
        return None


def check_disposable(case: Case, today: datetime.date) -> tuple[RetentionRule, ArchiveOffer]:
    """Raise ``DisposalRefused`` unless the dossier may be disposed of today."""
    if case.status != CaseStatus.CLOSED or case.closed_on is None:
        raise DisposalRefused("open")
    if LegalHold.objects.filter(case=case, lifted_at__isnull=True).exists():
        raise DisposalRefused("hold")
    rule = rules_by_domain(case.owner.canton).get(case.domain)
    if rule is None:
        raise DisposalRefused("no_rule")
    if due_on(case.closed_on, rule.years) > today:
        raise DisposalRefused("not_due")
    offer = ArchiveOffer.objects.filter(case=case).select_related("receipt").first()
    if offer is None:
        raise DisposalRefused("not_offered")
    if receipt_of(offer) is None:
        raise DisposalRefused("no_receipt")
    return rule, offer


def dispose(
    case_id: Any,
    *,
    approved_by: User,
    today: datetime.date | None = None,
    dry_run: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> Outcome:
    """Dispose of one dossier, all or nothing. ``dry_run`` does the whole disposal and rolls
    it back, so the preview is what would happen. ``on_step`` is called between the steps
    (tests inject failures there)."""
    today = today or timezone.localdate()
    step = on_step or (lambda name: None)
    try:
        with transaction.atomic():
            outcome = _dispose(case_id, approved_by, today, step)
            if dry_run:
                raise _DryRun(outcome)
    except _DryRun as rolled_back:
        rolled_back.outcome.record = None
        rolled_back.outcome.files = []
        return rolled_back.outcome
    files = outcome.files
    transaction.on_commit(lambda: _delete_files(files))
    return outcome


def dispose_many(
    case_ids: Iterable[Any],
    *,
    approved_by: User,
    on_step: Callable[[str], None] | None = None,
) -> tuple[list[Outcome], list[tuple[Any, str]]]:
    """Dispose of several dossiers, each in its own transaction: a refused or failed one is
    rolled back and reported, and the run goes on with the next."""
    done: list[Outcome] = []
    failed: list[tuple[Any, str]] = []
    for case_id in case_ids:
        try:
            done.append(dispose(case_id, approved_by=approved_by, on_step=on_step))
        except DisposalRefused as refused:
            failed.append((case_id, refused.message))
        except Exception:  # rolled back, reported, the run goes on
            logger.exception("disposal of dossier %s failed, rolled back", case_id)
            failed.append((case_id, str(FAILED)))
    return done, failed


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        default_storage.delete(name)


def _dispose(
    case_id: Any, approver: User, today: datetime.date, step: Callable[[str], None]
) -> Outcome:
    case = Case.objects.select_for_update().select_related("owner").filter(pk=case_id).first()
    if case is None:
        raise Case.DoesNotExist
    rule, offer = check_disposable(case, today)
    closed_on = case.closed_on or today  # never empty: check_disposable refuses open ones
    legacy = sorted(
        SourceRecord.objects.filter(
            organisation=case.owner, kind="dossiers", target_id=str(case.pk)
        ).values_list("source_id", flat=True)
    )
    record = DisposalRecord.objects.create(
        organisation=case.owner,
        case_number=case.number,
        domain=case.domain,
        legacy_ids=legacy,
        opened_on=case.opened_on,
        closed_on=closed_on,
        rule=rule,
        rule_years=rule.years,
        due_on=due_on(closed_on, rule.years),
        approved_by=approver,
        package=offer.package,
        package_sha256=offer.package_sha256,
        archive_decision=offer.receipt.decision,
        archive_reference=offer.receipt.reference,
        archive_receipt_at=offer.receipt.entered_at,
    )
    outcome = Outcome(record=record)
    client_id, unit_id = case.client_id, case.assistance_unit_id
    graph = collect({Case: {case.pk}})
    step("collected")
    outcome.files += _delete_rows(graph, outcome.counts)
    step("deleted")
    _forget_sources(graph, case.owner)
    events = _dispose_events(graph, record.pk)
    step("events")
    _check_now()
    outcome.counts["audit_events"] = events
    _dispose_household(unit_id, client_id, record, outcome)
    step("persons")
    record.counts = {**outcome.counts, "persons": outcome.persons_disposed}
    record.save(update_fields=["counts"])
    return outcome


def _forget_sources(graph: Pks, organisation: Organisation) -> None:
    """The import's mapping of legacy ids to removed rows (the dossier's are on the record)."""
    ids = [str(pk) for pks in graph.values() for pk in pks]
    SourceRecord.objects.filter(organisation=organisation, target_id__in=ids).delete()


def _dispose_household(
    unit_id: Any, client_id: Any, record: DisposalRecord, outcome: Outcome
) -> None:
    """The assistance unit goes when no other dossier uses it; then each of its members and
    the client goes when nothing keeps them (decision 0036)."""
    candidates = {client_id}
    if unit_id is not None and not Case.objects.filter(assistance_unit=unit_id).exists():
        candidates |= set(UnitMember.objects.filter(unit=unit_id).values_list("person", flat=True))
        _remove(collect({AssistanceUnit: {unit_id}}), record, outcome)
    for person_id in sorted(candidates, key=str):
        graph = collect({Person: {person_id}})
        if any(_keeps(model) for model in graph):
            outcome.persons_kept += 1
            continue
        try:
            with transaction.atomic():
                _remove(graph, record, outcome)
        except IntegrityError:  # something outside Filum's keys still names them
            outcome.persons_kept += 1
        else:
            outcome.persons_disposed += 1


def _remove(graph: Pks, record: DisposalRecord, outcome: Outcome) -> None:
    counts: dict[str, int] = {}
    names = [
        name
        for first, last in Person.objects.filter(pk__in=graph.get(Person, ())).values_list(
            "first_name", "last_name"
        )
        for name in (first, last)
    ]
    outcome.files += _delete_rows(graph, counts)
    counts["audit_events"] = _dispose_events(graph, record.pk)
    _check_now()
    if names:
        _forget_names(names)
    for name, count in counts.items():
        outcome.counts[name] = outcome.counts.get(name, 0) + count


def _forget_names(names: list[str]) -> None:
    """The person search's list of folded names keeps a name while someone bears it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM people_foldedname f WHERE f.name IN "
            "(SELECT filum_fold(n) FROM unnest(%s::text[]) n) "
            "AND NOT EXISTS (SELECT 1 FROM people_person p "
            "WHERE filum_fold(p.last_name) = f.name) "
            "AND NOT EXISTS (SELECT 1 FROM people_person p "
            "WHERE filum_fold(p.first_name) = f.name)",
            [names],
        )


# --- the nightly job --------------------------------------------------------------------------


@dataclass
class Nightly:
    offered: list[str] = field(default_factory=list)  # dossier references
    waiting: list[str] = field(default_factory=list)  # offered earlier, not approved yet
    held: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # read-log partitions
    security_events: int = 0  # dropped (or, in a dry run, to be dropped) past their retention


BATCH = 1000  # due dossiers read at a time by the nightly job (keyset pages)


def offer_due(today: datetime.date, *, dry_run: bool, report: Nightly) -> None:
    """Offer every due dossier that is neither held nor offered yet to the archive: its package
    written, then the offer stored. A failure is reported and the run goes on."""
    from filum.records.archive import write_package

    owners = Organisation.objects.filter(
        pk__in=Case.objects.filter(status=CaseStatus.CLOSED).values("owner")
    ).order_by("pk")
    by_canton: dict[str, dict[str, RetentionRule]] = {}
    for organisation in owners:
        if organisation.canton not in by_canton:
            by_canton[organisation.canton] = rules_by_domain(organisation.canton)
        for due in _all_due(organisation, today, by_canton[organisation.canton]):
            reference = due.case.reference
            if due.hold is not None:
                report.held.append(reference)
            elif due.offer is not None:
                report.waiting.append(reference)
            elif dry_run:
                report.offered.append(reference)
            else:
                try:
                    package = write_package(due.case)
                    ArchiveOffer.objects.create(
                        case=due.case,
                        owner=organisation,
                        rule=due.rule,
                        due_on=due.due_on,
                        package=package.path.name,
                        package_sha256=package.sha256,
                    )
                except Exception as error:  # noqa: BLE001 (reported; the next dossier goes on)
                    report.failed.append((reference, repr(error)))
                else:
                    report.offered.append(reference)


def _all_due(
    organisation: Organisation, today: datetime.date, rules: dict[str, RetentionRule]
) -> Iterable[DueDossier]:
    """Every due dossier of the organisation, read by keyset pages of ``BATCH``."""
    after: Key | None = None
    while True:
        page = due_dossiers(organisation, today, limit=BATCH, after=after, rules=rules)
        yield from page
        if len(page) < BATCH:
            return
        last = page[-1].case
        after = (last.closed_on, last.number)  # type: ignore[assignment]


def read_log_retention_months() -> int:
    """How long read-log partitions are kept: at least a year (DSV art. 4 para. 5)."""
    from django.conf import settings

    return max(12, int(getattr(settings, "FILUM_READ_LOG_RETENTION_MONTHS", 12)))


def expired_partitions(today: datetime.date) -> list[str]:
    """The monthly read-log partitions whose month ended more than the retention ago."""
    from filum.records.chain import partitions

    months = read_log_retention_months()
    with connection.cursor() as cursor:
        names = partitions(cursor)
    expired = []
    for name in names:
        suffix = name.rsplit("_", 1)[-1]
        if not (len(suffix) == 6 and suffix.isdigit()):
            continue  # the default partition
        month = datetime.date(int(suffix[:4]), int(suffix[4:]), 1)
        if add_months(month, months + 1) <= today:
            expired.append(name)
    return expired


def drop_expired_partitions(today: datetime.date, *, dry_run: bool, report: Nightly) -> None:
    months = read_log_retention_months()
    for name in expired_partitions(today):
        if dry_run:
            report.dropped.append(name)
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT filum_drop_readlog_partition(%s, %s)", [name, months])
            if cursor.fetchone()[0]:
                report.dropped.append(name)


# --- security events --------------------------------------------------------------------------

SECURITY_EVENT_MINIMUM_MONTHS = 12  # DSV art. 4 para. 5: logs are kept at least a year


def security_event_retention_months() -> int:
    """How long security events are kept (``FILUM_SECURITY_EVENT_RETENTION_MONTHS``, default
    24; never less than a year, decision 0036 amendment)."""
    from django.conf import settings

    months = int(getattr(settings, "FILUM_SECURITY_EVENT_RETENTION_MONTHS", 24))
    return max(SECURITY_EVENT_MINIMUM_MONTHS, months)


def drop_expired_security_events(*, dry_run: bool, report: Nightly) -> None:
    """Drop the security events past their retention (the oldest part of their chain), through
    the owner's ``filum_drop_security_events``, which leaves a chain cut (records 0009)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT filum_drop_security_events(%s, %s)",
            [security_event_retention_months(), dry_run],
        )
        report.security_events += int(cursor.fetchone()[0] or 0)
