"""Each service's monitoring (D7; decision 0035): the kept monthly figures, the comparison
with the median of the canton's other services of the same size class without naming them,
suppression below 3 others, small medians hidden, the fixed query count, no read log, access."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filum.dates import add_months
from filum.records.models import ReadLog
from filum.steering import monitoring as mon
from filum.steering.models import ServiceMonth
from tests import factories

# the session, the user with their memberships and organisations, the service's months, the canton's
# peers
PAGE_QUERIES = 4


def this_month() -> datetime.date:
    return timezone.localdate().replace(day=1)


def test_size_classes_and_threshold_are_pinned():
    assert mon.SIZE_CLASSES == (0, 200, 1000, 5000)
    assert mon.MIN_PEERS == 3
    assert [mon.size_class(n) for n in (0, 199, 200, 999, 1000, 4999, 5000)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
    ]


def test_refresh_counts_open_opened_closed_and_the_median_duration(world):
    month = this_month()
    last = add_months(month, -1)
    service = world.service_org
    # world.case: opened 30 days ago, open
    closing_month = add_months(last, -3)
    for days in (5, 10, 20):
        factories.CaseFactory(
            owner=service,
            opened_on=closing_month,
            status="closed",
            closed_on=closing_month + datetime.timedelta(days=days),
            closure_reason="employment",
        )
    mon.refresh(timezone.localdate())
    rows = {m.month: m for m in ServiceMonth.objects.filter(organisation=service)}
    assert len(rows) == mon.KEPT_MONTHS
    assert (rows[closing_month].opened, rows[closing_month].closed) == (3, 3)
    assert rows[closing_month].median_days == 10.0
    assert rows[last].median_days is None
    # open at the end of every month: opened so far minus closed so far
    total = 0
    for m in sorted(rows.values(), key=lambda r: r.month):
        total += m.opened - m.closed
        assert m.open_end == total
    # caseworkers: worker, colleague, head, intake (not the assistant, super-user, DPO, analyst)
    assert rows[month].workers == 4


def peer(canton: str, month: datetime.date, open_end: int, opened: int, name: str):
    org = factories.OrganisationFactory(name=name, canton=canton)
    return ServiceMonth.objects.create(
        organisation=org,
        canton=canton,
        month=month,
        open_end=open_end,
        opened=opened,
        closed=opened,
        median_days=100.0 + opened,
        workers=2,
    )


def own(world, month: datetime.date, open_end: int = 60) -> ServiceMonth:
    return ServiceMonth.objects.create(
        organisation=world.service_org,
        canton=world.service_org.canton,
        month=month,
        open_end=open_end,
        opened=9,
        closed=7,
        median_days=210.0,
        workers=3,
    )


def test_the_median_of_similar_services_names_none_of_them(world):
    last = add_months(this_month(), -1)
    own(world, last)
    peer("BE", last, 50, 6, "Zycanarypeerone")
    peer("BE", last, 100, 8, "Zycanarypeertwo")
    peer("BE", last, 150, 20, "Zycanarypeerthree")
    peer("BE", last, 900, 1, "Zycanarybigpeer")  # another size class
    peer("VD", last, 60, 1, "Zycanaryothercanton")  # another canton
    data = mon.monitoring(world.service_org, timezone.localdate())
    assert (data.size_class, data.peers, data.suppressed) == (0, 3, False)
    by = {c.figure: c for c in data.comparisons}
    assert (by["open_end"].own, by["open_end"].median) == (60.0, 100.0)
    assert (by["opened"].own, by["opened"].median) == (9.0, 8.0)
    assert by["per_worker"].own == 20.0
    assert by["per_worker"].median == 50.0
    assert by["median_days"].median == 108.0
    body = world.head.client().get(reverse("steering_monitoring")).content.decode()
    assert "Zycanary" not in body
    assert "108" in body
    assert "Coûts" in body or "Costs" in body


def test_fewer_than_three_others_in_the_class_suppresses_the_median(world):
    last = add_months(this_month(), -1)
    own(world, last)
    peer("BE", last, 50, 6, "Zycanarypeerone")
    peer("BE", last, 100, 8, "Zycanarypeertwo")
    data = mon.monitoring(world.service_org, timezone.localdate())
    assert data.peers == 2
    assert data.suppressed
    assert all(c.median is None for c in data.comparisons)


def test_a_small_median_count_is_hidden(world):
    last = add_months(this_month(), -1)
    own(world, last)
    for i, opened in enumerate((1, 2, 3)):
        peer("BE", last, 50, opened, f"Service {i}")
    by = {c.figure: c for c in mon.monitoring(world.service_org, timezone.localdate()).comparisons}
    assert by["opened"].median == 2.0
    assert by["opened"].hidden_small
    assert not by["median_days"].hidden_small  # a duration, not a count


def test_the_page_runs_a_fixed_number_of_queries_and_logs_no_read(world):
    last = add_months(this_month(), -1)
    client = world.head.client()
    client.get(reverse("steering_monitoring"))  # the session's first request

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("steering_monitoring")).status_code == 200
        return len(captured.captured_queries)

    own(world, last)
    for i in range(12):
        ServiceMonth.objects.create(
            organisation=world.service_org,
            canton="BE",
            month=add_months(last, -1 - i),
            open_end=50,
            opened=4,
            closed=3,
            median_days=None,
            workers=2,
        )
    small = count()
    for i in range(6):
        peer("BE", last, 40 + i, 5, f"Service {i}")
    assert count() == small == PAGE_QUERIES
    assert not ReadLog.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [("head", 200), ("superuser", 200), ("worker", 404), ("analyst", 404), ("outsider", 404)],
)
def test_who_sees_the_monitoring(world, persona, status):
    assert getattr(world, persona).client().get(reverse("steering_monitoring")).status_code == (
        status
    )


def test_the_page_speaks_german(world):
    world.head.user.language = "de"
    world.head.user.save()
    client = world.head.client()
    body = client.get(reverse("steering_monitoring"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Monitoring des Dienstes" in body
    assert "Kosten" in body
