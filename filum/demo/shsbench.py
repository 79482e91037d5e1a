"""Bench figures of the federal statistics and the monitoring (D6, D7; decision 0035): the
monitoring page of the largest service's section head at ten-year volume, and the monthly SHS
delivery file of the largest service. Both leave the database as found: the monitoring's
monthly figures are refreshed in a transaction that is rolled back, the delivery is built
without being stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filum.steering import monitoring, shs
from filum.steering.models import ShsMappingVersion
from filum.tenancy.models import Membership, Organisation

MONITORING = "monitoring page, largest service"
SHS_DELIVERY = "SHS monthly delivery, largest service"
TARGETS_MS = {MONITORING: 200.0, SHS_DELIVERY: 60_000.0}
DELIVERY_RUNS = 3


def measure(
    page: Callable[[str, Membership, str, str], None],
    add: Callable[[str, list[float], int | None, str], None],
    wanted: Callable[[str], bool],
    services: list[tuple[int, int]],
    head: Membership | None,
    runs: int = DELIVERY_RUNS,
) -> None:
    """``page(name, member, url, note)`` times a page as the bench does; ``add(name, samples,
    queries, note)`` records a figure; ``services``: (organisation id, dossiers), largest
    first; ``head``: that service's section head."""
    if not services:
        return
    today = timezone.localdate()
    if wanted(MONITORING) and head is not None:
        with transaction.atomic():
            started = time.perf_counter()
            rows = monitoring.refresh(today)
            refresh_s = time.perf_counter() - started
            note = (
                f"{head.organisation.name}, {services[0][1]:,} dossiers; nightly refresh of "
                f"{rows:,} service months took {refresh_s:.1f} s (rolled back afterwards)"
            )
            page(MONITORING, head, reverse("steering_monitoring"), note)
            transaction.set_rollback(True)
    if wanted(SHS_DELIVERY):
        organisation = Organisation.objects.get(pk=services[0][0])
        month = shs.due_month(today)
        version = ShsMappingVersion.objects.filter(canton=organisation.canton).first()
        mapping = shs.Mapping(version, {}) if version is None else shs.Mapping.load(version)
        samples: list[float] = []
        built: Any = None
        queries = 0
        for run in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                built = shs.build(organisation, month, mapping)
                samples.append((time.perf_counter() - started) * 1000)
            if run == 0:
                queries = len(captured)
        note = (
            f"{organisation.name}, {month:%Y-%m}: {built.dossiers:,} dossiers, "
            f"{built.rows:,} rows, {len(built.content) / 1e6:.1f} MB"
        )
        add(SHS_DELIVERY, samples, queries, note)
