"""Each service's monitoring (D7; decision 0035): case volume, workload and durations per
month, compared with the median of the canton's other services of similar size, without
naming them.

The figures are kept state (``ServiceMonth``), refreshed nightly by ``monitoring_refresh``
with a few grouped queries over the dossiers; the page reads only that table (two queries)
and never a dossier, so it logs no dossier read. Costs wait for payments (not built)."""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Count, F
from django.db.models.functions import TruncMonth

from filum.cases.models import Case
from filum.dates import add_months
from filum.disclosure import is_small
from filum.steering.models import ServiceMonth
from filum.tenancy.models import Membership, Organisation, OrganisationKind
from filum.tenancy.policy import dossier_holding_roles

# Months kept and refreshed; the page shows the last SHOWN_MONTHS of them.
KEPT_MONTHS = 24
SHOWN_MONTHS = 12
# Size classes by open dossiers at the end of the compared month: lower bounds.
SIZE_CLASSES = (0, 200, 1000, 5000)
# The class median is shown only when at least this many other services are in the class.
MIN_PEERS = 3


class Median(models.Aggregate):
    """The median of ``closed_on - opened_on`` in days (PostgreSQL date subtraction)."""

    function = "percentile_cont"
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    arg_joiner = " - "
    output_field = models.FloatField()


def _social_service_cases() -> Any:
    return Case.objects.filter(owner__kind=OrganisationKind.SOCIAL_SERVICE)


def refresh(today: datetime.date) -> int:
    """Recompute the kept months of every social service (a few grouped queries, one
    transaction); returns the number of rows written."""
    first = add_months(today.replace(day=1), -(KEPT_MONTHS - 1))
    months = [add_months(first, i) for i in range(KEPT_MONTHS)]
    opened: dict[int, dict[datetime.date, int]] = defaultdict(dict)
    closed: dict[int, dict[datetime.date, tuple[int, float | None]]] = defaultdict(dict)
    for row in (
        _social_service_cases()
        .annotate(m=TruncMonth("opened_on"))
        .values("owner_id", "m")
        .annotate(n=Count("id"))
    ):
        opened[row["owner_id"]][row["m"]] = row["n"]
    for row in (
        _social_service_cases()
        .filter(closed_on__isnull=False)
        .annotate(m=TruncMonth("closed_on"))
        .values("owner_id", "m")
        .annotate(n=Count("id"), median=Median(F("closed_on"), F("opened_on")))
    ):
        closed[row["owner_id"]][row["m"]] = (row["n"], row["median"])
    workers = dict(
        Membership.objects.active()
        .filter(role__in=dossier_holding_roles())
        .values("organisation_id")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("organisation_id", "n")
    )
    organisations = Organisation.objects.filter(kind=OrganisationKind.SOCIAL_SERVICE).values_list(
        "pk", "canton"
    )
    rows = []
    for org_id, canton in organisations:
        # open at a month's end = opened up to then - closed up to then
        before = sum(n for m, n in opened[org_id].items() if m < first)
        before -= sum(n for m, (n, _med) in closed[org_id].items() if m < first)
        running = before
        for month in months:
            n_opened = opened[org_id].get(month, 0)
            n_closed, median = closed[org_id].get(month, (0, None))
            running += n_opened - n_closed
            rows.append(
                ServiceMonth(
                    organisation_id=org_id,
                    canton=canton,
                    month=month,
                    open_end=running,
                    opened=n_opened,
                    closed=n_closed,
                    median_days=median,
                    workers=workers.get(org_id, 0),
                )
            )
    with transaction.atomic():
        ServiceMonth.objects.filter(month__gte=first).delete()
        ServiceMonth.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def size_class(open_dossiers: int) -> int:
    """The index of the size class (SIZE_CLASSES) of a service with this many open dossiers."""
    return max(i for i, bound in enumerate(SIZE_CLASSES) if open_dossiers >= bound)


def per_worker(row: ServiceMonth | dict[str, Any]) -> float | None:
    open_end, workers = (
        (row["open_end"], row["workers"]) if isinstance(row, dict) else (row.open_end, row.workers)
    )
    return round(open_end / workers, 1) if workers else None


FIGURES = ("open_end", "opened", "closed", "per_worker", "median_days")
COUNTS = ("open_end", "opened", "closed")


@dataclass(frozen=True)
class Comparison:
    figure: str
    own: float | None
    median: float | None  # None: suppressed (too few peers) or no value
    hidden_small: bool  # the median is a count of 1 to 4 (filum.disclosure)


@dataclass(frozen=True)
class Monitoring:
    months: list[ServiceMonth]
    compared_month: datetime.date | None
    size_class: int | None
    peers: int  # other services of the canton in the same size class
    suppressed: bool
    comparisons: list[Comparison]

    @property
    def class_label(self) -> str:
        if self.size_class is None:
            return ""
        low = SIZE_CLASSES[self.size_class]
        if self.size_class + 1 < len(SIZE_CLASSES):
            return f"{low}–{SIZE_CLASSES[self.size_class + 1] - 1}"
        return f"≥ {low}"


def _value(row: ServiceMonth | dict[str, Any], figure: str) -> float | None:
    if figure == "per_worker":
        return per_worker(row)
    value = row[figure] if isinstance(row, dict) else getattr(row, figure)
    return None if value is None else float(value)


def monitoring(organisation: Organisation, today: datetime.date) -> Monitoring:
    """The service's page: its last months, and the last ended month against the median of the
    canton's other services in its size class (two queries)."""
    first = add_months(today.replace(day=1), -(SHOWN_MONTHS - 1))
    months = list(
        ServiceMonth.objects.filter(organisation=organisation, month__gte=first).order_by("month")
    )
    compared = add_months(today.replace(day=1), -1)
    own = next((m for m in months if m.month == compared), None)
    if own is None:
        return Monitoring(months, None, None, 0, True, [])
    cls = size_class(own.open_end)
    peers = [
        row
        for row in ServiceMonth.objects.filter(canton=organisation.canton, month=compared)
        .exclude(organisation=organisation)
        .values("open_end", "opened", "closed", "median_days", "workers")
        if size_class(row["open_end"]) == cls
    ]
    suppressed = len(peers) < MIN_PEERS
    comparisons = []
    for figure in FIGURES:
        values = [v for v in (_value(dict(p), figure) for p in peers) if v is not None]
        median = None if suppressed or not values else round(statistics.median(values), 1)
        small = figure in COUNTS and median is not None and is_small(round(median))
        comparisons.append(Comparison(figure, _value(own, figure), median, small))
    return Monitoring(months, compared, cls, len(peers), suppressed, comparisons)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    label: str
    value: int


CHART_WIDTH, CHART_HEIGHT, CHART_BAR = 600, 160, 36


def open_bars(months: list[ServiceMonth]) -> list[Bar]:
    """The open dossiers at each month's end as bars of a server-rendered SVG chart."""
    top = max((m.open_end for m in months), default=0) or 1
    step = CHART_WIDTH / max(len(months), 1)
    bars = []
    for i, m in enumerate(months):
        height = round(m.open_end / top * (CHART_HEIGHT - 20), 1)
        bars.append(
            Bar(
                x=round(i * step + (step - CHART_BAR) / 2, 1),
                y=round(CHART_HEIGHT - height, 1),
                height=height,
                label=f"{m.month:%m.%y}",
                value=m.open_end,
            )
        )
    return bars
