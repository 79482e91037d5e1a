"""Bench rows of the person lists (decision 0034), measured by ``manage.py bench``: the page
with three filters as the largest social service's section head, and an XLSX export of
10,000 rows measured end to end as the export job runs it (the access check, the filter, the
file written by batches with the progress stored after each, the file stored in private
storage); the job's rows, read log and security event rolled back, its file deleted."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from filum.steering.export_jobs import export_storage, write_export
from filum.steering.models import ExportStatus, PersonListExport
from filum.tenancy.models import Membership

PERSON_LIST = "person list, three filters, largest service"
XLSX_EXPORT = "person list, XLSX export of 10,000 rows"
XLSX_ROWS = 10_000
TARGETS_MS = {PERSON_LIST: 100.0, XLSX_EXPORT: 10_000.0}
# adult refugees and provisionally admitted persons of dossiers in counselling
THREE_FILTERS: dict[str, Any] = {
    "run": "1",
    "residence_status": ["F", "F_FL", "B_FL"],
    "age_min": "18",
    "stage": "counselling",
}
PROGRESS_UPDATE = 'UPDATE "steering_personlistexport" SET "rows_written"'


def list_url() -> str:
    return f"{reverse('person_list')}?{urlencode(THREE_FILTERS, doseq=True)}"


def export_once(head: Membership, rows: int = XLSX_ROWS) -> tuple[int, int, int]:
    """Run the export job on the first ``rows`` persons of the section head's whole list as
    XLSX, in a transaction rolled back afterwards, its file deleted: the rows written, the
    progress updates the job stored, and the job's queries."""
    with transaction.atomic():
        export = PersonListExport.objects.create(
            user=head.user,
            organisation=head.organisation,
            role=head.role,
            format="xlsx",
            filters={"case_status": "all"},
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        with CaptureQueriesContext(connection) as queries:
            done = write_export(export.pk, first=rows)
        transaction.set_rollback(True)
    if done.file:
        export_storage().delete(done.file)
    if done.status != ExportStatus.DONE:
        raise RuntimeError(f"the export job {done.status}: {done.error}")
    updates = sum(1 for q in queries.captured_queries if q["sql"].startswith(PROGRESS_UPDATE))
    return done.rows_written, updates, len(queries.captured_queries)


def measure(
    head: Membership,
    *,
    page: Callable[[str, Membership, str, str], None],
    add: Callable[[str, list[float], int | None, str], None],
    wanted: Callable[[str], bool],
    repeat: int = 3,
) -> None:
    """Both rows: ``page`` times the list page as the bench does; the export job is timed
    here (a few runs: each writes 10,000 rows)."""
    who = f"{head.user.username} ({head.organisation.name})"
    if wanted(PERSON_LIST):
        page(PERSON_LIST, head, list_url(), f"{who}: status F/F_FL/B_FL, 18+, counselling")
    if wanted(XLSX_EXPORT):
        samples = []
        written, updates, queries = export_once(head)  # a warm-up that counts the queries
        for _ in range(repeat):
            started = time.perf_counter()
            written, updates, _queries = export_once(head)
            samples.append((time.perf_counter() - started) * 1000)
        seen = f"{updates} progress update{'' if updates == 1 else 's'} seen"
        add(XLSX_EXPORT, samples, queries, f"{who}: {written:,} rows written, {seen}")
