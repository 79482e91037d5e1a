"""The integration plan of a dossier (I1-I3, I6): the plan page, goals, measures, booking a
place, documents of a measure and the plan's PDF. Every view reaches the dossier through its
``plan`` section (``filum.plans.permissions``): a partner needs a share of that section, and a
write share to change anything."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from filum.assessments.permissions import synthesis_for_access
from filum.assessments.services import persons_of_case
from filum.cases.permissions import record_reads
from filum.documents.views import serve_document
from filum.people.models import Person
from filum.plans import booking as bookings
from filum.plans import services
from filum.plans.catalogue import current_periods, templates_for
from filum.plans.forms import (
    BookForm,
    GoalAddForm,
    GoalEditForm,
    MeasureDocumentForm,
    MeasureForm,
    PlanCreateForm,
)
from filum.plans.models import Booking, MeasureDocument, MeasureGoal, Plan, PlanGoal, Programme
from filum.plans.overview import plan_overview
from filum.plans.permissions import (
    PLAN,
    PlanAccess,
    get_goal_for_actor,
    get_measure_for_actor,
    get_plan_for_actor,
)
from filum.records.models import ReadKind
from filum.tenancy.policy import ActorRequest, Section, requires
from filum.web.forms import add_service_errors
from filum.web.once import once_per_token
from filum.web.pdf import pdf_response

CONFLICT = _(
    "Someone else changed this in the meantime. Your changes were not saved; reload the page "
    "to see the current data."
)


def _synthesis_shown(plan_access: PlanAccess) -> bool:
    return plan_access.access.can_read(Section.ASSESSMENT)


def _plan_of(plan_access: PlanAccess) -> Plan:
    """The dossier's plan; pages about goals and measures answer 404 before it is made."""
    if plan_access.plan is None:
        raise Http404
    return plan_access.plan


def _catalogue_programmes(
    plan_access: PlanAccess, current: Programme | None = None
) -> list[Programme]:
    """The programmes a measure may choose: the active ones of the dossier's canton, and the
    one it has (even if it was deactivated since)."""
    programmes = list(
        Programme.objects.filter(canton=plan_access.case.owner.canton, is_active=True)
        .select_related("provider")
        .order_by("name", "pk")
    )
    if current is not None and current not in programmes:
        programmes.append(current)
    return programmes


def _moved_message(request: ActorRequest, moved: list[Booking]) -> None:
    if moved:
        messages.info(
            request,
            ngettext(
                "The freed place went to the next booking on the waiting list.",
                "The freed places went to the next %(count)d bookings on the waiting list.",
                len(moved),
            )
            % {"count": len(moved)},
        )


@requires("plan.read")
def plan_detail(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    # The door logs the plan and, where the actor may read it, the assessment section the
    # synthesis shows: one read-log insert; the synthesis logs only other dossiers' reads.
    plan_access = get_plan_for_actor(
        request=request, case_id=case_id, reads=(Section.PLAN, Section.ASSESSMENT)
    )
    show_synthesis = _synthesis_shown(plan_access)
    synthesis = (
        synthesis_for_access(request, plan_access.access, entry_logged=True)
        if show_synthesis
        else None
    )
    context = {
        "case": plan_access.case,
        "access": plan_access.access,
        "plan": plan_access.plan,
        "can_write": plan_access.can_write,
        "overview": plan_overview(plan_access.plan) if plan_access.plan else None,
        "show_synthesis": show_synthesis,
        "synthesis": synthesis,
        "timeline_persons": _timeline_persons(plan_access) if plan_access.plan else [],
    }
    return render(request, "plans/plan_detail.html", context)


def _timeline_persons(plan_access: PlanAccess) -> list[Person]:
    """The persons with an AIS timeline link: the client, and the members of the dossier's
    assistance unit (one query, only when it has one)."""
    return persons_of_case(plan_access.case)


@requires("plan.write")
@once_per_token
def plan_create(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    plan_access = get_plan_for_actor(request=request, case_id=case_id, write=True, reads=())
    case = plan_access.case
    if plan_access.plan is not None:
        return redirect("plan_detail", case_id=case.pk)
    templates = templates_for(case.owner.canton)
    form = PlanCreateForm(request.POST or None, templates=templates)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_create_plan(
                actor=request.actor, case=case, template=form.cleaned_data["template"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The integration plan was made."))
            return redirect("plan_detail", case_id=case.pk)
    return render(
        request,
        "plans/plan_create.html",
        {"case": case, "form": form, "templates": templates},
        status=400 if request.method == "POST" else 200,
    )


@requires("plan.read")
def plan_pdf(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    plan_access = get_plan_for_actor(request=request, case_id=case_id, reads=())
    plan = _plan_of(plan_access)
    record_reads(request, plan_access.access, PLAN, kind=ReadKind.PRINT)
    case = plan_access.case
    context = {
        "case": case,
        "plan": plan,
        "overview": plan_overview(plan, with_notes=True),
        "printed_at": timezone.localtime(),
    }
    return pdf_response(
        request, "plans/plan_pdf.html", context, filename=f"plan-{case.reference}.pdf"
    )


@requires("plan.write")
@once_per_token
def goal_add(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    plan_access = get_plan_for_actor(request=request, case_id=case_id, write=True, reads=())
    plan = _plan_of(plan_access)
    present = PlanGoal.objects.filter(plan=plan).values_list("key", flat=True)
    form = GoalAddForm(request.POST or None, present=list(present))
    if request.method == "POST" and form.is_valid():
        try:
            services.do_add_goal(
                actor=request.actor,
                plan=plan,
                key=form.cleaned_data["key"],
                target_date=form.cleaned_data["target_date"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The goal was added to the plan."))
            return redirect("plan_detail", case_id=plan_access.case.pk)
    return render(
        request,
        "plans/goal_form.html",
        {"case": plan_access.case, "form": form, "goal": None},
        status=400 if request.method == "POST" else 200,
    )


@requires("plan.write")
def goal_edit(request: ActorRequest, case_id: uuid.UUID, goal_id: int) -> HttpResponse:
    goal, plan_access = get_goal_for_actor(
        request=request, case_id=case_id, goal_id=goal_id, write=True, reads=PLAN
    )
    initial = {
        "status": goal.status,
        "target_date": goal.target_date,
        "note": goal.note,
        "version": goal.version,
    }
    form = GoalEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.do_update_goal(
                    actor=request.actor,
                    goal=goal,
                    version=data["version"],
                    status=data["status"],
                    target_date=data["target_date"],
                    note=data["note"],
                )
            except services.EditConflict:
                messages.error(request, CONFLICT)
                status = 409
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The goal was saved."))
                return redirect("plan_detail", case_id=plan_access.case.pk)
    return render(
        request,
        "plans/goal_form.html",
        {"case": plan_access.case, "form": form, "goal": goal},
        status=status,
    )


@requires("plan.write")
@once_per_token
def measure_create(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    plan_access = get_plan_for_actor(request=request, case_id=case_id, write=True, reads=())
    plan = _plan_of(plan_access)
    goals = list(PlanGoal.objects.filter(plan=plan))
    initial = {}
    if request.GET.get("goal", "").isdigit():
        initial["goals"] = [request.GET["goal"]]
    form = MeasureForm(
        request.POST or None,
        initial=initial,
        goals=goals,
        programmes=_catalogue_programmes(plan_access),
        persons=persons_of_case(plan_access.case),
    )
    if request.method == "POST" and form.is_valid():
        try:
            measure = services.do_create_measure(
                actor=request.actor, plan=plan, data=form.measure_data()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The measure was added to the plan."))
            if measure.programme_id is not None:
                return redirect("measure_book", case_id=plan_access.case.pk, measure_id=measure.pk)
            return redirect("measure_detail", case_id=plan_access.case.pk, measure_id=measure.pk)
    return render(
        request,
        "plans/measure_form.html",
        {"case": plan_access.case, "form": form, "measure": None, "plan": plan},
        status=400 if request.method == "POST" else 200,
    )


@requires("plan.read")
def measure_detail(request: ActorRequest, case_id: uuid.UUID, measure_id: int) -> HttpResponse:
    measure, plan_access = get_measure_for_actor(
        request=request, case_id=case_id, measure_id=measure_id, reads=PLAN
    )
    goal_keys = PlanGoal.objects.filter(
        pk__in=MeasureGoal.objects.filter(measure=measure).values("goal_id")
    )
    attachments = list(
        MeasureDocument.objects.filter(measure=measure)
        .select_related("document__uploaded_by", "document__uploaded_by_org")
        .order_by("-document__uploaded_at")
    )
    context = {
        "case": plan_access.case,
        "access": plan_access.access,
        "measure": measure,
        "goals": sorted(goal_keys, key=lambda g: g.order),
        "booking": bookings.active_booking(measure),
        "attachments": attachments,
        "can_write": plan_access.can_write,
        "upload_form": MeasureDocumentForm() if plan_access.can_write else None,
    }
    return render(request, "plans/measure_detail.html", context)


@requires("plan.write")
def measure_edit(request: ActorRequest, case_id: uuid.UUID, measure_id: int) -> HttpResponse:
    measure, plan_access = get_measure_for_actor(
        request=request, case_id=case_id, measure_id=measure_id, write=True, reads=PLAN
    )
    goals = list(PlanGoal.objects.filter(plan_id=measure.plan_id))
    linked = MeasureGoal.objects.filter(measure=measure).values_list("goal_id", flat=True)
    form = MeasureForm(
        request.POST or None,
        initial=MeasureForm.initial_for(measure, linked),
        goals=goals,
        programmes=_catalogue_programmes(plan_access, measure.programme),
        measure=measure,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                _saved, moved = services.do_update_measure(
                    actor=request.actor,
                    measure=measure,
                    version=form.cleaned_data["version"],
                    data=form.measure_data(),
                )
            except services.EditConflict:
                messages.error(request, CONFLICT)
                status = 409
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The measure was saved."))
                _moved_message(request, moved)
                return redirect(
                    "measure_detail", case_id=plan_access.case.pk, measure_id=measure.pk
                )
    return render(
        request,
        "plans/measure_form.html",
        {"case": plan_access.case, "form": form, "measure": measure, "plan": measure.plan},
        status=status,
    )


@requires("plan.write")
def measure_book(request: ActorRequest, case_id: uuid.UUID, measure_id: int) -> HttpResponse:
    """Book the measure into a period of its programme: a place, or the waiting list."""
    measure, plan_access = get_measure_for_actor(
        request=request, case_id=case_id, measure_id=measure_id, write=True, reads=PLAN
    )
    periods = current_periods(measure.programme) if measure.programme else []
    form = BookForm(request.POST or None, periods=periods)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                booking = bookings.do_book_measure(
                    actor=request.actor, measure=measure, period=form.cleaned_data["period"]
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if booking.status == "placed":
                    messages.success(request, _("A place was booked for the measure."))
                else:
                    messages.warning(
                        request,
                        _(
                            "This period is full: the measure is on the waiting list, in "
                            "position %(position)s. It gets a place as soon as one is free."
                        )
                        % {"position": bookings.waiting_position(booking)},
                    )
                return redirect(
                    "measure_detail", case_id=plan_access.case.pk, measure_id=measure.pk
                )
    context = {
        "case": plan_access.case,
        "measure": measure,
        "form": form,
        "periods": periods,
        "booking": bookings.active_booking(measure),
    }
    return render(request, "plans/measure_book.html", context, status=status)


@requires("plan.write")
@require_POST
def booking_cancel(request: ActorRequest, case_id: uuid.UUID, measure_id: int) -> HttpResponse:
    measure, plan_access = get_measure_for_actor(
        request=request, case_id=case_id, measure_id=measure_id, write=True
    )
    try:
        moved = bookings.do_cancel_booking(actor=request.actor, measure=measure)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The booking was cancelled."))
        _moved_message(request, moved)
    return redirect("measure_detail", case_id=plan_access.case.pk, measure_id=measure.pk)


@requires("plan.write")
@once_per_token
def measure_document_upload(
    request: ActorRequest, case_id: uuid.UUID, measure_id: int
) -> HttpResponse:
    """A certificate or a provider's report, stored with the measure (I3)."""
    measure, plan_access = get_measure_for_actor(
        request=request, case_id=case_id, measure_id=measure_id, write=True
    )
    if not plan_access.case.is_open:
        raise Http404
    form = MeasureDocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_attach_document(
                actor=request.actor,
                measure=measure,
                upload=form.cleaned_data["file"],
                name=form.cleaned_name,
                file_type=form.file_type,
                kind=form.cleaned_data["kind"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The document was added to the measure."))
            return redirect("measure_detail", case_id=plan_access.case.pk, measure_id=measure.pk)
    return render(
        request,
        "plans/measure_document_form.html",
        {"case": plan_access.case, "measure": measure, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@requires("plan.read")
def measure_document_download(
    request: ActorRequest, case_id: uuid.UUID, measure_id: int, document_id: uuid.UUID
) -> FileResponse:
    """A document of a measure, for those who read the plan (a partner with a plan share
    reads the measure's certificates without a share of the whole documents section)."""
    measure, plan_access = get_measure_for_actor(
        request=request, case_id=case_id, measure_id=measure_id
    )
    attachment = (
        MeasureDocument.objects.filter(measure=measure, document_id=document_id)
        .select_related("document")
        .first()
    )
    if attachment is None:
        raise Http404
    record_reads(request, plan_access.access, PLAN)
    return serve_document(attachment.document)
