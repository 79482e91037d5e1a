"""Export in the intermediate format (issue 9 item 5): one dossier, one organisation, or every
organisation (one delivery each), into a folder or a zip.

Rows are read in chunks (``.iterator()``) and written line by line; only the sets of ids of
the persons and users the dossiers name are kept, since those files must list exactly them.
The source id of a record made in Filum is the Filum id with a prefix naming its kind
(``filum:person:<uuid>``), so that a delivery exported, imported elsewhere and exported again
keeps the ids that trace it back (decision 0027)."""

from __future__ import annotations

import abc
import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from pydantic import BaseModel

from filum.assessments.models import Assessment
from filum.cases.models import Case, CaseTransition, Consent, SegmentAssignment, Share
from filum.documents.models import Document
from filum.exchange import format as fmt
from filum.followup.models import Task
from filum.journal.models import Contact
from filum.people.models import AssistanceUnit, Person, UnitMember
from filum.plans.models import Measure, MeasureGoal, Plan, PlanGoal
from filum.tenancy.models import Membership, Organisation, User

PRODUCER = "Filum"
CHUNK = 2000


def sid(kind: str, pk: Any) -> str:
    """The source id of a record made in Filum."""
    return f"filum:{kind}:{pk}"


M = TypeVar("M", bound=BaseModel)


def _make(model: type[M], **values: Any) -> M:
    """A record from Filum's typed values: strict on JSON read, the format takes Python's
    dates and choices' strings here as they are."""
    return model.model_validate(values, strict=False)


def _opt(kind: str, pk: Any) -> str | None:
    return None if pk is None else sid(kind, pk)


def _blank(value: str) -> str | None:
    return value or None


# --- the writer: a folder or a zip ------------------------------------------------------------


class _Sink(abc.ABC):
    """Where the files of a delivery go."""

    @abc.abstractmethod
    def open(self, name: str) -> IO[bytes]: ...

    def close(self) -> None:
        return None


class _FolderSink(_Sink):
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "documents").mkdir(parents=True, exist_ok=True)

    def open(self, name: str) -> IO[bytes]:
        return (self.root / name).open("wb")


class _ZipSink(_Sink):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)  # noqa: SIM115

    def open(self, name: str) -> IO[bytes]:
        if name.endswith(".jsonl"):
            # a zip takes one entry at a time: the lines wait in a temporary file while the
            # documents they describe are copied in
            return _Spooled(self.zip, name)  # type: ignore[return-value]
        return self.zip.open(name, "w", force_zip64=True)

    def close(self) -> None:
        self.zip.close()


class _Spooled:
    """A JSON Lines file on its way into the zip."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.archive, self.entry = archive, name
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def write(self, data: bytes) -> int:
        return self.file.write(data)

    def close(self) -> None:
        self.file.seek(0)
        with self.archive.open(self.entry, "w", force_zip64=True) as target:
            shutil.copyfileobj(self.file, target, 1024 * 1024)
        self.file.close()

    def __enter__(self) -> _Spooled:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sink(out: Path) -> _Sink:
    return _ZipSink(out) if out.suffix.lower() == ".zip" else _FolderSink(out)


@dataclass
class Written:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)


# --- what a delivery holds --------------------------------------------------------------------


@dataclass
class Scope:
    """The dossiers a delivery holds, of one organisation."""

    organisation: Organisation
    cases: QuerySet[Case]
    person_ids: set[Any] = field(default_factory=set)
    user_ids: set[Any] = field(default_factory=set)
    household_ids: set[Any] = field(default_factory=set)

    def user(self, pk: Any) -> str | None:
        if pk is None:
            return None
        self.user_ids.add(pk)
        return sid("user", pk)

    def person(self, pk: Any) -> str:
        self.person_ids.add(pk)
        return sid("person", pk)


def _chunked(queryset: QuerySet[Any]) -> Iterator[Any]:
    return queryset.iterator(chunk_size=CHUNK)


def _dossiers(scope: Scope) -> Iterator[fmt.Record]:
    for case in _chunked(scope.cases.select_related("team").order_by("number")):
        if case.assistance_unit_id is not None:
            scope.household_ids.add(case.assistance_unit_id)
        yield _make(
            fmt.DossierRecord,
            source_id=sid("dossier", case.pk),
            domain=case.domain,
            client=scope.person(case.client_id),
            household=_opt("household", case.assistance_unit_id),
            responsible=scope.user(case.responsible_id),
            team=case.team.name if case.team is not None else None,
            title=case.title,
            opened_on=case.opened_on,
            status=case.status,
            stage=case.stage,
            stage_since=case.stage_since,
            short_term_advance=case.short_term_advance,
            received_on=case.received_on,
            exit_potential=_blank(case.exit_potential),
            exit_expected_by=case.exit_expected_by,
            segment=_blank(case.segment),
            segment_since=case.segment_since,
            closed_on=case.closed_on,
            closure_reason=_blank(case.closure_reason),
        )


def _stages(scope: Scope) -> Iterator[fmt.Record]:
    rows = CaseTransition.objects.filter(case__in=scope.cases).order_by("case_id", "at", "id")
    for row in _chunked(rows):
        yield _make(
            fmt.StageRecord,
            source_id=sid("stage", row.pk),
            dossier=sid("dossier", row.case_id),
            kind=row.kind,
            from_stage=_blank(row.from_stage),
            to_stage=_blank(row.to_stage),
            reason=row.reason,
            reason_key=row.reason_key,
            reason_params=row.reason_params,
            actor=scope.user(row.actor_id),
            at=row.at,
            effective_on=row.effective_on,
        )


def _segments(scope: Scope) -> Iterator[fmt.Record]:
    rows = SegmentAssignment.objects.filter(case__in=scope.cases).order_by("case_id", "id")
    for row in _chunked(rows):
        yield _make(
            fmt.SegmentRecord,
            source_id=sid("segment", row.pk),
            dossier=sid("dossier", row.case_id),
            segment=row.segment,
            since=row.since,
            until=row.until,
            kind=row.kind,
            kept_until=row.kept_until,
            justification=row.justification,
            decided_by=scope.user(row.decided_by_id),
            approved_by=scope.user(row.approved_by_id),
            recorded_at=row.recorded_at,
        )


def _journal(scope: Scope) -> Iterator[fmt.Record]:
    rows = (
        Contact.objects.filter(case__in=scope.cases)
        .select_related("topic")
        .order_by("case_id", "id")
    )
    for row in _chunked(rows):
        yield _make(
            fmt.JournalEntryRecord,
            source_id=sid("journal", row.pk),
            dossier=sid("dossier", row.case_id),
            kind=row.kind,
            date=row.date,
            topic=row.topic.code,
            participants=row.participants,
            duration_minutes=row.duration_minutes,
            note=row.note,
            counts=row.counts,
            is_face_to_face=row.is_face_to_face,
            is_retracted=row.is_retracted,
            supersedes=_opt("journal", row.supersedes_id),
            correction_reason=row.correction_reason,
            recorded_by=scope.user(row.recorded_by_id),
            recorded_at=row.recorded_at,
        )


def _tasks(scope: Scope) -> Iterator[fmt.Record]:
    for row in _chunked(Task.objects.filter(case__in=scope.cases).order_by("case_id", "id")):
        yield _make(
            fmt.TaskRecord,
            source_id=sid("task", row.pk),
            dossier=sid("dossier", row.case_id),
            kind=row.kind,
            title=row.title,
            title_key=row.title_key,
            title_params=row.title_params,
            description=row.description,
            due_on=row.due_on,
            assigned_to=scope.user(row.assigned_to_id),
            assigned_role=_blank(row.assigned_role),
            status=row.status,
            closed_by=scope.user(row.closed_by_id),
            closed_at=row.closed_at,
            closing_note=row.closing_note,
            created_by=scope.user(row.created_by_id),
            created_at=row.created_at,
        )


def _consents(scope: Scope) -> Iterator[fmt.Record]:
    for row in _chunked(Consent.objects.filter(case__in=scope.cases).order_by("case_id", "id")):
        yield _make(
            fmt.ConsentRecord,
            source_id=sid("consent", row.pk),
            dossier=sid("dossier", row.case_id),
            person=scope.person(row.person_id),
            kind=row.kind,
            sections=row.sections,
            scope=row.scope,
            signed_on=row.signed_on,
            valid_until=row.valid_until,
            withdrawn_on=row.withdrawn_on,
            recorded_by=scope.user(row.recorded_by_id),
            recorded_at=row.recorded_at,
        )


def _shares(scope: Scope) -> Iterator[fmt.Record]:
    rows = (
        Share.objects.filter(case__in=scope.cases)
        .select_related("organisation")
        .order_by("case_id", "granted_at", "id")
    )
    for row in _chunked(rows):
        yield _make(
            fmt.ShareRecord,
            source_id=sid("share", row.pk),
            dossier=sid("dossier", row.case_id),
            organisation=row.organisation.name,
            sections=row.sections,
            access=row.access,
            basis=row.basis,
            reason=row.reason,
            consent=_opt("consent", row.consent_id),
            valid_until=row.valid_until,
            granted_by=scope.user(row.granted_by_id),
            granted_at=row.granted_at,
            revoked_at=row.revoked_at,
            revoked_by=scope.user(row.revoked_by_id),
        )


def _assessments(scope: Scope) -> Iterator[fmt.Record]:
    rows = (
        Assessment.objects.filter(case__in=scope.cases)
        .select_related("version__template")
        .order_by("case_id", "created_at", "id")
    )
    for row in _chunked(rows):
        template = row.version.template
        yield _make(
            fmt.AssessmentRecord,
            source_id=sid("assessment", row.pk),
            dossier=sid("dossier", row.case_id),
            person=scope.person(row.person_id),
            template=_make(
                fmt.TemplateRef,
                canton=template.canton,
                code=template.code,
                version=row.version.number,
            ),
            assessed_on=row.assessed_on,
            status=row.status,
            answers=row.answers,
            created_by=scope.user(row.created_by_id),
            created_at=row.created_at,
            finalised_by=scope.user(row.finalised_by_id),
            finalised_at=row.finalised_at,
        )


def _plans(scope: Scope) -> Iterator[fmt.Record]:
    rows = (
        Plan.objects.filter(case__in=scope.cases)
        .select_related("template")
        .order_by("case_id", "id")
    )
    for chunk in _chunks(_chunked(rows)):
        goals: dict[Any, list[PlanGoal]] = {}
        for goal in PlanGoal.objects.filter(plan__in=[p.pk for p in chunk]).order_by("id"):
            goals.setdefault(goal.plan_id, []).append(goal)
        for plan in chunk:
            yield _make(
                fmt.PlanRecord,
                source_id=sid("plan", plan.pk),
                dossier=sid("dossier", plan.case_id),
                template=plan.template.name if plan.template is not None else None,
                goals=[
                    _make(
                        fmt.GoalItem,
                        key=goal.key,
                        status=goal.status,
                        status_on=goal.status_on,
                        target_date=goal.target_date,
                        note=goal.note,
                    )
                    for goal in goals.get(plan.pk, [])
                ],
                created_by=scope.user(plan.created_by_id),
                created_at=plan.created_at,
            )


def _measures(scope: Scope) -> Iterator[fmt.Record]:
    rows = (
        Measure.objects.filter(case__in=scope.cases)
        .select_related("programme", "provider")
        .order_by("case_id", "id")
    )
    for chunk in _chunks(_chunked(rows)):
        goals: dict[Any, list[str]] = {}
        links = (
            MeasureGoal.objects.filter(measure__in=[m.pk for m in chunk])
            .order_by("id")
            .values_list("measure_id", "goal__key")
        )
        for measure_id, key in links:
            goals.setdefault(measure_id, []).append(key)
        for row in chunk:
            yield _make(
                fmt.MeasureRecord,
                source_id=sid("measure", row.pk),
                plan=sid("plan", row.plan_id),
                title=row.title,
                category=row.category,
                goals=goals.get(row.pk, []),
                programme=row.programme.name if row.programme is not None else None,
                provider=row.provider_label,
                planned_start=row.planned_start,
                planned_end=row.planned_end,
                actual_start=row.actual_start,
                actual_end=row.actual_end,
                status=row.status,
                abort_reason=_blank(row.abort_reason),
                result=_blank(row.result),
                conduct_note=row.conduct_note,
                client_view=row.client_view,
                created_by=scope.user(row.created_by_id),
                created_at=row.created_at,
            )


_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


def document_path(document: Document) -> str:
    suffix = Path(document.original_name).suffix.lower()
    return f"documents/{document.pk}{suffix if _SAFE_SUFFIX.match(suffix) else ''}"


def _documents(
    scope: Scope, copy: Callable[[Document, str], tuple[str, int]]
) -> Iterator[fmt.Record]:
    """The documents' records; their SHA-256 and size are those of the bytes copied into the
    delivery, so that the delivery is true to itself whatever the stored metadata says."""
    for row in _chunked(Document.objects.filter(case__in=scope.cases).order_by("case_id", "id")):
        path = document_path(row)
        sha256, size = copy(row, path)
        yield _make(
            fmt.DocumentRecord,
            source_id=sid("document", row.pk),
            dossier=sid("dossier", row.case_id),
            task=_opt("task", row.task_id),
            path=path,
            original_name=row.original_name,
            content_type=row.content_type,
            size=size,
            sha256=sha256,
            uploaded_by=scope.user(row.uploaded_by_id),
            uploaded_at=row.uploaded_at,
        )


def _households(scope: Scope) -> Iterator[fmt.Record]:
    ids = sorted(scope.household_ids, key=str)
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        members: dict[Any, list[UnitMember]] = {}
        for member in UnitMember.objects.filter(unit__in=part).order_by("id"):
            members.setdefault(member.unit_id, []).append(member)
        for unit in AssistanceUnit.objects.filter(pk__in=part).order_by("pk"):
            yield _make(
                fmt.HouseholdRecord,
                source_id=sid("household", unit.pk),
                name=unit.name,
                members=[
                    _make(
                        fmt.HouseholdMember, person=scope.person(m.person_id), relation=m.relation
                    )
                    for m in members.get(unit.pk, [])
                ],
            )


def _persons(scope: Scope) -> Iterator[fmt.Record]:
    ids = sorted(scope.person_ids, key=str)
    for start in range(0, len(ids), CHUNK):
        for person in Person.objects.filter(pk__in=ids[start : start + CHUNK]).order_by("pk"):
            yield _make(
                fmt.PersonRecord,
                source_id=sid("person", person.pk),
                last_name=person.last_name,
                first_name=person.first_name,
                birth_date=person.birth_date,
                birth_date_known=person.birth_date_known,
                sex=_blank(person.sex),
                nationality=_blank(person.nationality),
                residence_status=_blank(person.residence_status),
                arrival_date=person.arrival_date,
                languages=person.languages,
                ahv_number=person.ahv_number or None,
                street=person.street,
                postal_code=person.postal_code,
                city=person.city,
                phone=person.phone,
                email=person.email,
            )


def _users(scope: Scope, *, whole_organisation: bool) -> Iterator[fmt.Record]:
    users = User.objects.filter(pk__in=list(scope.user_ids))
    if whole_organisation:
        users = User.objects.filter(
            Q(pk__in=list(scope.user_ids)) | Q(memberships__organisation=scope.organisation)
        ).distinct()
    held = Prefetch(
        "memberships",
        queryset=Membership.objects.filter(organisation=scope.organisation)
        .select_related("team")
        .order_by("role"),
        to_attr="delivered_memberships",
    )
    for user in _chunked(users.order_by("pk").prefetch_related(held)):
        memberships = user.delivered_memberships
        yield _make(
            fmt.UserRecord,
            source_id=sid("user", user.pk),
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            email=user.email,
            language=user.language,
            is_active=user.is_active,
            memberships=[
                _make(
                    fmt.MembershipItem,
                    role=m.role,
                    team=m.team.name if m.team else None,
                    is_active=m.is_active,
                )
                for m in memberships
            ],
        )


def _chunks(rows: Iterable[Any]) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- writing a delivery -------------------------------------------------------------------------


def _write_lines(sink: _Sink, kind: str, records: Iterable[fmt.Record]) -> fmt.FileEntry:
    sha = hashlib.sha256()
    count = 0
    with sink.open(fmt.file_name(kind)) as stream:
        for record in records:
            line = record.model_dump_json().encode() + b"\n"
            sha.update(line)
            stream.write(line)
            count += 1
    return fmt.FileEntry(count=count, sha256=sha.hexdigest())


def write_delivery(
    organisation: Organisation,
    cases: QuerySet[Case],
    out: Path,
    *,
    whole_organisation: bool = False,
) -> Written:
    """Write the dossiers (of one organisation) and everything they hold as a delivery."""
    scope = Scope(organisation=organisation, cases=cases.filter(owner=organisation))
    sink = _sink(out)
    files: dict[str, fmt.FileEntry] = {}

    def copy(document: Document, path: str) -> tuple[str, int]:
        sha, size = hashlib.sha256(), 0
        with document.file.open("rb") as source, sink.open(path) as target:
            while chunk := source.read(1024 * 1024):
                sha.update(chunk)
                size += len(chunk)
                target.write(chunk)
        return sha.hexdigest(), size

    try:
        # Dossiers and what hangs on them first: they name the persons, households and users
        # the delivery must hold, which are written last.
        files["dossiers.jsonl"] = _write_lines(sink, "dossiers", _dossiers(scope))
        for kind, records in (
            ("stages", _stages(scope)),
            ("segments", _segments(scope)),
            ("journal", _journal(scope)),
            ("tasks", _tasks(scope)),
            ("consents", _consents(scope)),
            ("shares", _shares(scope)),
            ("assessments", _assessments(scope)),
            ("plans", _plans(scope)),
            ("measures", _measures(scope)),
            ("documents", _documents(scope, copy)),
            ("households", _households(scope)),
            ("persons", _persons(scope)),
            ("users", _users(scope, whole_organisation=whole_organisation)),
        ):
            files[fmt.file_name(kind)] = _write_lines(sink, kind, records)
        manifest = fmt.Manifest(
            format_version=fmt.FORMAT_VERSION,
            producer=PRODUCER,
            created_at=timezone.now(),
            organisation=_make(
                fmt.DeliveringOrganisation,
                source_id=sid("organisation", organisation.pk),
                name=organisation.name,
                kind=organisation.kind,
                canton=organisation.canton,
                language=organisation.language,
            ),
            files={name: files[name] for name in sorted(files)},
        )
        with sink.open(fmt.MANIFEST) as stream:
            stream.write(json.dumps(manifest.model_dump(mode="json"), indent=2).encode() + b"\n")
    finally:
        sink.close()
    counts = {name.removesuffix(".jsonl"): entry.count for name, entry in files.items()}
    return Written(path=out, counts=counts)


def export_case(case: Case, out: Path) -> Written:
    return write_delivery(case.owner, Case.objects.filter(pk=case.pk), out)


def export_organisation(organisation: Organisation, out: Path) -> Written:
    return write_delivery(
        organisation, Case.objects.filter(owner=organisation), out, whole_organisation=True
    )


def export_all(out: Path, *, as_zip: bool) -> list[Written]:
    """One delivery per organisation that owns dossiers, named by its id, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    owners = Organisation.objects.filter(pk__in=Case.objects.values("owner")).order_by("pk")
    for organisation in owners:
        target = out / (f"organisation-{organisation.pk}" + (".zip" if as_zip else ""))
        written.append(export_organisation(organisation, target))
    return written
