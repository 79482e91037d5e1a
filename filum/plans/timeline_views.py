"""A person's AIS timeline (I4, U1; decision 0021): from the arrival over 5 or 7 years,
measures as bars, assessments as points, situation changes and the milestones with their
state, drawn as SVG on the server and readable as a table; the small form that records a
situation change, and the page that marks one as recorded in error. All reach the dossier
through its ``plan`` section; the assessments are shown (and their read logged) only to those
who may read the ``assessment`` section."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.assessments.services import persons_of_case
from filum.cases.permissions import CaseAccess, get_case_for_actor, record_reads
from filum.people.models import Person
from filum.plans import services
from filum.plans.forms import SituationErrorForm, SituationForm
from filum.plans.models import Plan, SituationEntry
from filum.plans.timeline import build_timeline
from filum.tenancy.policy import ActorRequest, Section, requires
from filum.web.forms import add_service_errors
from filum.web.once import once_per_token


def _person_in_plan(
    request: ActorRequest, case_id: uuid.UUID, person_id: uuid.UUID, *, write: bool = False
) -> tuple[CaseAccess, Person]:
    """The dossier (through its plan section), one of its persons, and its plan: 404 when any
    is missing."""
    access = get_case_for_actor(request=request, case_id=case_id, need=Section.PLAN, write=write)
    person = next((p for p in persons_of_case(access.case) if p.pk == person_id), None)
    if person is None or not Plan.objects.filter(case_id=access.case.pk).exists():
        raise Http404
    return access, person


def _page(
    request: ActorRequest, access: CaseAccess, person: Person, form: SituationForm | None
) -> HttpResponse:
    timeline = build_timeline(access.case, person, timezone.localdate())
    show_assessments = access.can_read(Section.ASSESSMENT)
    if not show_assessments:
        timeline.assessments = []
    can_write = access.can_write(Section.PLAN) and access.case.is_open
    context = {
        "case": access.case,
        "person": person,
        "timeline": timeline,
        "can_write": can_write,
        "form": form or (SituationForm() if can_write else None),
        "show_assessments": show_assessments,
    }
    return render(
        request,
        "plans/person_timeline.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@requires("plan.read")
def person_timeline(
    request: ActorRequest, case_id: uuid.UUID, person_id: uuid.UUID
) -> HttpResponse:
    access, person = _person_in_plan(request, case_id, person_id)
    record_reads(request, access, (Section.PLAN, Section.ASSESSMENT))
    return _page(request, access, person, None)


@requires("plan.write")
@once_per_token
def situation_add(request: ActorRequest, case_id: uuid.UUID, person_id: uuid.UUID) -> HttpResponse:
    """Record a situation change of the person (POST from the timeline page)."""
    access, person = _person_in_plan(request, case_id, person_id, write=True)
    if request.method != "POST":
        return redirect("person_timeline", case_id=case_id, person_id=person_id)
    form = SituationForm(request.POST)
    if form.is_valid():
        kind, value = form.situation_data()
        try:
            services.do_record_situation(
                actor=request.actor,
                case=access.case,
                person=person,
                kind=kind,
                value=value,
                on=form.cleaned_data["on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The situation change was recorded."))
            return redirect("person_timeline", case_id=case_id, person_id=person_id)
    return _page(request, access, person, form)


@requires("plan.write")
@once_per_token
def situation_in_error(
    request: ActorRequest, case_id: uuid.UUID, person_id: uuid.UUID, entry_id: int
) -> HttpResponse:
    """Mark a situation entry of the person as recorded in error, with the reason and
    optionally the right situation (decision 0021). 404 for an entry of another person or
    dossier."""
    access, person = _person_in_plan(request, case_id, person_id, write=True)
    entry = (
        SituationEntry.objects.filter(pk=entry_id, case_id=access.case.pk, person_id=person.pk)
        .select_related("recorded_by", "error_by")
        .first()
    )
    if entry is None:
        raise Http404
    entry.person = person
    form = SituationErrorForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.do_mark_situation_in_error(
                    actor=request.actor,
                    case=access.case,
                    entry=entry,
                    reason=form.cleaned_data["reason"],
                    correction=form.correction(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The entry was marked as recorded in error."))
                return redirect("person_timeline", case_id=case_id, person_id=person_id)
    else:
        record_reads(request, access, (Section.PLAN,))
    context = {
        "case": access.case,
        "person": person,
        "entry": entry,
        "form": form if entry.error_at is None or form.is_bound else None,
    }
    return render(
        request,
        "plans/situation_in_error.html",
        context,
        status=400 if request.method == "POST" else 200,
    )
