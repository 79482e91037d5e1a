"""The doors to plans and to the catalogue (decision 0012, decision 0019).

A plan, its goals, measures and their documents are the dossier's ``plan`` section: they are
reached only through ``get_case_for_actor`` with ``need="plan"``, so a partner sees them only
through a share of that section, and writes them only through a write share. Missing and
forbidden both answer 404 (R12); the refused dossier leaves a security event (R14).

The catalogue belongs to a canton: its providers, programmes, periods and plan templates are
read by the organisations of that canton (``catalogue.read``) and kept by its integration
office (``catalogue.manage``, ``template.manage``). An object of another canton answers 404
and leaves a security event, like a dossier of another organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from django.db.models import QuerySet
from django.http import Http404

from filum.cases.models import Case
from filum.cases.permissions import CaseAccess, get_case_for_actor, record_reads
from filum.plans.models import Measure, Period, Plan, PlanGoal, PlanTemplate, Programme, Provider
from filum.records.services import refuse
from filum.tenancy.policy import ActorRequest, Section

PLAN = (Section.PLAN,)


@dataclass(frozen=True)
class PlanAccess:
    """A dossier reached through its plan section, with its plan (None before it is made)."""

    access: CaseAccess
    plan: Plan | None

    @property
    def case(self) -> Case:
        return self.access.case

    @property
    def can_write(self) -> bool:
        """Whether the actor may change the plan now: a write right on the plan section of
        an open dossier."""
        return self.access.can_write(Section.PLAN) and self.case.is_open


def get_plan_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    write: bool = False,
    reads: Iterable[str] = PLAN,
) -> PlanAccess:
    """The dossier's plan section (and its plan, if made) for the actor; logs ``reads``."""
    access = get_case_for_actor(
        request=request, case_id=case_id, need=Section.PLAN, write=write, reads=reads
    )
    plan = Plan.objects.filter(case=access.case).select_related("template").first()
    if plan is not None:
        plan.case = access.case
    return PlanAccess(access=access, plan=plan)


_Object = TypeVar("_Object", Measure, PlanGoal)


def _in_plan(
    request: ActorRequest,
    *,
    case_id: uuid.UUID,
    objects: QuerySet[_Object],
    pk: int,
    write: bool,
    reads: Iterable[str],
) -> tuple[_Object, PlanAccess]:
    """An object of the dossier's plan, reached through the dossier's plan section; the read
    is logged only once the object is found."""
    access = get_case_for_actor(request=request, case_id=case_id, need=Section.PLAN, write=write)
    found = objects.filter(pk=pk, case_id=case_id).first()
    if found is None:
        raise Http404
    found.plan.case = access.case
    record_reads(request, access, reads)
    return found, PlanAccess(access=access, plan=found.plan)


def get_measure_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    measure_id: int,
    write: bool = False,
    reads: Iterable[str] = (),
) -> tuple[Measure, PlanAccess]:
    """A measure of the dossier's plan."""
    measures = Measure.objects.select_related("plan", "programme__provider", "provider")
    return _in_plan(
        request, case_id=case_id, objects=measures, pk=measure_id, write=write, reads=reads
    )


def get_goal_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    goal_id: int,
    write: bool = False,
    reads: Iterable[str] = (),
) -> tuple[PlanGoal, PlanAccess]:
    """A goal of the dossier's plan."""
    goals = PlanGoal.objects.select_related("plan")
    return _in_plan(request, case_id=case_id, objects=goals, pk=goal_id, write=write, reads=reads)


class _CantonObject(Protocol):
    pk: int
    owner_id: int


def _in_actor_canton(
    request: ActorRequest, obj: _CantonObject, canton: str, object_type: str
) -> None:
    if canton != request.actor.organisation.canton:
        refuse(request, object_type, obj.pk, owner_id=obj.owner_id)


def get_provider_for_actor(*, request: ActorRequest, provider_id: int) -> Provider:
    provider = Provider.objects.filter(pk=provider_id).first()
    if provider is None:
        raise Http404
    _in_actor_canton(request, provider, provider.canton, "provider")
    return provider


def get_programme_for_actor(*, request: ActorRequest, programme_id: int) -> Programme:
    programme = Programme.objects.filter(pk=programme_id).select_related("provider").first()
    if programme is None:
        raise Http404
    _in_actor_canton(request, programme, programme.canton, "programme")
    return programme


def get_period_for_actor(*, request: ActorRequest, period_id: int) -> Period:
    period = Period.objects.filter(pk=period_id).select_related("programme__provider").first()
    if period is None:
        raise Http404
    _in_actor_canton(request, period, period.programme.canton, "period")
    return period


def get_template_for_actor(*, request: ActorRequest, template_id: int) -> PlanTemplate:
    template = PlanTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise Http404
    _in_actor_canton(request, template, template.canton, "template")
    return template
