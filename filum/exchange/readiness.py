"""The readiness check (M4, issue 9 item 4; decision 0031): before migrating, what a delivery
is worth. It runs the import's dry run and adds what the dry run does not refuse but a service
must know: data that is missing, AHV numbers that are wrong, persons who are likely the same
person (twice in the delivery, or already in Filum), dossiers without a responsible worker,
documents missing or unreadable; with counts per kind.

``check_readiness`` is a pure computation over a delivery and the database: it stores
nothing and returns a ``Readiness``, language-neutral (keys and parameters, JSON-serialisable);
``present`` renders it in the reader's language for the page, the PDF and the command.

The likely duplicates are found set-based, in two queries whatever the number of persons:
the delivery's persons are passed as arrays and joined (within themselves, and with Filum's
persons) on equalities that indexes serve, then filtered by trigram similarity of the folded
names with the thresholds of the person search (``filum.people.search``)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel

from filum.exchange import format as fmt
from filum.exchange.dryrun import dry_run
from filum.exchange.models import SourceRecord
from filum.exchange.reader import Limits, Problem, Report
from filum.people.models import Person
from filum.people.search import FIRST_NAME_THRESHOLD, NAME_THRESHOLD
from filum.tenancy.models import Organisation

EXAMPLES = 5  # lines shown per finding

# The sections of the report, in the order shown.
SECTIONS: dict[str, Any] = {
    "missing": gettext_lazy("Missing data"),
    "ahv": gettext_lazy("Invalid AHV numbers"),
    "duplicates": gettext_lazy("Likely duplicate persons"),
    "responsible": gettext_lazy("Dossiers without a responsible worker"),
    "documents": gettext_lazy("Documents missing or unreadable"),
    "other": gettext_lazy("Other problems of the delivery"),
}

# Blocks the import / worth a look / for information.
ERROR, WARNING, INFO = "error", "warning", "info"

# Optional in the format, but the casework needs them: counted as missing (warnings).
RECOMMENDED: dict[str, tuple[str, ...]] = {"persons": ("birth_date", "ahv_number", "sex")}

# The headings of findings that are not problems of the dry run (those are shown with their
# own message); ``%(count)s`` and the finding's parameters fill them in.
MESSAGES: dict[str, Any] = {
    "readiness.problems": gettext_lazy("%(count)s line(s) with this problem."),
    "readiness.recommended": gettext_lazy(
        "%(count)s record(s) without %(field)s: optional in the format, but needed for the "
        "casework."
    ),
    "readiness.no_responsible": gettext_lazy(
        "%(count)s dossier(s) without a responsible worker: they will appear in no "
        "worker's list until one is chosen."
    ),
    "readiness.within.name_birth": gettext_lazy(
        "%(count)s pair(s) of persons in the delivery born the same day with similar names "
        "(one of them without AHV number)."
    ),
    "readiness.within.name": gettext_lazy(
        "%(count)s pair(s) of persons in the delivery with the same name, a birth date "
        "unknown (one of them without AHV number)."
    ),
    "readiness.filum.ahv": gettext_lazy(
        "%(count)s person(s) with the AHV number of a person already in Filum: the import "
        "links them to that person."
    ),
    "readiness.filum.name_birth": gettext_lazy(
        "%(count)s person(s) born the same day as a person already in Filum with a similar "
        "name (one of them without AHV number)."
    ),
    "readiness.filum.name": gettext_lazy(
        "%(count)s person(s) with the same name as a person already in Filum, a birth date "
        "unknown (one of them without AHV number)."
    ),
}


@dataclass
class Example:
    """Where a finding was seen: a line (or two, for a pair of persons); for a problem of the
    dry run the problem itself (key and parameters)."""

    file: str
    line: int | None
    field: str = ""
    source_id: str = ""
    other_line: int | None = None
    other_source_id: str = ""
    problem: dict[str, Any] | None = None


@dataclass
class Finding:
    section: str
    severity: str
    key: str
    file: str = ""
    field: str = ""
    count: int = 0
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    examples: list[Example] = dataclasses.field(default_factory=list)

    def see(self, example: Example) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)


@dataclass
class KindCount:
    lines: int = 0  # records in the file
    accepted: int = 0  # records the dry run accepts
    with_problems: int = 0  # lines with at least one problem


@dataclass
class Readiness:
    delivery: str
    checked_at: str  # ISO 8601
    organisation: str
    counts: dict[str, KindCount]
    findings: list[Finding]

    @property
    def errors(self) -> int:
        return sum(f.count for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(f.count for f in self.findings if f.severity == WARNING)

    @property
    def ready(self) -> bool:
        """Nothing blocks the import (warnings do not)."""
        return self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Readiness:
        return cls(
            delivery=data["delivery"],
            checked_at=data["checked_at"],
            organisation=data["organisation"],
            counts={k: KindCount(**v) for k, v in data["counts"].items()},
            findings=[
                Finding(**{**f, "examples": [Example(**e) for e in f["examples"]]})
                for f in data["findings"]
            ],
        )


def _section_of(problem: Problem) -> str:
    if problem.key == "field.missing":
        return "missing"
    if problem.key == "import.ahv_twice":
        return "duplicates"
    if problem.field == "ahv_number" and problem.file == fmt.file_name("persons"):
        return "ahv"
    if problem.key.startswith("document."):
        return "documents"
    return "other"


class Tally(Report):
    """A report that also counts every problem by file, key and field (the reader's report
    stops listing at its limit; the readiness check counts all of them)."""

    def __init__(self, *, limit: int) -> None:
        super().__init__(limit=limit)
        self.groups: dict[tuple[str, str, str], Finding] = {}
        self.lines: dict[str, set[int]] = {}

    def add(self, problem: Problem) -> None:
        group = (problem.file, problem.key, problem.field)
        finding = self.groups.get(group)
        if finding is None:
            finding = self.groups[group] = Finding(
                section=_section_of(problem),
                severity=ERROR,
                key=problem.key,
                file=problem.file,
                field=problem.field,
            )
        where = Example(problem.file, problem.line, problem.field)
        where.problem = {"key": problem.key, "params": problem.params}
        finding.see(where)
        if problem.line is not None:
            self.lines.setdefault(problem.file, set()).add(problem.line)
        super().add(problem)


@dataclass
class _Person:
    line: int
    source_id: str
    last_name: str
    first_name: str
    birth_date: datetime.date | None
    ahv_number: str | None


class _Collector:
    """What the readiness check keeps of the records that pass the reader."""

    def __init__(self) -> None:
        self.persons: list[_Person] = []
        self.missing: dict[tuple[str, str], Finding] = {}
        self.no_responsible = Finding("responsible", WARNING, "readiness.no_responsible")

    def __call__(self, kind: str, line: int, record: BaseModel) -> None:
        file = fmt.file_name(kind)
        for name in RECOMMENDED.get(kind, ()):
            if getattr(record, name) is None:
                finding = self.missing.get((kind, name))
                if finding is None:
                    finding = self.missing[(kind, name)] = Finding(
                        "missing",
                        WARNING,
                        "readiness.recommended",
                        file,
                        name,
                        params={"field": name},
                    )
                finding.see(Example(file, line, name, record.source_id))  # type: ignore[attr-defined]
        if isinstance(record, fmt.PersonRecord):
            self.persons.append(
                _Person(
                    line,
                    record.source_id,
                    record.last_name,
                    record.first_name,
                    record.birth_date,
                    record.ahv_number,
                )
            )
        elif isinstance(record, fmt.DossierRecord) and record.responsible is None:
            self.no_responsible.see(Example(file, line, "responsible", record.source_id))


# --- likely duplicates, set-based ---------------------------------------------------------------

_DELIVERY = """
    WITH f AS (
        SELECT d.line, d.sid, d.birth_date, d.ahv,
               filum_fold(d.last_name) AS fl, filum_fold(d.first_name) AS ff
        FROM unnest(%(lines)s::int[], %(sids)s::text[], %(lasts)s::text[], %(firsts)s::text[],
                    %(births)s::date[], %(ahvs)s::text[])
             AS d(line, sid, last_name, first_name, birth_date, ahv)
    )
"""

_WITHIN = (
    _DELIVERY  # noqa: S608 (constant text; the values are parameters)
    + """
    SELECT 'name_birth', a.line, a.sid, b.line, b.sid
    FROM f a JOIN f b ON a.birth_date = b.birth_date AND a.line < b.line
    WHERE (a.ahv IS NULL OR b.ahv IS NULL)
      AND similarity(a.fl, b.fl) >= %(last)s AND similarity(a.ff, b.ff) >= %(first)s
    UNION ALL
    SELECT 'name', a.line, a.sid, b.line, b.sid
    FROM f a JOIN f b ON a.fl = b.fl AND a.ff = b.ff AND a.line < b.line
    WHERE (a.ahv IS NULL OR b.ahv IS NULL)
      AND (a.birth_date IS NULL OR b.birth_date IS NULL)
    ORDER BY 2, 4
"""
)

# a person the organisation imported from the same source id is the same record, not a
# duplicate (a later delivery of the same service)
_AGAINST = (
    _DELIVERY  # noqa: S608 (constant text and table names; the values are parameters)
    + """
    , m AS (
        SELECT f.*, p.id AS person_id, p.ahv_number AS p_ahv, p.birth_date AS p_birth,
               filum_fold(p.last_name) AS pl, filum_fold(p.first_name) AS pf, 'ahv' AS reason
        FROM f JOIN {person} p ON p.ahv_number = f.ahv
        UNION ALL
        SELECT f.*, p.id, p.ahv_number, p.birth_date, filum_fold(p.last_name),
               filum_fold(p.first_name), 'name_birth'
        FROM f JOIN {person} p ON p.birth_date = f.birth_date
        WHERE (f.ahv IS NULL OR p.ahv_number IS NULL)
          AND similarity(filum_fold(p.last_name), f.fl) >= %(last)s
          AND similarity(filum_fold(p.first_name), f.ff) >= %(first)s
        UNION ALL
        SELECT f.*, p.id, p.ahv_number, p.birth_date, filum_fold(p.last_name),
               filum_fold(p.first_name), 'name'
        FROM f JOIN {person} p ON filum_fold(p.last_name) = f.fl
                              AND filum_fold(p.first_name) = f.ff
        WHERE (f.ahv IS NULL OR p.ahv_number IS NULL)
          AND (f.birth_date IS NULL OR p.birth_date IS NULL)
    )
    SELECT DISTINCT ON (m.reason, m.line) m.reason, m.line, m.sid
    FROM m
    WHERE NOT EXISTS (
        SELECT 1 FROM {source} s
        WHERE s.organisation_id = %(organisation)s AND s.kind = 'persons'
          AND s.source_id = m.sid AND s.target_id = m.person_id::text
    )
    ORDER BY m.reason, m.line
"""
)


def _arrays(persons: list[_Person]) -> dict[str, Any]:
    return {
        "lines": [p.line for p in persons],
        "sids": [p.source_id for p in persons],
        "lasts": [p.last_name for p in persons],
        "firsts": [p.first_name for p in persons],
        "births": [p.birth_date for p in persons],
        "ahvs": [p.ahv_number for p in persons],
        "last": NAME_THRESHOLD,
        "first": FIRST_NAME_THRESHOLD,
    }


def _duplicates(persons: list[_Person], organisation: Organisation | None) -> list[Finding]:
    """Likely duplicate persons within the delivery and against Filum: two queries."""
    file = fmt.file_name("persons")
    findings = {
        reason: Finding("duplicates", WARNING, f"readiness.within.{reason}", file)
        for reason in ("name_birth", "name")
    }
    against = {
        reason: Finding(
            "duplicates", INFO if reason == "ahv" else WARNING, f"readiness.filum.{reason}", file
        )
        for reason in ("ahv", "name_birth", "name")
    }
    if not persons:
        return []
    params = _arrays(persons)
    params["organisation"] = organisation.pk if organisation is not None else None
    against_sql = _AGAINST.format(
        person=connection.ops.quote_name(Person._meta.db_table),
        source=connection.ops.quote_name(SourceRecord._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(_WITHIN, params)
        for reason, line, sid, other_line, other_sid in cursor.fetchall():
            findings[reason].see(
                Example(file, line, "", sid, other_line=other_line, other_source_id=other_sid)
            )
        cursor.execute(against_sql, params)
        for reason, line, sid in cursor.fetchall():
            against[reason].see(Example(file, line, "", sid))
    return [f for f in [*findings.values(), *against.values()] if f.count]


# --- the check -----------------------------------------------------------------------------------


def check_readiness(
    path: Path | str,
    *,
    organisation: Organisation | None = None,
    limits: Limits | None = None,
    name: str = "",
) -> Readiness:
    """The readiness report of a delivery (folder or zip), to be imported into
    ``organisation`` (by default the one its manifest names). Stores nothing."""
    limits = limits or Limits()
    tally = Tally(limit=limits.problems)
    collector = _Collector()
    checked = dry_run(path, limits=limits, report=tally, on_record=collector)
    groups = list(tally.groups.values())
    target = organisation
    if organisation is not None:
        # the page and the command import into a chosen organisation: the manifest's need
        # not exist
        groups = [g for g in groups if g.key != "import.organisation"]
    elif tally.manifest is not None:
        target = Organisation.objects.filter(name=tally.manifest.organisation.name).first()
    counts: dict[str, KindCount] = {}
    for kind in fmt.KINDS:
        file = fmt.file_name(kind)
        lines = tally.counts.get(kind)
        if lines is None:
            continue
        counts[kind] = KindCount(
            lines=lines,
            accepted=checked.create.get(kind, 0),
            with_problems=len(tally.lines.get(file, ())),
        )
    findings = [
        *groups,
        *collector.missing.values(),
        *([collector.no_responsible] if collector.no_responsible.count else []),
        *_duplicates(collector.persons, target),
    ]
    order = list(SECTIONS)
    findings.sort(key=lambda f: (order.index(f.section), f.file, f.field, f.key))
    return Readiness(
        delivery=name or Path(path).name,
        checked_at=timezone.now().isoformat(),
        organisation=(
            target.name
            if target is not None
            else (tally.manifest.organisation.name if tally.manifest is not None else "")
        ),
        counts=counts,
        findings=findings,
    )


# --- in the reader's language --------------------------------------------------------------------


@dataclass
class FindingView:
    severity: str
    text: str
    file: str
    field: str
    count: int
    examples: list[str]


@dataclass
class SectionView:
    key: str
    heading: str  # in the reader's language
    findings: list[FindingView]

    @property
    def count(self) -> int:
        return sum(f.count for f in self.findings if f.severity != INFO)


def _where(example: Example) -> str:
    if example.problem is not None:
        problem = Problem(
            example.problem["key"],
            example.problem["params"],
            example.file,
            example.line,
            example.field,
        )
        return problem.message()
    if example.other_line is not None:
        return _("%(file)s, lines %(line)s and %(other)s (source ids %(id)s, %(other_id)s)") % {
            "file": example.file,
            "line": example.line,
            "other": example.other_line,
            "id": example.source_id,
            "other_id": example.other_source_id,
        }
    return _("%(file)s, line %(line)s (source id %(id)s)") % {
        "file": example.file,
        "line": example.line,
        "id": example.source_id,
    }


def _text(finding: Finding) -> str:
    key = finding.key if finding.key in MESSAGES else "readiness.problems"
    return str(MESSAGES[key]) % {**finding.params, "count": finding.count}


def present(readiness: Readiness) -> list[SectionView]:
    """Every section with its findings in the active language (empty sections included: an
    empty section is a result too)."""
    views = {key: SectionView(key, str(title), []) for key, title in SECTIONS.items()}
    for finding in readiness.findings:
        views[finding.section].findings.append(
            FindingView(
                severity=finding.severity,
                text=_text(finding),
                file=finding.file,
                field=finding.field,
                count=finding.count,
                examples=[_where(e) for e in finding.examples],
            )
        )
    return list(views.values())


def lines_of(readiness: Readiness) -> Iterable[str]:
    """The report as plain text lines (the management command)."""
    yield _("Readiness check of %(delivery)s") % {"delivery": readiness.delivery}
    for kind, count in readiness.counts.items():
        yield _("%(kind)s: %(lines)s lines, %(accepted)s accepted, %(bad)s with problems") % {
            "kind": kind,
            "lines": count.lines,
            "accepted": count.accepted,
            "bad": count.with_problems,
        }
    for section in present(readiness):
        yield f"== {section.heading}: {section.count}"
        for finding in section.findings:
            yield f"  [{finding.severity}] {finding.text}"
            for example in finding.examples:
                yield f"    - {example}"
