"""The provider catalogue (I2) and the plan templates (I1) of the actor's canton: read by the
canton's organisations, kept by its integration office."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from filum.plans import catalogue
from filum.plans.catalogue import Cursor
from filum.plans.forms import (
    MilestoneRuleForm,
    PeriodForm,
    ProgrammeForm,
    ProviderForm,
    TemplateForm,
)
from filum.plans.models import Category, MilestoneRule, Period, PlanTemplate, Programme, Provider
from filum.plans.permissions import (
    get_period_for_actor,
    get_programme_for_actor,
    get_provider_for_actor,
    get_template_for_actor,
)
from filum.tenancy.policy import ActorRequest, requires
from filum.web.forms import add_service_errors
from filum.web.once import once_per_token


def _status(request: ActorRequest) -> int:
    return 400 if request.method == "POST" else 200


@requires("catalogue.read")
def catalogue_list(request: ActorRequest) -> HttpResponse:
    """The canton's programmes with their current periods and free places, by name."""
    actor = request.actor
    category = request.GET.get("category", "")
    if category not in Category.values:
        category = ""
    page = catalogue.catalogue_page(
        canton=actor.organisation.canton,
        category=category,
        cursor=Cursor.parse(request.GET.get("after", "")),
    )
    context = {
        "page": page,
        "category": category,
        "categories": Category.choices,
        "can_manage": actor.may("catalogue.manage"),
    }
    return render(request, "plans/catalogue.html", context)


@requires("catalogue.read")
def programme_detail(request: ActorRequest, programme_id: int) -> HttpResponse:
    programme = get_programme_for_actor(request=request, programme_id=programme_id)
    context = {
        "programme": programme,
        "periods": catalogue.current_periods(programme),
        "can_manage": request.actor.may("catalogue.manage"),
    }
    return render(request, "plans/programme_detail.html", context)


@requires("catalogue.manage")
def provider_list(request: ActorRequest) -> HttpResponse:
    providers, next_cursor = catalogue.providers_page(
        canton=request.actor.organisation.canton,
        cursor=Cursor.parse(request.GET.get("after", "")),
    )
    return render(
        request, "plans/provider_list.html", {"providers": providers, "next_cursor": next_cursor}
    )


def _keep(
    request: ActorRequest,
    form: forms.BaseForm,
    save: Callable[[dict[str, Any]], Any],
    *,
    saved: str,
    title: str,
    back: str,
    then: Callable[[Any], HttpResponse],
) -> HttpResponse:
    """The shape of the office's forms: validate, save through the service, say so and go on;
    otherwise show the form again with its errors."""
    if request.method == "POST" and form.is_valid():
        try:
            kept = save(form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, saved)
            return then(kept)
    return render(
        request,
        "plans/catalogue_form.html",
        {"form": form, "title": title, "back": back},
        status=_status(request),
    )


def _provider_form(request: ActorRequest, provider: Provider | None) -> HttpResponse:
    return _keep(
        request,
        ProviderForm(request.POST or None, instance=provider),
        lambda data: catalogue.do_save_provider(actor=request.actor, provider=provider, data=data),
        saved=_("The provider was saved."),
        title=_("Provider"),
        back="provider_list",
        then=lambda _kept: redirect("provider_list"),
    )


@requires("catalogue.manage")
@once_per_token
def provider_create(request: ActorRequest) -> HttpResponse:
    return _provider_form(request, None)


@requires("catalogue.manage")
def provider_edit(request: ActorRequest, provider_id: int) -> HttpResponse:
    return _provider_form(request, get_provider_for_actor(request=request, provider_id=provider_id))


def _programme_form(request: ActorRequest, programme: Programme | None) -> HttpResponse:
    canton = request.actor.organisation.canton
    return _keep(
        request,
        ProgrammeForm(request.POST or None, instance=programme, canton=canton),
        lambda data: catalogue.do_save_programme(
            actor=request.actor, programme=programme, data=data
        ),
        saved=_("The programme was saved."),
        title=_("Programme"),
        back="catalogue",
        then=lambda kept: redirect("programme_detail", programme_id=kept.pk),
    )


@requires("catalogue.manage")
@once_per_token
def programme_create(request: ActorRequest) -> HttpResponse:
    return _programme_form(request, None)


@requires("catalogue.manage")
def programme_edit(request: ActorRequest, programme_id: int) -> HttpResponse:
    programme = get_programme_for_actor(request=request, programme_id=programme_id)
    return _programme_form(request, programme)


def _period_form(
    request: ActorRequest, programme: Programme, period: Period | None
) -> HttpResponse:
    initial: dict[str, Any] = {}
    if period is not None:
        initial = {
            "starts_on": period.starts_on,
            "ends_on": period.ends_on,
            "places": period.places,
            "note": period.note,
        }
    form = PeriodForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            _saved, moved = catalogue.do_save_period(
                actor=request.actor, programme=programme, period=period, data=form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The period was saved."))
            if moved:
                messages.info(
                    request,
                    ngettext(
                        "%(count)d booking moved up from the waiting list.",
                        "%(count)d bookings moved up from the waiting list.",
                        len(moved),
                    )
                    % {"count": len(moved)},
                )
            return redirect("programme_detail", programme_id=programme.pk)
    return render(
        request,
        "plans/period_form.html",
        {"form": form, "programme": programme, "period": period},
        status=_status(request),
    )


@requires("catalogue.manage")
@once_per_token
def period_create(request: ActorRequest, programme_id: int) -> HttpResponse:
    programme = get_programme_for_actor(request=request, programme_id=programme_id)
    return _period_form(request, programme, None)


@requires("catalogue.manage")
def period_edit(request: ActorRequest, period_id: int) -> HttpResponse:
    period = get_period_for_actor(request=request, period_id=period_id)
    return _period_form(request, period.programme, period)


@requires("template.manage")
def plan_templates(request: ActorRequest) -> HttpResponse:
    templates = catalogue.templates_for(request.actor.organisation.canton, active_only=False)
    return render(request, "plans/template_list.html", {"templates": templates})


def _template_form(request: ActorRequest, template: PlanTemplate | None) -> HttpResponse:
    initial: dict[str, Any] = {"is_active": True}
    if template is not None:
        initial = {
            "name": template.name,
            "goals": template.goals,
            "categories": template.categories,
            "is_active": template.is_active,
        }
    return _keep(
        request,
        TemplateForm(request.POST or None, initial=initial),
        lambda data: catalogue.do_save_template(actor=request.actor, template=template, data=data),
        saved=_("The plan template was saved."),
        title=_("Plan template"),
        back="plan_templates",
        then=lambda _kept: redirect("plan_templates"),
    )


@requires("template.manage")
@once_per_token
def plan_template_create(request: ActorRequest) -> HttpResponse:
    return _template_form(request, None)


@requires("template.manage")
def plan_template_edit(request: ActorRequest, template_id: int) -> HttpResponse:
    return _template_form(request, get_template_for_actor(request=request, template_id=template_id))


@requires("template.manage")
@once_per_token
def milestone_rules(request: ActorRequest) -> HttpResponse:
    """The AIS milestones as the canton's dossiers see them (decision 0021): the rows for every
    canton and the canton's own, newest first; a new row changes a milestone from its date."""
    canton = request.actor.organisation.canton
    form = MilestoneRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.do_add_milestone_rule(actor=request.actor, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The milestone rule was saved."))
            return redirect("milestone_rules")
    rows = MilestoneRule.objects.filter(canton__in=["", canton]).order_by(
        "key", "-valid_from", "canton"
    )
    return render(
        request,
        "plans/milestone_rules.html",
        {"rules": list(rows), "form": form, "canton": canton},
        status=_status(request),
    )
