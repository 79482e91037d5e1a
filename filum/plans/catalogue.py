"""The catalogue as a page (I2) and its keeping by the canton's integration office.

The catalogue page follows decision 0015: one ordered keyset query on the canton's active
programmes (index ``programme_catalogue``), then one query for the current periods of the
page's programmes, whose free places come from the kept counters: two queries whatever the
size of the catalogue.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.plans.booking import refill_period
from filum.plans.models import (
    Booking,
    Category,
    MilestoneRule,
    Period,
    PlanTemplate,
    Programme,
    Provider,
)
from filum.tenancy.policy import Actor

PAGE_SIZE = 50


@dataclass(frozen=True)
class Cursor:
    """Where a page of a list ordered by (name, id) continues."""

    name: str
    pk: int

    def __str__(self) -> str:
        return f"{self.pk}_{self.name}"

    @classmethod
    def parse(cls, value: str) -> Cursor | None:
        number, _sep, name = value.partition("_")
        try:
            pk = int(number)
        except ValueError:
            return None
        if not 0 < pk < 2**31 or not name or len(name) > 200:
            return None
        return cls(name=name, pk=pk)


@dataclass
class CatalogueRow:
    programme: Programme
    periods: list[Period] = field(default_factory=list)
    # looked up once per page: ``get_category_display`` translates the whole list per call
    category_label: str = ""


@dataclass(frozen=True)
class CataloguePage:
    rows: list[CatalogueRow]
    next_cursor: Cursor | None


def catalogue_page(
    *,
    canton: str,
    category: str = "",
    cursor: Cursor | None = None,
    today: datetime.date | None = None,
    size: int = PAGE_SIZE,
) -> CataloguePage:
    """A page of the canton's active programmes by name, each with its periods that have not
    ended and their free places."""
    today = today or timezone.localdate()
    programmes = Programme.objects.filter(canton=canton, is_active=True)
    if category in Category.values:
        programmes = programmes.filter(category=category)
    if cursor is not None:
        programmes = programmes.filter(
            Q(name__gt=cursor.name) | Q(name=cursor.name, pk__gt=cursor.pk)
        )
    found = list(programmes.select_related("provider").order_by("name", "pk")[: size + 1])
    next_cursor = None
    if len(found) > size:
        found = found[:size]
        next_cursor = Cursor(name=found[-1].name, pk=found[-1].pk)
    labels = {value: str(label) for value, label in Category.choices}
    rows = {
        programme.pk: CatalogueRow(
            programme, category_label=labels.get(programme.category, programme.category)
        )
        for programme in found
    }
    if rows:
        for period in Period.objects.filter(programme_id__in=rows, ends_on__gte=today).order_by(
            "programme_id", "starts_on", "pk"
        ):
            rows[period.programme_id].periods.append(period)
    return CataloguePage(rows=list(rows.values()), next_cursor=next_cursor)


def providers_page(*, canton: str, cursor: Cursor | None = None) -> tuple[list[Provider], Any]:
    providers = Provider.objects.filter(canton=canton)
    if cursor is not None:
        providers = providers.filter(
            Q(name__gt=cursor.name) | Q(name=cursor.name, pk__gt=cursor.pk)
        )
    found = list(providers.order_by("name", "pk")[: PAGE_SIZE + 1])
    if len(found) > PAGE_SIZE:
        found = found[:PAGE_SIZE]
        return found, Cursor(name=found[-1].name, pk=found[-1].pk)
    return found, None


def current_periods(programme: Programme, *, today: datetime.date | None = None) -> list[Period]:
    """The programme's periods that have not ended, with their counters."""
    today = today or timezone.localdate()
    return list(programme.periods.filter(ends_on__gte=today).order_by("starts_on", "pk"))


# --- keeping the catalogue (catalogue.manage) ------------------------------------------------


def _save_named(obj: Provider | Programme | PlanTemplate, message: str) -> None:
    """Save an object whose name is unique in its scope: a name taken meanwhile (the form
    checked it before) becomes the form's message instead of an error page."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        if "unique" not in str(exc):
            raise
        raise ValidationError({"name": message}) from exc


def do_save_provider(*, actor: Actor, provider: Provider | None, data: dict[str, Any]) -> Provider:
    """Create (``provider=None``) or change a provider of the actor's canton."""
    if provider is None:
        provider = Provider(owner_id=actor.organisation_id, canton=actor.organisation.canton)
    for name in ("name", "kind", "contact_name", "email", "phone", "address", "is_active"):
        setattr(provider, name, data[name])
    _save_named(provider, _("The catalogue already has a provider of this name."))
    return provider


def do_save_programme(
    *, actor: Actor, programme: Programme | None, data: dict[str, Any]
) -> Programme:
    """Create or change a programme; its provider must be of the actor's canton."""
    provider: Provider = data["provider"]
    if provider.canton != actor.organisation.canton:
        raise ValidationError({"provider": _("Choose a provider of your canton's catalogue.")})
    if programme is None:
        programme = Programme(owner_id=actor.organisation_id)
    programme.provider = provider
    programme.canton = provider.canton
    for name in ("name", "category", "description", "is_active"):
        setattr(programme, name, data[name])
    programme.cost_per_place = Decimal(data["cost_per_place"])
    _save_named(programme, _("This provider already has a programme of this name."))
    return programme


def do_save_period(
    *, actor: Actor, programme: Programme, period: Period | None, data: dict[str, Any]
) -> tuple[Period, list[Booking]]:
    """Create or change a period. Its places cannot drop below the places already taken;
    places added go to the waiting list at once. Returns the bookings that moved up."""
    with transaction.atomic():
        if period is None:
            period = Period(owner_id=actor.organisation_id, programme=programme)
        else:
            period = Period.objects.select_for_update().get(pk=period.pk)
            if data["places"] < period.taken:
                raise ValidationError(
                    {
                        "places": _(
                            "%(taken)s places are taken: the period needs at least as many."
                        )
                        % {"taken": period.taken}
                    }
                )
        for name in ("starts_on", "ends_on", "places", "note"):
            setattr(period, name, data[name])
        period.save()
        moved = refill_period(period.pk) if period.waiting else []
    return period, moved


def do_save_template(
    *, actor: Actor, template: PlanTemplate | None, data: dict[str, Any]
) -> PlanTemplate:
    """Create or change a plan template of the actor's canton (I1)."""
    if template is None:
        template = PlanTemplate(owner_id=actor.organisation_id, canton=actor.organisation.canton)
    template.name = data["name"]
    template.goals = list(data["goals"])
    template.categories = list(data["categories"])
    template.is_active = data["is_active"]
    _save_named(template, _("Your canton already has a template of this name."))
    return template


def templates_for(canton: str, *, active_only: bool = True) -> Sequence[PlanTemplate]:
    templates = PlanTemplate.objects.filter(canton=canton)
    if active_only:
        templates = templates.filter(is_active=True)
    return list(templates.order_by("name", "pk"))


def do_add_milestone_rule(*, actor: Actor, data: dict[str, Any]) -> MilestoneRule:
    """A new milestone rule of the actor's canton, valid from its date (decision 0021)."""
    rule = MilestoneRule(canton=actor.organisation.canton, created_by=actor.user, **data)
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"valid_from": _("Your canton already has a rule for this milestone from this date.")}
        ) from exc
    # the kept lights take it up with the nightly run (decision 0021)
    return rule
