"""The bench rows of retention (M3, decision 0036 and its amendment), at the ten-year volume
with its backlog (``filum.demo.retention_volume``): the nightly listing of every
organisation's due dossiers with their rules, holds and offers; the retention page's listing
of the organisation with the largest backlog (its first keyset page and a deep one, with the
total); and the whole nightly job as a dry run (offers, read-log partitions, security
events), nothing written."""

from __future__ import annotations

import datetime
import io
import time
from collections.abc import Callable

from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from filum.cases.models import Case, CaseStatus
from filum.records.retention import (
    Key,
    Nightly,
    due_cases,
    due_dossiers,
    offer_due,
    rules_by_domain,
)
from filum.tenancy.models import Organisation

NIGHTLY = "nightly retention listing, every organisation"
PAGE = "retention page listing, largest backlog (first and a deep keyset page)"
JOB = "nightly retention job --dry-run over the backlog"
TARGETS_MS = {NIGHTLY: 5000.0, PAGE: 200.0, JOB: 5000.0}
PAGE_SIZE = 100  # as filum.records.disposal_views.PAGE


def list_once() -> Nightly:
    report = Nightly()
    offer_due(timezone.localdate(), dry_run=True, report=report)
    return report


def time_nightly_listing(repeat: int) -> tuple[list[float], str]:
    samples: list[float] = []
    report = Nightly()
    for _ in range(repeat):
        started = time.perf_counter()
        report = list_once()
        samples.append((time.perf_counter() - started) * 1000)
    due = len(report.offered) + len(report.waiting) + len(report.held)
    return samples, f"{due:,} dossiers past their retention ({len(report.held)} held)"


def largest_backlog(today: datetime.date) -> Organisation | None:
    """The organisation with the most closed dossiers past the latest cut-off of the rules."""
    cutoff = today.replace(year=today.year - 10)
    top = (
        Case.objects.filter(status=CaseStatus.CLOSED, closed_on__lte=cutoff)
        .values("owner")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    return Organisation.objects.get(pk=top["owner"]) if top else None


def page_listing(organisation: Organisation, today: datetime.date) -> Callable[[], int]:
    """The page's queries for its first page and the page halfway through the backlog."""
    total = due_cases(organisation, today).count()
    middle = (
        due_cases(organisation, today, rules_by_domain(organisation.canton))
        .values_list("closed_on", "number")[total // 2 : total // 2 + 1]
        .first()
    )
    deep: Key | None = (middle[0], middle[1]) if middle and middle[0] else None

    def run() -> int:  # as the page does it
        rows = 0
        for after in (None, deep):
            rules = rules_by_domain(organisation.canton)
            due = due_dossiers(organisation, today, limit=PAGE_SIZE + 1, after=after, rules=rules)
            rows += len(due)
            due_cases(organisation, today, rules).count()
        return rows

    return run


def time_page_listing(repeat: int) -> tuple[list[float], Callable[[], int] | None, str]:
    today = timezone.localdate()
    organisation = largest_backlog(today)
    if organisation is None:
        return [], None, "no dossier past its retention"
    run = page_listing(organisation, today)
    samples: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000 / 2)  # per page
    total = due_cases(organisation, today).count()
    return samples, run, f"{organisation.name}: {total:,} due; per page of {PAGE_SIZE}"


def job_once() -> str:
    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def time_job(repeat: int) -> tuple[list[float], str]:
    samples: list[float] = []
    output = ""
    for _ in range(repeat):
        started = time.perf_counter()
        output = job_once()
        samples.append((time.perf_counter() - started) * 1000)
    counts = [line.split(":")[1].split()[0] for line in output.splitlines() if ":" in line]
    return samples, "offered/waiting/held/partitions/security events: " + "/".join(counts)
