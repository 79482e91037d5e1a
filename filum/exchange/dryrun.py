"""The import's dry run (M2, the start of issue 9 item 3): read a delivery, check it against
what it names outside itself (the organisation, journal topics, assessment templates, the
organisations dossiers are shared with), and say what the import would create. Nothing is
stored. The real import (``filum.exchange.importer``) runs it first (decisions 0027, 0029)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from filum.assessments.models import TemplateVersion
from filum.dates import BIRTH_FLOOR, DATE_FLOOR, STORED_CEILING
from filum.exchange import format as fmt
from filum.exchange.reader import DeliveryReader, Limits, Problem, RecordHandler, Report
from filum.journal.models import FACE_TO_FACE_KINDS, Topic
from filum.tenancy.models import Organisation


@dataclass
class DryRun:
    report: Report
    create: dict[str, int] = field(default_factory=dict)
    # per kind, the SHA-256 of its file's first N lines, every ``checkpoint_every`` lines
    digests: dict[str, dict[int, str]] = field(default_factory=dict)


class _Names:
    """What the delivery names outside itself, each looked up once."""

    def __init__(self) -> None:
        self.topics = set(Topic.objects.values_list("code", flat=True))
        self.organisations = set(Organisation.objects.values_list("name", flat=True))
        self.templates = {
            (canton, code, number)
            for canton, code, number in TemplateVersion.objects.values_list(
                "template__canton", "template__code", "number"
            )
        }


def _person_problem(record: fmt.PersonRecord) -> tuple[str, dict[str, Any], str] | None:
    """What the person table's constraints refuse and the format does not (decision 0008:
    plausible dates; decision 0025: a partly known birth date is the first of its month or
    year)."""
    birth, arrival = record.birth_date, record.arrival_date
    if birth is not None and not BIRTH_FLOOR <= birth < STORED_CEILING:
        return ("import.date_range", {"floor": BIRTH_FLOOR.isoformat()}, "birth_date")
    if arrival is not None and not DATE_FLOOR <= arrival < STORED_CEILING:
        return ("import.date_range", {"floor": DATE_FLOOR.isoformat()}, "arrival_date")
    known = str(record.birth_date_known)
    if birth is not None and (
        (known == "month" and birth.day != 1)
        or (known == "year" and (birth.day, birth.month) != (1, 1))
    ):
        return ("import.partial_birth_date", {}, "birth_date")
    if birth is not None and arrival is not None and arrival < birth:
        return ("import.arrival_before_birth", {}, "arrival_date")
    return None


def dry_run(
    path: Path | str,
    *,
    limits: Limits | None = None,
    report: Report | None = None,
    on_record: RecordHandler | None = None,
    checkpoint_every: int | None = None,
) -> DryRun:
    """Check a delivery and what it names in Filum; ``on_record`` also sees every record that
    passed the reader (the readiness check), ``report`` collects the problems. With
    ``checkpoint_every``, the result notes the digests the import's ``read_checked`` needs."""
    names = _Names()
    found: list[Problem] = []
    create: dict[str, int] = {kind: 0 for kind in fmt.KINDS}
    journal: set[str] = set()
    forward: list[tuple[int, str]] = []  # corrections naming an entry not read yet
    ahv_numbers: dict[str, tuple[str, int]] = {}  # AHV number -> first person, line

    def seen(kind: str, line: int, record: BaseModel) -> None:
        if on_record is not None:
            on_record(kind, line, record)
        create[kind] += 1
        file = fmt.file_name(kind)
        problem: tuple[str, dict[str, Any], str] | None = None
        # Filum holds one person per AHV number: a second one would fail its batch
        if isinstance(record, fmt.PersonRecord) and record.ahv_number is not None:
            first = ahv_numbers.setdefault(record.ahv_number, (record.source_id, line))
            if first[1] != line:
                params = {"source_id": first[0], "first": first[1]}
                found.append(Problem("import.ahv_twice", params, file, line, "ahv_number"))
        if isinstance(record, fmt.JournalEntryRecord):
            if record.supersedes is not None and record.supersedes not in journal:
                forward.append((line, record.supersedes))
            journal.add(record.source_id)
        if isinstance(record, fmt.PersonRecord):
            problem = _person_problem(record)
        if isinstance(record, fmt.JournalEntryRecord) and record.topic not in names.topics:
            problem = ("import.topic", {"code": record.topic}, "topic")
        elif isinstance(record, fmt.JournalEntryRecord) and (
            record.duration_minutes == 0
            or (record.duration_minutes is None and record.kind in FACE_TO_FACE_KINDS)
        ):
            # the journal's rule (S7, a database constraint): a face-to-face contact has a
            # duration, and a duration is at least a minute
            problem = ("import.duration", {}, "duration_minutes")
        elif isinstance(record, fmt.AssessmentRecord):
            ref = record.template
            if (ref.canton, ref.code, ref.version) not in names.templates:
                problem = ("import.template", ref.model_dump(), "template")
        elif isinstance(record, fmt.ShareRecord) and record.organisation not in names.organisations:
            problem = ("import.share_organisation", {"name": record.organisation}, "organisation")
        if problem is not None:
            key, params, where = problem
            found.append(Problem(key, params, file, line, where))

    reader = DeliveryReader(path, limits=limits, report=report, checkpoint_every=checkpoint_every)
    report = reader.check(seen)
    manifest = report.manifest
    if manifest is not None and manifest.organisation.name not in names.organisations:
        report.add(
            Problem(
                "import.organisation",
                {"name": manifest.organisation.name},
                fmt.MANIFEST,
                None,
                "organisation.name",
            )
        )
    # the journal is append-only: a correction is stored after the entry it corrects
    found.extend(
        Problem("import.correction_order", {"id": target}, "journal.jsonl", line, "supersedes")
        for line, target in forward
        if target in journal
    )
    for problem in found:
        report.add(problem)
    return DryRun(
        report=report, create={k: n for k, n in create.items() if n}, digests=reader.digests
    )
