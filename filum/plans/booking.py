"""Booking a measure into a period of a programme (I2): a place while there is one, the
waiting list otherwise, never over capacity.

Every step locks the period's row (``SELECT ... FOR UPDATE``) before it reads the free
places, so two workers booking the last place at the same moment are served one after the
other: the first gets the place, the second the waiting list. The bookings' trigger keeps the
period's counters and its ``CHECK (taken <= places)`` refuses any write that would overbook,
whatever code path it came from (decision 0019).

A booking that gives up its place (cancelled, or its measure aborted) hands the place to the
first booking on the waiting list, in the same transaction: that booking is marked
``promoted_at`` and its measure moves from planned to registered.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.plans.models import Booking, BookingStatus, Measure, MeasureStatus, Period
from filum.plans.models.catalogue import ACTIVE_BOOKING
from filum.tenancy.policy import Actor


def with_position(bookings: QuerySet[Booking]) -> QuerySet[Booking]:
    """Annotate ``position``: a waiting booking's place in its period's waiting list (1 is
    next), computed in SQL from the list's order (booked at, then id)."""
    ahead = (
        Booking.objects.filter(period=OuterRef("period"), status=BookingStatus.WAITING)
        .filter(
            Q(queued_at__lt=OuterRef("queued_at"))
            | Q(queued_at=OuterRef("queued_at"), pk__lt=OuterRef("pk"))
        )
        .order_by()
        .values("period")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return bookings.annotate(position=Coalesce(Subquery(ahead), Value(0)) + 1)


def waiting_position(booking: Booking) -> int:
    """A booking's place in its period's waiting list (0 when it does not wait)."""
    if booking.status != BookingStatus.WAITING:
        return 0
    found = with_position(Booking.objects.filter(pk=booking.pk)).first()
    return int(getattr(found, "position", 0))


def active_booking(measure: Measure) -> Booking | None:
    """The measure's booking that holds a place or waits for one, with its position."""
    return (
        with_position(Booking.objects.filter(measure=measure, status__in=ACTIVE_BOOKING))
        .select_related("period__programme__provider")
        .first()
    )


def _locked_periods(ids: Iterable[int]) -> dict[int, Period]:
    """Lock the periods' rows, always in the order of their ids (no deadlock between two
    transactions that lock the same two periods)."""
    rows = (
        Period.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(set(ids)))
        .select_related("programme__provider")
        .order_by("pk")
    )
    return {period.pk: period for period in rows}


def _fill_free_places(period_id: int, now: datetime.datetime) -> list[Booking]:
    """Give the period's free places to the first bookings on its waiting list. The caller
    holds the period's lock."""
    places, taken = Period.objects.filter(pk=period_id).values_list("places", "taken").get()
    free = places - taken
    if free <= 0:
        return []
    moved = list(
        Booking.objects.select_for_update()
        .filter(period_id=period_id, status=BookingStatus.WAITING)
        .order_by("queued_at", "pk")[:free]
    )
    if not moved:
        return []
    Booking.objects.filter(pk__in=[b.pk for b in moved]).update(
        status=BookingStatus.PLACED, placed_at=now, promoted_at=now
    )
    Measure.objects.filter(
        pk__in=[b.measure_id for b in moved], status=MeasureStatus.PLANNED
    ).update(status=MeasureStatus.REGISTERED, version=F("version") + 1)
    return moved


def _give_up(booking: Booking, now: datetime.datetime) -> list[Booking]:
    """Cancel a booking whose period the caller has locked; a freed place goes to the
    waiting list. Returns the bookings that moved up."""
    had_place = booking.status == BookingStatus.PLACED
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED, cancelled_at=now)
    booking.status, booking.cancelled_at = BookingStatus.CANCELLED, now
    return _fill_free_places(booking.period_id, now) if had_place else []


def release_measure_booking(
    measure: Measure, now: datetime.datetime
) -> tuple[Booking | None, list[Booking]]:
    """Cancel the measure's active booking, if any (its measure is aborted or leaves the
    programme). Runs inside the caller's transaction, which holds the measure's lock; returns
    the cancelled booking (as it was) and the bookings that moved up."""
    current = Booking.objects.filter(measure=measure, status__in=ACTIVE_BOOKING).first()
    if current is None:
        return None, []
    _locked_periods([current.period_id])
    # a promotion may have given it a place while we waited for the lock
    current.refresh_from_db(fields=["status", "placed_at"])
    released = Booking(pk=current.pk, period_id=current.period_id, status=current.status)
    return released, _give_up(current, now)


def do_book_measure(*, actor: Actor, measure: Measure, period: Period) -> Booking:
    """Book the measure into the period: a place if one is free, else the waiting list. A
    measure already booked elsewhere moves (its old place goes to that period's waiting list).
    The measure takes the period's programme, provider and, where empty, its dates."""
    today = timezone.localdate()
    with transaction.atomic():
        measure = (
            Measure.objects.select_for_update(of=("self",))
            .select_related("case__owner")
            .get(pk=measure.pk)
        )
        if not measure.case.is_open:
            raise ValidationError(_("The dossier is closed."))
        if not measure.may_book:
            raise ValidationError(_("Only a planned or registered measure can book a place."))
        current = Booking.objects.filter(measure=measure, status__in=ACTIVE_BOOKING).first()
        ids = [period.pk] + ([current.period_id] if current else [])
        periods = _locked_periods(ids)
        target = periods.get(period.pk)
        if target is None:
            raise ValidationError(_("This period no longer exists."))
        programme = target.programme
        if programme.canton != measure.case.owner.canton or not programme.is_active:
            raise ValidationError(_("This programme is not in the dossier's catalogue."))
        if target.ends_on < today:
            raise ValidationError(_("This period has ended."))
        if current is not None and current.period_id == target.pk:
            raise ValidationError(_("The measure is already booked into this period."))
        now = timezone.now()
        if current is not None:
            _give_up(current, now)
            target.refresh_from_db(fields=["taken", "waiting"])
        has_place = target.taken < target.places
        booking = Booking.objects.create(
            period=target,
            measure=measure,
            case_id=measure.case_id,
            owner_id=measure.owner_id,
            status=BookingStatus.PLACED if has_place else BookingStatus.WAITING,
            queued_at=now,
            placed_at=now if has_place else None,
            booked_by=actor.user,
            booked_by_org_id=actor.organisation_id,
        )
        measure.programme = programme
        measure.provider = programme.provider
        measure.provider_name = ""
        measure.planned_start = measure.planned_start or target.starts_on
        measure.planned_end = measure.planned_end or target.ends_on
        if measure.planned_end < measure.planned_start:
            measure.planned_end = target.ends_on
        if has_place and measure.status == MeasureStatus.PLANNED:
            measure.status = MeasureStatus.REGISTERED
        elif not has_place and measure.status == MeasureStatus.REGISTERED:
            measure.status = MeasureStatus.PLANNED
        measure.version += 1
        measure.save(
            update_fields=[
                "programme",
                "provider",
                "provider_name",
                "planned_start",
                "planned_end",
                "status",
                "version",
                "updated_at",
            ]
        )
    return booking


def do_cancel_booking(*, actor: Actor, measure: Measure) -> list[Booking]:
    """Cancel the measure's booking: a held place goes to the first on the waiting list, and a
    measure that had a place is planned again. Returns the bookings that moved up."""
    with transaction.atomic():
        measure = Measure.objects.select_for_update(of=("self",)).get(pk=measure.pk)
        if not measure.may_book:
            raise ValidationError(_("Only a planned or registered measure can give up its place."))
        released, moved = release_measure_booking(measure, timezone.now())
        if released is None:
            raise ValidationError(_("The measure has no booking."))
        if released.status == BookingStatus.PLACED and measure.status == MeasureStatus.REGISTERED:
            Measure.objects.filter(pk=measure.pk).update(
                status=MeasureStatus.PLANNED, version=F("version") + 1
            )
    return moved


def refill_period(period_id: int) -> list[Booking]:
    """After a period gained places: hand them to its waiting list (caller's transaction)."""
    _locked_periods([period_id])
    return _fill_free_places(period_id, timezone.now())
