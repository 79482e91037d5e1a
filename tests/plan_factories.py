"""Making catalogue and plan objects for tests: a provider with a programme and a period, a
dossier's plan with measures (filum.plans)."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from filum.cases.models import Case
from filum.plans.models import (
    Measure,
    Period,
    Plan,
    PlanGoal,
    PlanTemplate,
    Programme,
    Provider,
)
from filum.plans.models.plan import ULTIMATE_KEY
from filum.tenancy.models import Organisation, User

_numbers = itertools.count(1)


def provider(owner: Organisation, *, name: str = "", canton: str = "", **kw: Any) -> Provider:
    return Provider.objects.create(
        owner=owner,
        canton=canton or owner.canton,
        name=name or f"Prestataire {next(_numbers)}",
        kind=kw.pop("kind", "association"),
        **kw,
    )


def programme(
    owner: Organisation,
    *,
    name: str = "",
    category: str = "language_course",
    of: Provider | None = None,
    cost: str = "1200.00",
    **kw: Any,
) -> Programme:
    of = of or provider(owner)
    return Programme.objects.create(
        owner=owner,
        canton=of.canton,
        provider=of,
        name=name or f"Programme {next(_numbers)}",
        category=category,
        cost_per_place=Decimal(cost),
        **kw,
    )


def period(
    of: Programme, *, places: int = 2, starts_in: int = 10, days: int = 60, **kw: Any
) -> Period:
    today = timezone.localdate()
    start = today + datetime.timedelta(days=starts_in)
    return Period.objects.create(
        owner_id=of.owner_id,
        programme=of,
        starts_on=start,
        ends_on=start + datetime.timedelta(days=days),
        places=places,
        **kw,
    )


def plan(case: Case, by: User, *, goals: tuple[str, ...] = ("orientation",)) -> Plan:
    made = Plan.objects.create(case=case, owner_id=case.owner_id, created_by=by)
    for key in (ULTIMATE_KEY, *goals):
        PlanGoal.objects.create(plan=made, case=case, owner_id=case.owner_id, key=key)
    return made


def measure(of: Plan, by: User, *, title: str = "", **kw: Any) -> Measure:
    return Measure.objects.create(
        plan=of,
        case_id=of.case_id,
        owner_id=of.owner_id,
        title=title or f"Mesure {next(_numbers)}",
        category=kw.pop("category", "language_course"),
        created_by=by,
        created_by_org_id=of.owner_id,
        **kw,
    )


def template(owner: Organisation, *, name: str = "Modèle AIS", **kw: Any) -> PlanTemplate:
    return PlanTemplate.objects.create(owner=owner, canton=owner.canton, name=name, **kw)
