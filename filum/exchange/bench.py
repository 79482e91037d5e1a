"""The import's benchmark figures (issue 9, "Benchmarks"; decision 0029).

- ``measure_import``: a delivery (the organisation exported, or a synthetic delivery of N
  dossiers and M journal entries modelled on it, ``filum.exchange.synthetic``) imported into
  a fresh organisation and timed, in dossiers per second end to end (the dry run included),
  with the ratio to the time PostgreSQL's own COPY takes to load the same rows (dossiers,
  journal entries, persons) into plain tables. Committed batch by batch as a real import
  (``keep``: the bench) or in one transaction rolled back (the tests); the documents in a
  temporary storage. ``measure_medium``: the medium service's delivery, against 10 minutes.
- ``measure_resume``: the same delivery imported by ``manage.py import_delivery`` in a
  subprocess killed (SIGKILL) in the middle and run again, and once uninterrupted into
  another fresh organisation: the rows per table and a checksum of the imported content
  (source ids -> content) of both. These imports are committed: two organisations stay.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings

from filum.cases.models import Case
from filum.exchange.export import export_organisation
from filum.exchange.importer import BATCH, import_delivery
from filum.exchange.models import ImportRun, SourceRecord
from filum.exchange.synthetic import write_synthetic_delivery
from filum.tenancy.models import Organisation

TARGET_DOSSIERS_PER_S = 2000.0
TARGET_MEDIUM_SECONDS = 600.0
COPIED = {
    "cases_case": "owner_id = %s",
    "journal_contact": "owner_id = %s",
    "people_person": "id IN (SELECT client_id FROM cases_case WHERE owner_id = %s)",
}


def _copy_seconds(organisation_id: int) -> float:
    """COPY the organisation's rows out, then time COPY of them into plain tables (the same
    columns, no index, constraint or trigger)."""
    seconds = 0.0
    with transaction.atomic(), connection.cursor() as cursor:
        for table, where in COPIED.items():
            data = io.BytesIO()
            query = f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT"  # noqa: S608
            with cursor.cursor.copy(query, [organisation_id]) as copy:
                for chunk in copy:
                    data.write(chunk)
            cursor.execute(f"CREATE TEMP TABLE bench_{table} (LIKE {table}) ON COMMIT DROP")
            started = time.perf_counter()
            with cursor.cursor.copy(f"COPY bench_{table} FROM STDIN") as copy:
                copy.write(data.getvalue())
            seconds += time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


@contextmanager
def _delivery(
    organisation: Organisation, folder: Path, sizes: dict[str, int] | None
) -> Iterator[tuple[Path, dict[str, int]]]:
    """The organisation exported into ``folder``; with ``sizes`` (dossiers, journal,
    documents) a synthetic delivery modelled on that export."""
    exported = folder / "exported"
    written = export_organisation(organisation, exported)
    if sizes is None:
        yield exported, written.counts
        return
    synthetic = write_synthetic_delivery(exported, folder / "synthetic", **sizes)
    yield synthetic.path, synthetic.counts


def _fresh(organisation: Organisation, label: str) -> Organisation:
    return Organisation.objects.create(
        name=f"{organisation.name} ({label} {uuid.uuid4().hex[:8]})",
        kind=organisation.kind,
        canton=organisation.canton,
    )


def _storages(folder: Path) -> dict[str, Any]:
    return {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder / "stored")},
        },
    }


def _timed(delivery: Path, target: Organisation, batch_size: int) -> tuple[Any, float, int, float]:
    started = time.perf_counter()
    result = import_delivery(delivery, by=None, organisation=target, batch_size=batch_size)
    seconds = time.perf_counter() - started
    imported = Case.objects.filter(owner=target).count()
    return result, seconds, imported, _copy_seconds(target.pk)


def measure_import(
    organisation: Organisation,
    *,
    batch_size: int = BATCH,
    dossiers: int | None = None,
    journal: int | None = None,
    documents: int = 0,
    label: str = "",
    keep: bool = False,
) -> dict[str, Any]:
    """With ``keep`` the import is committed, batch by batch, as a real one is (the fresh
    organisation and what it imported stay; documents in a temporary storage); otherwise all
    of it runs in one transaction that is rolled back, where each batch is a savepoint."""
    sizes = None
    if dossiers is not None:
        sizes = {"dossiers": dossiers, "journal": journal or 0, "documents": documents}
    with (
        tempfile.TemporaryDirectory() as name,
        _delivery(organisation, Path(name), sizes) as (
            delivery,
            counts,
        ),
    ):
        with override_settings(STORAGES=_storages(Path(name))):
            if keep:
                target = _fresh(organisation, "import bench")
                result, seconds, imported, copy_seconds = _timed(delivery, target, batch_size)
            else:
                with transaction.atomic():
                    target = _fresh(organisation, "import bench")
                    result, seconds, imported, copy_seconds = _timed(delivery, target, batch_size)
                    transaction.set_rollback(True)
    rate = imported / seconds if seconds else 0.0
    return {
        "label": label,
        "organisation": organisation.name,
        "synthetic": sizes is not None,
        "committed": keep,
        "ok": result.report.ok,
        "dossiers": imported,
        "journal": counts.get("journal", 0),
        "documents": counts.get("documents", 0),
        "records": sum(counts.values()),
        "seconds": round(seconds, 3),
        "dossiers_per_s": round(rate, 1),
        "target_dossiers_per_s": TARGET_DOSSIERS_PER_S,
        "copy_seconds": round(copy_seconds, 3),
        "ratio_to_copy": round(seconds / copy_seconds, 1) if copy_seconds else None,
        "pass": rate >= TARGET_DOSSIERS_PER_S,
    }


def measure_medium(organisation: Organisation) -> dict[str, Any]:
    """A medium service's delivery (issue 9, "Done when"): 5,000 dossiers, 200,000 journal
    entries, 20,000 small documents through dry run and import, against 10 minutes."""
    figure = measure_import(
        organisation,
        dossiers=5000,
        journal=200_000,
        documents=20_000,
        label="medium service",
        keep=True,
    )
    figure["target_seconds"] = TARGET_MEDIUM_SECONDS
    figure["pass"] = figure["ok"] and figure["seconds"] <= TARGET_MEDIUM_SECONDS
    return figure


# --- kill and resume ---------------------------------------------------------------------------


def _command(path: Path, target: Organisation, batch_size: int) -> list[str]:
    manage = Path(settings.BASE_DIR) / "manage.py"
    return [
        sys.executable,
        str(manage),
        "import_delivery",
        str(path),
        "--organisation",
        target.name,
        "--batch-size",
        str(batch_size),
    ]


def _run(path: Path, target: Organisation, batch_size: int) -> None:
    subprocess.run(  # noqa: S603 (our own manage.py)
        _command(path, target, batch_size), check=True, capture_output=True, env=os.environ
    )


def _kill_in_the_middle(path: Path, target: Organisation, total: int, batch_size: int) -> int:
    """Start the import, SIGKILL it once half of the records are stored; the records done."""
    process = subprocess.Popen(  # noqa: S603 (our own manage.py)
        _command(path, target, batch_size),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    done = 0
    try:
        while process.poll() is None:
            run = ImportRun.objects.filter(organisation=target).first()
            done = run.done if run is not None else 0
            if done >= total // 2:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.2)
    finally:
        process.wait()
    return done


def imported_figures(organisation: Organisation) -> tuple[dict[str, int], str]:
    """Rows per table of what the organisation's imports stored, and a checksum of the
    content: each source id with the content of the row it became (its references as the
    source ids of what they name)."""
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, count(*) FROM exchange_sourcerecord WHERE organisation_id = %s "
            "GROUP BY kind ORDER BY kind",
            [organisation.pk],
        )
        counts.update({f"mapped {kind}": n for kind, n in cursor.fetchall()})
        for table in ("cases_case", "journal_contact"):
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE owner_id = %s",  # noqa: S608
                [organisation.pk],
            )
            counts[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM people_person p JOIN exchange_sourcerecord s "
            "ON s.kind = 'persons' AND s.target_id = p.id::text AND s.organisation_id = %s",
            [organisation.pk],
        )
        counts["people_person"] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM documents_document WHERE owner_id = %s", [organisation.pk]
        )
        counts["documents_document"] = cursor.fetchone()[0]
        sha = hashlib.sha256()
        for query in CONTENT:
            with cursor.cursor.copy(
                f"COPY ({query}) TO STDOUT", [organisation.pk, organisation.pk]
            ) as copy:
                for chunk in copy:
                    sha.update(chunk)
    return counts, sha.hexdigest()


CONTENT = [
    "SELECT s.source_id, p.last_name, p.first_name, p.birth_date, p.sex, p.city "
    "FROM exchange_sourcerecord s JOIN people_person p ON p.id::text = s.target_id "
    "WHERE s.kind = 'persons' AND s.organisation_id = %s AND %s IS NOT NULL ORDER BY 1",
    "SELECT s.source_id, ps.source_id, c.domain, c.title, c.opened_on, c.status, c.stage, "
    "c.segment, c.closed_on FROM exchange_sourcerecord s JOIN cases_case c "
    "ON c.id::text = s.target_id JOIN exchange_sourcerecord ps ON ps.kind = 'persons' "
    "AND ps.organisation_id = s.organisation_id AND ps.target_id = c.client_id::text "
    "WHERE s.kind = 'dossiers' AND s.organisation_id = %s AND %s IS NOT NULL ORDER BY 1",
    "SELECT s.source_id, ds.source_id, j.kind, j.date, j.note, j.duration_minutes, "
    "j.recorded_at, j.superseded_at FROM exchange_sourcerecord s JOIN journal_contact j "
    "ON j.id = s.target_id::bigint JOIN exchange_sourcerecord ds ON ds.kind = 'dossiers' "
    "AND ds.organisation_id = s.organisation_id AND ds.target_id = j.case_id::text "
    "WHERE s.kind = 'journal' AND s.organisation_id = %s AND %s IS NOT NULL ORDER BY 1",
]


def measure_resume(
    organisation: Organisation, *, dossiers: int, journal: int, batch_size: int = BATCH
) -> dict[str, Any]:
    sizes = {"dossiers": dossiers, "journal": journal, "documents": 0}
    with (
        tempfile.TemporaryDirectory() as name,
        _delivery(organisation, Path(name), sizes) as (
            delivery,
            counts,
        ),
    ):
        killed = _fresh(organisation, "resume bench, killed")
        whole = _fresh(organisation, "resume bench, uninterrupted")
        total = sum(counts.values())
        done_when_killed = _kill_in_the_middle(delivery, killed, total, batch_size)
        state_when_killed = ImportRun.objects.get(organisation=killed).state
        started = time.perf_counter()
        _run(delivery, killed, batch_size)
        resume_seconds = time.perf_counter() - started
        _run(delivery, whole, batch_size)
    killed_counts, killed_sum = imported_figures(killed)
    whole_counts, whole_sum = imported_figures(whole)
    runs = ImportRun.objects.filter(organisation=killed)
    return {
        "organisation": organisation.name,
        "dossiers": dossiers,
        "journal": journal,
        "records": total,
        "done_when_killed": done_when_killed,
        "state_when_killed": state_when_killed,
        "resume_seconds": round(resume_seconds, 1),
        "runs": runs.count(),
        "rows_resumed": killed_counts,
        "rows_uninterrupted": whole_counts,
        "checksum_resumed": killed_sum,
        "checksum_uninterrupted": whole_sum,
        "mapped": SourceRecord.objects.filter(organisation=killed).count(),
        "pass": killed_counts == whole_counts
        and killed_sum == whole_sum
        and 0 < done_when_killed < total,
    }
