"""The import's benchmark figure (issue 9, "Benchmarks"): one organisation exported, imported
into a fresh organisation and timed, in dossiers per second end to end (the dry run
included), with the ratio to the time PostgreSQL's own COPY takes to load the same rows
(dossiers, journal entries, persons) into plain tables. All of it in a transaction that is
rolled back, the documents in a temporary storage."""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings

from filum.cases.models import Case
from filum.exchange.export import export_organisation
from filum.exchange.importer import import_delivery
from filum.tenancy.models import Organisation

TARGET_DOSSIERS_PER_S = 2000.0
COPIED = {
    "cases_case": "owner_id = %s",
    "journal_contact": "owner_id = %s",
    "people_person": "id IN (SELECT client_id FROM cases_case WHERE owner_id = %s)",
}


def _copy_seconds(organisation_id: int) -> float:
    """COPY the organisation's rows out, then time COPY of them into plain tables (the same
    columns, no index, constraint or trigger)."""
    seconds = 0.0
    with connection.cursor() as cursor:
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
    return seconds


def measure_import(organisation: Organisation, *, batch_size: int = 1000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        delivery = Path(folder) / "delivery"
        written = export_organisation(organisation, delivery)
        storages = {
            **settings.STORAGES,
            "documents": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(Path(folder) / "stored")},
            },
        }
        with override_settings(STORAGES=storages), transaction.atomic():
            target = Organisation.objects.create(
                name=f"{organisation.name} (import bench)",
                kind=organisation.kind,
                canton=organisation.canton,
            )
            started = time.perf_counter()
            result = import_delivery(delivery, by=None, organisation=target, batch_size=batch_size)
            seconds = time.perf_counter() - started
            dossiers = Case.objects.filter(owner=target).count()
            copy_seconds = _copy_seconds(target.pk)
            transaction.set_rollback(True)
    rate = dossiers / seconds if seconds else 0.0
    return {
        "organisation": organisation.name,
        "ok": result.report.ok,
        "dossiers": dossiers,
        "journal": written.counts.get("journal", 0),
        "records": sum(written.counts.values()),
        "seconds": round(seconds, 3),
        "dossiers_per_s": round(rate, 1),
        "target_dossiers_per_s": TARGET_DOSSIERS_PER_S,
        "copy_seconds": round(copy_seconds, 3),
        "ratio_to_copy": round(seconds / copy_seconds, 1) if copy_seconds else None,
        "pass": rate >= TARGET_DOSSIERS_PER_S,
    }
