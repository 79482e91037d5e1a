"""The provider catalogue with capacity (I2): the canton's integration office keeps providers,
programmes and periods; workers and partners see the free places; booking a measure takes a
place, a full period puts it on the waiting list with a position, never over capacity, also
when two workers book the last place at the same moment."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from filum.plans import booking as bookings
from filum.plans.catalogue import catalogue_page
from filum.plans.models import Booking, Measure, Period, Programme, Provider
from filum.records.models import DENIAL, SecurityEvent
from filum.tenancy.models import OrganisationKind
from tests import factories
from tests import plan_factories as pf

# request overhead (the session, the user with their memberships) + the canton's programmes + their
# periods
CATALOGUE_PAGE = 4


def officer_org(world):
    return world.officer.membership.organisation


def book_url(case, measure) -> str:
    return reverse("measure_book", kwargs={"case_id": case.pk, "measure_id": measure.pk})


def booked_measures(world, count: int, period: Period) -> list[Measure]:
    """``count`` measures of ``count`` dossiers of the service, each with the period's
    programme, not yet booked."""
    measures = []
    for n in range(count):
        case = world.case if n == 0 else factories.CaseFactory(owner=world.service_org)
        plan = getattr(case, "plan", None) or pf.plan(case, world.worker.user)
        measures.append(
            pf.measure(
                plan,
                world.worker.user,
                programme=period.programme,
                provider=period.programme.provider,
            )
        )
    return measures


# --- keeping the catalogue ---------------------------------------------------------------------


def test_i2_officer_keeps_providers_programmes_and_periods(world):
    officer = world.officer.client()
    response = officer.post(
        reverse("provider_create"),
        {
            "name": "Ecole de langues Zyrbel",
            "kind": "school",
            "contact_name": "M. Roth",
            "email": "info@zyrbel.ch",
            "phone": "032 123 45 67",
            "address": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    provider = Provider.objects.get(name="Ecole de langues Zyrbel")
    assert (provider.canton, provider.owner_id) == ("BE", officer_org(world).pk)

    response = officer.post(
        reverse("programme_create"),
        {
            "provider": provider.pk,
            "name": "Allemand A2 intensif",
            "category": "language_course",
            "description": "Quatre matins par semaine",
            "cost_per_place": "1850.50",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    programme = Programme.objects.get(name="Allemand A2 intensif")
    assert programme.cost_per_place == Decimal("1850.50") and programme.canton == "BE"

    start = timezone.localdate() + datetime.timedelta(days=20)
    period_url = reverse("period_create", kwargs={"programme_id": programme.pk})
    # bad input: a period ending before it starts, and no places: form errors, nothing stored
    response = officer.post(
        period_url,
        {
            "starts_on": start.isoformat(),
            "ends_on": (start - datetime.timedelta(days=1)).isoformat(),
            "places": "0",
            "note": "",
        },
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"ends_on", "places"}
    assert not Period.objects.exists()
    response = officer.post(
        period_url,
        {
            "starts_on": start.isoformat(),
            "ends_on": (start + datetime.timedelta(days=90)).isoformat(),
            "places": "12",
            "note": "lu-je 8h30",
        },
    )
    assert response.status_code == 302
    assert Period.objects.get().places == 12

    # a negative cost is refused by the form, a duplicate name by the service
    response = officer.post(
        reverse("programme_create"),
        {
            "provider": provider.pk,
            "name": "Allemand A2 intensif",
            "category": "language_course",
            "cost_per_place": "-5",
            "is_active": "on",
        },
    )
    assert response.status_code == 400
    assert "cost_per_place" in response.context["form"].errors
    response = officer.post(
        reverse("programme_create"),
        {
            "provider": provider.pk,
            "name": "Allemand A2 intensif",
            "category": "language_course",
            "cost_per_place": "5",
            "is_active": "on",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Ce prestataire a déjà un programme de ce nom."
    ]
    assert Programme.objects.count() == 1


def test_i2_workers_and_partners_read_the_catalogue_but_do_not_keep_it(world):
    programme = pf.programme(officer_org(world), name="Coaching Zyrjob", category="job_coaching")
    pf.period(programme, places=3)
    for persona in ("worker", "head", "assistant", "partner", "officer"):
        response = getattr(world, persona).client().get(reverse("catalogue"))
        assert response.status_code == 200, persona
        assert "Coaching Zyrjob" in response.content.decode()
    for persona in ("worker", "partner", "head"):
        client = getattr(world, persona).client()
        assert client.get(reverse("programme_create")).status_code == 404
        assert (
            client.get(reverse("programme_edit", kwargs={"programme_id": programme.pk})).status_code
            == 404
        )
    for persona in ("superuser", "dpo", "analyst"):
        assert getattr(world, persona).client().get(reverse("catalogue")).status_code == 404


def test_i2_another_cantons_catalogue_answers_404_and_is_recorded(world):
    vaud = factories.OrganisationFactory(
        name="Office vaudois", kind=OrganisationKind.CANTON_OFFICE, canton="VD"
    )
    foreign = pf.programme(vaud, name="Cours Zyrvaud")
    for persona in ("worker", "officer"):
        client = getattr(world, persona).client()
        url = reverse("programme_detail", kwargs={"programme_id": foreign.pk})
        assert client.get(url).status_code == 404
        assert "Cours Zyrvaud" not in client.get(reverse("catalogue")).content.decode()
    assert (
        world.officer.client()
        .get(reverse("provider_edit", kwargs={"provider_id": foreign.provider_id}))
        .status_code
        == 404
    )
    objects = {
        (e.detail["object_type"], e.detail["object_id"])
        for e in SecurityEvent.objects.filter(kind=DENIAL, user=world.officer.user)
    }
    assert ("programme", str(foreign.pk)) in objects
    assert ("provider", str(foreign.provider_id)) in objects


def test_i2_catalogue_page_shows_free_places_from_one_query_per_source(
    world, django_assert_num_queries
):
    owner = officer_org(world)
    first = pf.programme(owner, name="Aaa Zyrcourse")
    full = pf.period(first, places=1)
    pf.period(first, places=5, starts_in=100)
    ended = pf.period(first, places=5, starts_in=-200, days=30)
    measure = booked_measures(world, 1, full)[0]
    bookings.do_book_measure(actor=world.worker.actor, measure=measure, period=full)
    for n in range(60):
        other = pf.programme(owner, name=f"Programme {n:03d}")
        pf.period(other, places=n + 1)
    client = world.worker.client()
    client.get(reverse("catalogue"))  # the session's first request writes its idle stamp
    with django_assert_num_queries(CATALOGUE_PAGE):
        response = client.get(reverse("catalogue"))
    assert response.status_code == 200
    rows = response.context["page"].rows
    assert len(rows) == 50 and rows[0].programme.pk == first.pk
    periods = rows[0].periods
    assert [(p.places, p.free, p.is_full) for p in periods] == [(1, 0, True), (5, 5, False)]
    assert ended.pk not in [p.pk for p in periods]
    body = response.content.decode()
    assert "5 of 5 free" in body or "5 sur 5 libres" in body
    # the next page continues after the cursor, with as many queries
    cursor = response.context["page"].next_cursor
    with django_assert_num_queries(CATALOGUE_PAGE):
        response = client.get(reverse("catalogue"), {"after": str(cursor)})
    assert [r.programme.name for r in response.context["page"].rows] == [
        f"Programme {n:03d}" for n in range(49, 60)
    ]
    # a filter by kind of measure
    page = catalogue_page(canton="BE", category="job_coaching")
    assert page.rows == []


# --- booking -----------------------------------------------------------------------------------


def test_i2_booking_takes_places_then_the_waiting_list_with_positions(world):
    period = pf.period(pf.programme(officer_org(world)), places=2)
    measures = booked_measures(world, 4, period)
    client = world.worker.client()
    positions = []
    for measure in measures:
        response = client.post(book_url(measure.plan.case, measure), {"period": period.pk})
        assert response.status_code == 302
        booking = bookings.active_booking(measure)
        positions.append((booking.status, booking.position if booking.status == "waiting" else 0))
    assert positions == [("placed", 0), ("placed", 0), ("waiting", 1), ("waiting", 2)]
    period.refresh_from_db()
    assert (period.places, period.taken, period.waiting) == (2, 2, 2)
    statuses = list(
        Measure.objects.filter(pk__in=[m.pk for m in measures])
        .order_by("pk")
        .values_list("status", flat=True)
    )
    assert statuses == ["registered", "registered", "planned", "planned"]
    # the measure's dates and provider come from the period
    first = Measure.objects.get(pk=measures[0].pk)
    assert (first.planned_start, first.planned_end) == (period.starts_on, period.ends_on)
    # the waiting booking's message names its position
    response = client.post(book_url(measures[3].plan.case, measures[3]), {"period": period.pk})
    assert response.status_code == 400  # already booked into it: a form error
    assert Booking.objects.filter(measure=measures[3]).count() == 1


def test_i2_a_full_period_answers_with_the_waiting_list_message(world, settings):
    period = pf.period(pf.programme(officer_org(world)), places=1)
    first, second = booked_measures(world, 2, period)
    bookings.do_book_measure(actor=world.worker.actor, measure=first, period=period)
    client = world.worker.client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    response = client.post(book_url(second.plan.case, second), {"period": period.pk}, follow=True)
    body = response.content.decode()
    assert "Warteliste" in body and "Position 1" in body


def test_i2_cancelling_a_place_moves_the_first_waiting_booking_up(world):
    period = pf.period(pf.programme(officer_org(world)), places=1)
    first, second, third = booked_measures(world, 3, period)
    for measure in (first, second, third):
        bookings.do_book_measure(actor=world.worker.actor, measure=measure, period=period)
    client = world.worker.client()
    url = reverse("booking_cancel", kwargs={"case_id": first.case_id, "measure_id": first.pk})
    assert client.post(url).status_code == 302
    moved = Booking.objects.get(measure=second, status="placed")
    assert moved.promoted_at is not None and moved.placed_at == moved.promoted_at
    assert Measure.objects.get(pk=second.pk).status == "registered"
    assert Measure.objects.get(pk=first.pk).status == "planned"
    assert bookings.active_booking(third).position == 1
    period.refresh_from_db()
    assert (period.taken, period.waiting) == (1, 1)
    # the dossier of the measure that moved up shows it
    body = client.get(
        reverse("measure_detail", kwargs={"case_id": second.case_id, "measure_id": second.pk})
    ).content.decode()
    assert "badge--promoted" in body


def test_i2_aborting_a_measure_frees_its_place(world):
    period = pf.period(pf.programme(officer_org(world)), places=1)
    first, second = booked_measures(world, 2, period)
    for measure in (first, second):
        bookings.do_book_measure(actor=world.worker.actor, measure=measure, period=period)
    first.refresh_from_db()
    url = reverse("measure_edit", kwargs={"case_id": first.case_id, "measure_id": first.pk})
    data = {
        "title": first.title,
        "category": first.category,
        "programme": first.programme_id,
        "provider_name": "",
        "planned_start": first.planned_start.isoformat(),
        "planned_end": first.planned_end.isoformat(),
        "status": "aborted",
        "abort_reason": "health",
        "result": "",
        "version": first.version,
    }
    response = world.worker.client().post(url, data)
    assert response.status_code == 302
    assert Booking.objects.get(measure=first).status == "cancelled"
    assert Booking.objects.get(measure=second).status == "placed"


def test_i2_more_places_in_a_period_go_to_its_waiting_list(world):
    period = pf.period(pf.programme(officer_org(world)), places=1)
    measures = booked_measures(world, 3, period)
    for measure in measures:
        bookings.do_book_measure(actor=world.worker.actor, measure=measure, period=period)
    officer = world.officer.client()
    url = reverse("period_edit", kwargs={"period_id": period.pk})
    form = {
        "starts_on": period.starts_on.isoformat(),
        "ends_on": period.ends_on.isoformat(),
        "note": "",
    }
    # fewer places than are taken: refused
    Period.objects.filter(pk=period.pk).update(places=2)
    bookings.refill_period(period.pk)
    response = officer.post(url, {**form, "places": "1"})
    assert response.status_code == 400 and "places" in response.context["form"].errors
    response = officer.post(url, {**form, "places": "3"})
    assert response.status_code == 302
    period.refresh_from_db()
    assert (period.places, period.taken, period.waiting) == (3, 3, 0)


def test_i2_the_database_refuses_to_overbook_a_period(world):
    """The last guard: a booking written past the service still cannot overbook."""
    period = pf.period(pf.programme(officer_org(world)), places=1)
    first, second = booked_measures(world, 2, period)
    bookings.do_book_measure(actor=world.worker.actor, measure=first, period=period)
    now = timezone.now()
    with pytest.raises(IntegrityError, match="period_not_overbooked"), transaction.atomic():
        Booking.objects.create(
            period=period,
            measure=second,
            case_id=second.case_id,
            owner_id=second.owner_id,
            status="placed",
            placed_at=now,
            booked_by=world.worker.user,
            booked_by_org_id=world.service_org.pk,
        )
    # and a measure never holds two bookings
    with (
        pytest.raises(IntegrityError, match="booking_one_active_per_measure"),
        transaction.atomic(),
    ):
        Booking.objects.create(
            period=period,
            measure=first,
            case_id=first.case_id,
            owner_id=first.owner_id,
            status="waiting",
            booked_by=world.worker.user,
            booked_by_org_id=world.service_org.pk,
        )
    period.refresh_from_db()
    assert (period.taken, period.waiting) == (1, 0)


def test_i2_an_ended_period_or_a_closed_measure_books_nothing(world):
    period = pf.period(pf.programme(officer_org(world)), places=3, starts_in=-100, days=10)
    (measure,) = booked_measures(world, 1, period)
    response = world.worker.client().post(
        book_url(measure.plan.case, measure), {"period": period.pk}
    )
    assert response.status_code == 400  # not offered: an ended period is no choice
    assert not Booking.objects.exists()
    current = pf.period(period.programme, places=3)
    Measure.objects.filter(pk=measure.pk).update(
        status="completed", actual_start=timezone.localdate(), actual_end=timezone.localdate()
    )
    response = world.worker.client().post(
        book_url(measure.plan.case, measure), {"period": current.pk}
    )
    assert response.status_code == 400
    assert not Booking.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_i2_two_workers_booking_the_last_place_at_once_one_waits(world):
    """Two real connections book the last place at the same moment: the period's row lock
    serves them one after the other, so one gets the place and the other the waiting list."""
    period = pf.period(pf.programme(officer_org(world)), places=1)
    first, second = booked_measures(world, 2, period)
    actors = [world.worker.actor, world.colleague.actor]
    start = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def book(measure: Measure, actor) -> None:
        try:
            start.wait(timeout=20)
            booking = bookings.do_book_measure(actor=actor, measure=measure, period=period)
            outcomes.append(booking.status)
        except BaseException as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=book, args=(measure, actor))
        for measure, actor in zip((first, second), actors, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == ["placed", "waiting"]
    period.refresh_from_db()
    assert (period.places, period.taken, period.waiting) == (1, 1, 1)
    assert Booking.objects.filter(period=period, status="placed").count() == 1
