"""The nightly extract of the canton's anonymised dataset (D6, X3; docs/canton-dataset.md).

Per canton, every table of ``dataset.TABLES`` is read from PostgreSQL through a server-side
cursor in chunks of ``CHUNK`` rows (memory stays bounded at any volume), pseudonymised and
written as Parquet, with ``manifest.json`` and the data dictionary (``dictionary.json``,
``dictionary.md``) beside them. All tables are read in one REPEATABLE READ snapshot, so they
agree with each other.

An extract is written into a hidden folder and, only once it is complete, renamed into place
and made ``current`` by replacing a symbolic link (``os.replace`` of a new link: atomic). An
extract that stops midway (an error, a kill) leaves the previous one current and untouched; its
half-written folder is removed (or, after a kill, by the next run). The two latest extracts
are kept: a report kept on the previous one can still be re-run on it.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation

from filum.cases.models import Case
from filum.followup.models import KeptLight
from filum.plans.milestones import milestone_states, norms_on, person_facts_from_json
from filum.plans.milestones import rules_from_json as milestone_rules_from_json
from filum.plans.models import Measure, MeasureStatus, Plan, Programme, Provider
from filum.plans.timeline import LANGUAGE_FIELD, NATIONAL_LANGUAGES, with_milestone_facts
from filum.steering.dataset import TABLES, TYPES, Pseudonymiser, Table, canton_key
from filum.tenancy.models import Organisation

CHUNK = 20_000
CURRENT = "current"
KEEP = 2
FORMAT_VERSION = 1

Row = tuple[Any, ...]


class ExtractMissing(Exception):
    """No extract of the canton has been written yet."""


def canton_dir(canton: str) -> Path:
    return Path(settings.CANTON_DATASET_DIR) / canton


def current_extract(canton: str) -> Path:
    """The folder of the canton's current extract (raises ExtractMissing)."""
    link = canton_dir(canton) / CURRENT
    if not link.is_symlink() and not link.is_dir():
        raise ExtractMissing(canton)
    return link.resolve()


def extract_by_name(canton: str, name: str) -> Path:
    """A kept extract by its folder name (a report's), else the current one."""
    folder = canton_dir(canton) / name
    if name and not name.startswith(".") and "/" not in name and folder.is_dir():
        return folder
    return current_extract(canton)


def manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return data


@dataclass
class ExtractResult:
    canton: str
    folder: Path
    rows: dict[str, int]


# --- reading --------------------------------------------------------------------------------


def _stream(sql: str, params: Sequence[Any]) -> Iterator[list[Row]]:
    """The rows of a query in chunks, through a server-side cursor."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield rows


def _year(day: datetime.date | None) -> int | None:
    return day.year if day else None


class _Communes:
    """The dossier's commune (see dataset._COMMUNE): the commune served by the service whose
    name is the client's place, else the service's only commune."""

    def __init__(self, canton: str) -> None:
        self.by_name: dict[tuple[int, str], int] = {}
        served: dict[int, list[int]] = {}
        for org_id, name, bfs in Organisation.communes.through.objects.filter(
            organisation__canton=canton
        ).values_list("organisation_id", "commune__name", "commune__bfs_number"):
            self.by_name[(org_id, name.casefold())] = bfs
            served.setdefault(org_id, []).append(bfs)
        self.only = {org: bfs[0] for org, bfs in served.items() if len(bfs) == 1}

    def __call__(self, org_id: int, place: str | None) -> int | None:
        found = self.by_name.get((org_id, (place or "").casefold()))
        return found if found is not None else self.only.get(org_id)


_IN_CANTON = "c.owner_id IN (SELECT id FROM tenancy_organisation WHERE canton = %s)"


def _persons(canton: str, pseudo: Pseudonymiser, as_of: datetime.date) -> Iterator[list[Row]]:
    sql = f"""
        SELECT p.id, p.birth_date, p.sex, p.nationality, p.residence_status, p.arrival_date
        FROM people_person p
        WHERE p.id IN (
            SELECT c.client_id FROM cases_case c WHERE {_IN_CANTON}
            UNION
            SELECT m.person_id FROM people_unitmember m
            JOIN cases_case c ON c.assistance_unit_id = m.unit_id WHERE {_IN_CANTON}
        )"""  # noqa: S608 (constant SQL, the canton is a parameter)
    for rows in _stream(sql, [canton, canton]):
        yield [(pseudo("person", r[0]), _year(r[1]), r[2], r[3], r[4], _year(r[5])) for r in rows]


def _dossiers(canton: str, pseudo: Pseudonymiser, as_of: datetime.date) -> Iterator[list[Row]]:
    communes = _Communes(canton)
    sql = f"""
        SELECT c.id, c.client_id, c.owner_id, o.name, p.city, c.domain, c.status, c.stage,
               c.segment, c.opened_on, c.closed_on, c.closure_reason,
               k.has_norm, k.has_norm AND NOT k.norm_missed
        FROM cases_case c
        JOIN tenancy_organisation o ON o.id = c.owner_id
        JOIN people_person p ON p.id = c.client_id
        LEFT JOIN {KeptLight._meta.db_table} k ON k.case_id = c.id
        WHERE {_IN_CANTON}"""  # noqa: S608
    for rows in _stream(sql, [canton]):
        yield [
            (
                pseudo("dossier", r[0]),
                pseudo("person", r[1]),
                r[2],
                r[3],
                communes(r[2], r[4]),
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                _year(r[9]),
                r[10],
                _year(r[10]),
                r[11],
                ((r[10] or as_of) - r[9]).days,
                r[12],
                r[13],
            )
            for r in rows
        ]


def _segments(canton: str, pseudo: Pseudonymiser, as_of: datetime.date) -> Iterator[list[Row]]:
    sql = f"""
        SELECT s.case_id, c.owner_id, s.segment, s.since, s.until
        FROM cases_segmentassignment s JOIN cases_case c ON c.id = s.case_id
        WHERE {_IN_CANTON}"""  # noqa: S608
    for rows in _stream(sql, [canton]):
        yield [(pseudo("dossier", r[0]), r[1], r[2], r[3], r[4]) for r in rows]


def _language_levels(
    canton: str, pseudo: Pseudonymiser, as_of: datetime.date
) -> Iterator[list[Row]]:
    sql = f"""
        SELECT a.person_id, a.case_id, c.owner_id, a.item, a.assessed_on, a.rank
        FROM assessments_assessmentanswer a JOIN cases_case c ON c.id = a.case_id
        WHERE a.field_key = %s AND a.item = ANY(%s) AND a.dimension = 'oral'
          AND a.rank IS NOT NULL AND {_IN_CANTON}"""  # noqa: S608
    for rows in _stream(sql, [LANGUAGE_FIELD, list(NATIONAL_LANGUAGES), canton]):
        yield [
            (pseudo("person", r[0]), pseudo("dossier", r[1]), r[2], r[3], r[4], _year(r[4]), r[5])
            for r in rows
        ]


def _milestones(canton: str, pseudo: Pseudonymiser, as_of: datetime.date) -> Iterator[list[Row]]:
    """The milestones of the persons of every dossier with a plan, computed by the timeline's
    own pure functions over the facts the nightly rules read (``with_milestone_facts``)."""
    communes = _Communes(canton)
    annotated: Any = with_milestone_facts(
        Case.objects.filter(owner__canton=canton)
        .filter(Exists(Plan.objects.filter(case_id=OuterRef("pk"))))
        .order_by()
    )
    cases = annotated.values_list(
        "pk", "owner_id", "owner__name", "client__city", "milestone_persons", "milestone_rules"
    )
    chunk: list[Row] = []
    for case_id, owner_id, owner_name, place, persons, rules in cases.iterator(chunk_size=2000):
        norms = norms_on(milestone_rules_from_json(rules or ()), as_of)
        commune = communes(owner_id, place)
        for data in persons or ():
            facts = person_facts_from_json(data)
            for state in milestone_states(facts, norms, as_of):
                chunk.append(
                    (
                        pseudo("person", facts.id),
                        pseudo("dossier", case_id),
                        owner_id,
                        owner_name,
                        commune,
                        state.key,
                        state.due,
                        state.due.year,
                        state.state,
                        facts.residence_status,
                        _year(facts.arrival_date),
                    )
                )
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _measures(canton: str, pseudo: Pseudonymiser, as_of: datetime.date) -> Iterator[list[Row]]:
    """The plans' measures: codes, catalogue numbers and dates. The title, the notes and a
    provider named outside the catalogue (``provider_name``, free text) are not read."""
    communes = _Communes(canton)
    sql = f"""
        SELECT m.id, COALESCE(m.person_id, c.client_id), m.case_id, c.owner_id, o.name, p.city,
               m.category, m.programme_id, v.id, v.kind,
               v.id IS NULL AND m.provider_name <> '', m.status,
               m.planned_start, m.planned_end, m.actual_start, m.actual_end,
               m.abort_reason, m.result
        FROM {Measure._meta.db_table} m
        JOIN cases_case c ON c.id = m.case_id
        JOIN tenancy_organisation o ON o.id = c.owner_id
        JOIN people_person p ON p.id = c.client_id
        LEFT JOIN {Programme._meta.db_table} g ON g.id = m.programme_id
        LEFT JOIN {Provider._meta.db_table} v ON v.id = COALESCE(m.provider_id, g.provider_id)
        WHERE {_IN_CANTON}"""  # noqa: S608
    for rows in _stream(sql, [canton]):
        yield [
            (
                pseudo("measure", r[0]),
                pseudo("person", r[1]),
                pseudo("dossier", r[2]),
                r[3],
                r[4],
                communes(r[3], r[5]),
                r[6],
                r[7],
                r[8],
                r[9] or "",
                r[10],
                r[11],
                r[12],
                r[13],
                r[14],
                r[15],
                _year(r[14] or r[12]),
                r[11] == MeasureStatus.RUNNING
                and (r[14] is None or r[14] <= as_of)
                and (r[15] is None or r[15] >= as_of),
                r[16],
                r[17],
            )
            for r in rows
        ]


def _cii_cases(canton: str, pseudo: Pseudonymiser, as_of: datetime.date) -> Iterator[list[Row]]:
    sql = """
        SELECT x.id, x.owner_id, o.name, x.opened_on, x.health, x.out_of_work,
               x.language_level, x.education, x.nationality, x.debts, x.exit_on, x.exit_state
        FROM cii_ciicase x JOIN tenancy_organisation o ON o.id = x.owner_id
        WHERE o.canton = %s"""
    for rows in _stream(sql, [canton]):
        yield [
            (pseudo("cii_case", r[0]), r[1], r[2], r[3], _year(r[3]), *r[4:10], r[10])
            + (_year(r[10]), r[11])
            for r in rows
        ]


Reader = Callable[[str, Pseudonymiser, datetime.date], Iterable[list[Row]]]
READERS: dict[str, Reader] = {
    "persons": _persons,
    "dossiers": _dossiers,
    "segments": _segments,
    "language_levels": _language_levels,
    "ais_milestones": _milestones,
    "measures": _measures,
    "cii_cases": _cii_cases,
}


# --- writing --------------------------------------------------------------------------------


def write_table(folder: Path, table: Table, chunks: Iterable[list[Row]]) -> int:
    schema = table.schema
    count = 0
    with pq.ParquetWriter(folder / f"{table.name}.parquet", schema, compression="zstd") as writer:
        for rows in chunks:
            columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
            batch = pa.record_batch(
                [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
                schema=schema,
            )
            writer.write_batch(batch)
            count += len(rows)
    return count


DICTIONARY_LANGUAGES = ("fr", "de")


def _described(text: str) -> dict[str, str]:
    """A description in English (the schema's) and, from the translation catalogues, in French
    and German: ``description``, ``description_fr``, ``description_de``."""
    described = {"description": text}
    for language in DICTIONARY_LANGUAGES:
        with translation.override(language):
            described[f"description_{language}"] = translation.gettext(text)
    return described


def dictionary() -> dict[str, Any]:
    """The data dictionary: every table and column of the dataset, described in English,
    French and German."""
    return {
        "format_version": FORMAT_VERSION,
        "tables": [
            {
                "name": t.name,
                "file": f"{t.name}.parquet",
                **_described(t.description),
                "unit": t.unit,
                "columns": [
                    {
                        "name": c.name,
                        "type": str(TYPES[c.type]),
                        **_described(c.description),
                        "dimension": c.dimension,
                    }
                    for c in t.columns
                ],
            }
            for t in TABLES.values()
        ],
    }


_TITLES = {
    "": ("Canton dataset: data dictionary", "column", "type", "description"),
    "fr": ("Jeu de données du canton : dictionnaire des données", "colonne", "type", "description"),
    "de": ("Datensatz des Kantons: Datenwörterbuch", "Spalte", "Typ", "Beschreibung"),
}


def dictionary_markdown(data: dict[str, Any], language: str = "") -> str:
    """The dictionary as Markdown, in English or (``language``) French or German."""
    key = f"description_{language}" if language else "description"
    title, column, kind, description = _TITLES[language]
    lines = [f"# {title}", ""]
    for table in data["tables"]:
        lines += [f"## {table['name']} (`{table['file']}`)", "", table[key], ""]
        lines += [f"| {column} | {kind} | {description} |", "|---|---|---|"]
        lines += [f"| {c['name']} | {c['type']} | {c[key]} |" for c in table["columns"]]
        lines.append("")
    return "\n".join(lines)


def _prune(root: Path, keep: set[Path]) -> None:
    extracts = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("extract-"))
    for old in extracts[:-KEEP]:
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".extract-*"):
        shutil.rmtree(stale, ignore_errors=True)


def extract_canton(canton: str, *, as_of: datetime.date | None = None) -> ExtractResult:
    """Write the canton's extract and make it current; see the module's doc."""
    as_of = as_of or timezone.localdate()
    root = canton_dir(canton)
    root.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    name = f"extract-{stamp}"
    work = root / f".{name}-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    pseudo = Pseudonymiser(canton_key(canton))
    rows: dict[str, int] = {}
    outer = connection.in_atomic_block
    try:
        with transaction.atomic():
            if not outer:
                # one snapshot for all tables (only possible as the transaction's first
                # statement; inside an enclosing transaction, the demo seed's or a test's, the
                # rows are that transaction's anyway)
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for table_name, read in READERS.items():
                rows[table_name] = write_table(
                    work, TABLES[table_name], read(canton, pseudo, as_of)
                )
        data = dictionary()
        (work / "dictionary.json").write_text(json.dumps(data, indent=2))
        (work / "dictionary.md").write_text(dictionary_markdown(data))
        for language in DICTIONARY_LANGUAGES:
            (work / f"dictionary.{language}.md").write_text(dictionary_markdown(data, language))
        (work / "manifest.json").write_text(
            json.dumps(
                {
                    "canton": canton,
                    "as_of": as_of.isoformat(),
                    "written_at": timezone.now().isoformat(),
                    "format_version": FORMAT_VERSION,
                    "rows": rows,
                },
                indent=2,
            )
        )
        final = root / name
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    link = root / f".{CURRENT}-{uuid.uuid4().hex[:8]}"
    link.symlink_to(final.name)
    os.replace(link, root / CURRENT)
    _prune(root, {final.resolve()})
    return ExtractResult(canton, final, rows)


def extract_cantons() -> list[str]:
    """The cantons with at least one organisation."""
    return sorted(set(Organisation.objects.values_list("canton", flat=True)))
