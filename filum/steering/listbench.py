"""Bench rows of the person lists (decision 0034), measured by ``manage.py bench``: the page
with three filters as the largest social service's section head, and an XLSX export of
10,000 rows (written and read back into nothing; its read log rolled back)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filum.steering.exports import xlsx_file
from filum.steering.person_lists import PersonFilter, export_rows
from filum.tenancy.models import Membership
from filum.tenancy.policy import Actor

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


def list_url() -> str:
    return f"{reverse('person_list')}?{urlencode(THREE_FILTERS, doseq=True)}"


def export_once(head: Membership, rows: int = XLSX_ROWS) -> int:
    """Write the first ``rows`` persons of the section head's whole list as XLSX, in a
    transaction rolled back afterwards (the export's read log); the number of rows written."""
    actor = Actor(user=head.user, membership=head)
    with transaction.atomic():
        listed = list(itertools.islice(export_rows(actor, PersonFilter(case_status="all")), rows))
        with xlsx_file(listed, [], timezone.localtime()) as written:
            written.read()
        transaction.set_rollback(True)
    return len(listed)


def measure(
    head: Membership,
    *,
    page: Callable[[str, Membership, str, str], None],
    add: Callable[[str, list[float], int | None, str], None],
    wanted: Callable[[str], bool],
    repeat: int = 3,
) -> None:
    """Both rows: ``page`` times the list page as the bench does; the export is timed here
    (a few runs: each writes 10,000 rows)."""
    who = f"{head.user.username} ({head.organisation.name})"
    if wanted(PERSON_LIST):
        page(PERSON_LIST, head, list_url(), f"{who}: status F/F_FL/B_FL, 18+, counselling")
    if wanted(XLSX_EXPORT):
        samples, written = [], 0
        with CaptureQueriesContext(connection) as first:
            written = export_once(head)  # a warm-up that counts the export's queries
        for _ in range(repeat):
            started = time.perf_counter()
            written = export_once(head)
            samples.append((time.perf_counter() - started) * 1000)
        add(XLSX_EXPORT, samples, len(first), f"{who}: {written:,} rows written")
