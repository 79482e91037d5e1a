"""Plausible bounds of legal dates, and date arithmetic that never overflows.

One small place for both, called by the forms, the services, the models' check constraints
and the rules engine (docs/decisions/0008-plausible-dates.md):

* A birth date lies from ``BIRTH_FLOOR`` (1900) to today; every other legal date from
  ``DATE_FLOOR`` (1950) to one year ahead of today (``latest_allowed``), and a dossier's dates
  never before its opening.
* The database checks the fixed bounds (``STORED_CEILING`` stands in for "a year ahead", which a
  CHECK cannot say); the relative ones are checked by forms and services.
* ``add_days`` and ``add_months`` clamp to ``date.min``/``date.max`` instead of raising
  ``OverflowError``/``ValueError``, so whatever is stored can be evaluated.

Nothing here touches the database or the clock: ``today`` is always given by the caller.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

BIRTH_FLOOR = datetime.date(1900, 1, 1)
DATE_FLOOR = datetime.date(1950, 1, 1)
# Exclusive upper bound of every stored date: far enough never to refuse a real date, near
# enough that month and day arithmetic on it stays far from ``date.max``.
STORED_CEILING = datetime.date(2200, 1, 1)
AHEAD_MONTHS = 12


def add_days(day: datetime.date, days: int) -> datetime.date:
    """``day + days``, clamped to the representable range."""
    ordinal = day.toordinal() + days
    return datetime.date.fromordinal(
        min(max(ordinal, datetime.date.min.toordinal()), datetime.date.max.toordinal())
    )


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by whole calendar months, the day clamped to the target month's length,
    the result clamped to the representable range."""
    index = day.year * 12 + day.month - 1 + months
    if index < datetime.MINYEAR * 12:
        return datetime.date.min
    if index >= (datetime.MAXYEAR + 1) * 12:
        return datetime.date.max
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


def latest_allowed(today: datetime.date) -> datetime.date:
    """The latest legal date entered on ``today``: one year ahead."""
    return add_months(today, AHEAD_MONTHS)


def is_storable(day: datetime.date | None, *, birth: bool = False) -> bool:
    """Whether a stored date lies within the fixed bounds the database checks."""
    return day is None or (BIRTH_FLOOR if birth else DATE_FLOOR) <= day < STORED_CEILING


def _text(day: datetime.date) -> str:
    return f"{day:%d.%m.%Y}"


def date_error(
    value: datetime.date,
    *,
    today: datetime.date,
    birth: bool = False,
    future: bool = True,
    opened_on: datetime.date | None = None,
) -> str | None:
    """What is wrong with a date typed in, in the active language, or None.

    ``birth`` lowers the floor to 1900; ``future=False`` ends the range today instead of a year
    ahead; ``opened_on`` (the dossier's opening) raises the floor."""
    floor = BIRTH_FLOOR if birth else DATE_FLOOR
    if value < floor:
        return str(_("Enter a date from %(date)s on.") % {"date": _text(floor)})
    if opened_on is not None and value < opened_on:
        return str(
            _("The date cannot be before the dossier's opening on %(date)s.")
            % {"date": _text(opened_on)}
        )
    if not future and value > today:
        return str(_("The date cannot be in the future."))
    latest = latest_allowed(today)
    if value > latest:
        return str(_("Enter a date up to %(date)s.") % {"date": _text(latest)})
    return None


def check_dates(
    fields: dict[str, datetime.date | None], *, today: datetime.date, **rules: Any
) -> None:
    """Raise a ValidationError naming each field whose date ``date_error`` refuses (for the
    services, which may be called without a form)."""
    errors = {
        name: message
        for name, value in fields.items()
        if value is not None and (message := date_error(value, today=today, **rules))
    }
    if errors:
        raise ValidationError(errors)


@deconstructible
class LegalDateValidator:
    """A form field validator applying ``date_error`` with the day the form was built."""

    def __init__(self, *, today: datetime.date, **rules: Any) -> None:
        self.today = today
        self.rules = rules

    def __call__(self, value: datetime.date) -> None:
        message = date_error(value, today=self.today, **self.rules)
        if message:
            raise ValidationError(message, code="date_out_of_range")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LegalDateValidator) and (self.today, self.rules) == (
            other.today,
            other.rules,
        )

    def bounds(self) -> tuple[datetime.date, datetime.date]:
        """The first and last day accepted, for the date picker."""
        floor = BIRTH_FLOOR if self.rules.get("birth") else DATE_FLOOR
        opened_on = self.rules.get("opened_on")
        if opened_on is not None:
            floor = max(floor, opened_on)
        latest = latest_allowed(self.today)
        if self.rules.get("future") is False:
            latest = min(latest, self.today)
        return floor, latest


def stored_range(field: str, *, name: str, birth: bool = False) -> models.CheckConstraint:
    """The CHECK constraint that keeps a date column within the fixed bounds."""
    floor = BIRTH_FLOOR if birth else DATE_FLOOR
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True})
        | Q(**{f"{field}__gte": floor, f"{field}__lt": STORED_CEILING}),
        name=name,
    )


def not_before(field: str, start: str, *, name: str) -> models.CheckConstraint:
    """The CHECK constraint that a date of a row is not before another date of the same row."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": models.F(start)}),
        name=name,
    )
