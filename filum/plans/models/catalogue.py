"""The canton's provider catalogue (I2): providers, their programmes, the periods in which a
programme runs with a number of places, and the bookings of measures into those places.

A period keeps two counters, ``taken`` (bookings holding a place) and ``waiting`` (bookings
on its waiting list). A trigger on the bookings keeps them in step in the writing
transaction, and ``CHECK (taken <= places)`` is the last guard against overbooking: however a
booking is written, a period can never hold more bookings than places
(docs/decisions/0019-plans-and-catalogue.md).
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case
from filum.dates import stored_range
from filum.records.tracking import audited
from filum.tenancy.models import Organisation


class ProviderKind(models.TextChoices):
    PUBLIC = "public", _("Public body")
    ASSOCIATION = "association", _("Association or foundation")
    SCHOOL = "school", _("School")
    COMPANY = "company", _("Company")


class Category(models.TextChoices):
    """The kinds of measures, for programmes and for measures outside the catalogue."""

    LANGUAGE_COURSE = "language_course", _("Language course")
    JOB_COACHING = "job_coaching", _("Job coaching")
    WORK_PLACEMENT = "work_placement", _("Work placement")
    TRAINING = "training", _("Training")
    HEALTH = "health", _("Health")
    SOCIAL_INTEGRATION = "social_integration", _("Social integration")
    OTHER = "other", _("Other")


@audited()
class Provider(models.Model):
    """An organisation that runs integration programmes, in one canton's catalogue. It is kept
    by the canton's integration office (``owner``); it has no account in Filum."""

    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("kept by")
    )
    canton = models.CharField(_("canton"), max_length=2)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=ProviderKind.choices)
    contact_name = models.CharField(_("contact person"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("telephone"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        constraints = [
            models.UniqueConstraint(
                fields=["canton", "name"],
                name="provider_unique_name",
                violation_error_message=_("The catalogue already has a provider of this name."),
            ),
            models.CheckConstraint(condition=~Q(name=""), name="provider_has_name"),
        ]
        indexes = [models.Index(fields=["canton", "name", "id"], name="provider_by_canton")]

    def __str__(self) -> str:
        return self.name


@audited()
class Programme(models.Model):
    """What a provider offers: a course, a coaching, a placement, at a cost per place."""

    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("kept by")
    )
    # The provider's canton, kept here so the catalogue reads one index in its order.
    canton = models.CharField(_("canton"), max_length=2)
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="programmes", verbose_name=_("provider")
    )
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    description = models.TextField(_("description"), blank=True)
    cost_per_place = models.DecimalField(_("cost per place (CHF)"), max_digits=9, decimal_places=2)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "name"],
                name="programme_unique_name",
                violation_error_message=_("This provider already has a programme of this name."),
            ),
            models.CheckConstraint(condition=~Q(name=""), name="programme_has_name"),
            models.CheckConstraint(
                condition=Q(cost_per_place__gte=0), name="programme_cost_not_negative"
            ),
        ]
        indexes = [
            # the catalogue page: a canton's active programmes by name, paged by keyset
            models.Index(
                fields=["canton", "name", "id"],
                condition=Q(is_active=True),
                name="programme_catalogue",
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="programme_in_its_providers_canton",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                func="""
                    IF NEW.canton IS DISTINCT FROM
                        (SELECT canton FROM plans_provider WHERE id = NEW.provider_id) THEN
                        RAISE EXCEPTION USING ERRCODE = 'check_violation',
                            MESSAGE = 'a programme lies in its provider''s canton';
                    END IF;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The counters are kept by the bookings' trigger: their changes are no edit of the period.
@audited(exclude=["taken", "waiting"])
class Period(models.Model):
    """One run of a programme (a course session, a placement period) with its places."""

    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("kept by")
    )
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="periods", verbose_name=_("programme")
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    places = models.PositiveIntegerField(_("places"))
    note = models.CharField(
        _("note"), max_length=200, blank=True, help_text=_("For example days and times.")
    )
    taken = models.IntegerField(_("places taken"), default=0)
    waiting = models.IntegerField(_("on the waiting list"), default=0)

    class Meta:
        ordering = ["starts_on", "id"]
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="period_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(places__gt=0), name="period_has_places"),
            # never over capacity, however a booking is written (I2)
            models.CheckConstraint(
                condition=Q(taken__gte=0, taken__lte=models.F("places")),
                name="period_not_overbooked",
            ),
            models.CheckConstraint(condition=Q(waiting__gte=0), name="period_waiting_count"),
            stored_range("starts_on", name="period_starts_on_range"),
            stored_range("ends_on", name="period_ends_on_range"),
        ]
        indexes = [
            models.Index(fields=["programme", "ends_on", "starts_on"], name="period_by_programme")
        ]

    def __str__(self) -> str:
        return f"{self.programme} {self.starts_on:%d.%m.%Y}–{self.ends_on:%d.%m.%Y}"

    @property
    def free(self) -> int:
        return max(self.places - self.taken, 0)

    @property
    def is_full(self) -> bool:
        return self.taken >= self.places

    @property
    def has_ended(self) -> bool:
        return self.ends_on < timezone.localdate()


class BookingStatus(models.TextChoices):
    PLACED = "placed", _("has a place")
    WAITING = "waiting", _("on the waiting list")
    CANCELLED = "cancelled", _("cancelled")


ACTIVE_BOOKING = (BookingStatus.PLACED, BookingStatus.WAITING)

# Keeps the period's counters in step with its bookings, in the writing transaction. The
# UPDATE of the period row also serialises concurrent bookings of one period, and its CHECK
# refuses the one that would overbook it.
_COUNTERS_SQL = """
    IF TG_OP = 'UPDATE' AND NEW.period_id <> OLD.period_id THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'a booking stays in its period';
    END IF;
    placed_delta := 0;
    waiting_delta := 0;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        placed_delta := placed_delta + (NEW.status = 'placed')::integer;
        waiting_delta := waiting_delta + (NEW.status = 'waiting')::integer;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        placed_delta := placed_delta - (OLD.status = 'placed')::integer;
        waiting_delta := waiting_delta - (OLD.status = 'waiting')::integer;
    END IF;
    IF placed_delta <> 0 OR waiting_delta <> 0 THEN
        UPDATE plans_period
           SET taken = taken + placed_delta, waiting = waiting + waiting_delta
         WHERE id = COALESCE(NEW.period_id, OLD.period_id);
    END IF;
    RETURN NULL;
"""


@audited(history_of="case")
class Booking(models.Model):
    """A measure's booking into a period: it holds a place, waits on the list, or was
    cancelled. A measure has at most one booking that holds or waits."""

    period = models.ForeignKey(
        Period, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("period")
    )
    measure = models.ForeignKey(
        "plans.Measure", on_delete=models.PROTECT, related_name="bookings", db_index=False
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=BookingStatus.choices)
    # the order of the waiting list
    queued_at = models.DateTimeField(_("booked at"), default=timezone.now)
    placed_at = models.DateTimeField(_("place since"), null=True, blank=True)
    # set when the booking got its place by moving up from the waiting list
    promoted_at = models.DateTimeField(_("moved up from the waiting list"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_by_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["queued_at", "id"]
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.UniqueConstraint(
                fields=["measure"],
                condition=Q(status__in=ACTIVE_BOOKING),
                name="booking_one_active_per_measure",
            ),
            models.CheckConstraint(
                condition=~Q(status=BookingStatus.PLACED) | Q(placed_at__isnull=False),
                name="booking_placed_has_date",
            ),
            models.CheckConstraint(
                condition=Q(status=BookingStatus.CANCELLED, cancelled_at__isnull=False)
                | ~Q(status=BookingStatus.CANCELLED) & Q(cancelled_at__isnull=True),
                name="booking_cancelled_has_date",
            ),
            models.CheckConstraint(
                condition=Q(promoted_at__isnull=True) | Q(placed_at__isnull=False),
                name="booking_promoted_was_placed",
            ),
        ]
        indexes = [
            # the waiting list of a period, in order
            models.Index(
                fields=["period", "queued_at", "id"],
                condition=Q(status=BookingStatus.WAITING),
                name="booking_waiting_list",
            ),
            models.Index(fields=["measure", "status"], name="booking_by_measure"),
            models.Index(fields=["case", "status"], name="booking_by_case"),
            # bookings an organisation's measures hold or wait for (cockpit, reminders)
            models.Index(
                fields=["owner", "status", "queued_at"],
                condition=Q(status__in=ACTIVE_BOOKING),
                name="booking_active_by_owner",
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="booking_keeps_period_counters",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                func=_COUNTERS_SQL,
                declare=[("placed_delta", "integer"), ("waiting_delta", "integer")],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BOOKING
