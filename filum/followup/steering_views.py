"""Case steering screens on a dossier: the intake decision, segment proposals with the
four-eyes confirmation, the transfer to counselling, the receiving worker's final decision,
changes, the assistant's request, reviews at the time limit and the segment history.

Views are thin: access through ``get_case_for_actor`` and the policy, a form for the shape of
the input, then a function of ``filum.followup.lifecycle`` or ``filum.followup.segments`` that
checks the rules; its ValidationError messages are shown on the form and nothing changes.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases.models import (
    Case,
    SegmentCriterion,
    SegmentProposal,
    Stage,
    TransferReport,
)
from filum.cases.permissions import CaseAccess, get_case_for_actor
from filum.followup import lifecycle, segments
from filum.followup.lights import CaseLight, light_for_case
from filum.followup.models import Task
from filum.followup.permissions import get_proposal_for_actor
from filum.followup.steering_forms import (
    CloseCaseForm,
    DecisionForm,
    ExitPotentialForm,
    IntakeDecisionForm,
    RequestAnswerForm,
    RequestForm,
    SegmentForm,
    TransferForm,
)
from filum.records.services import refuse
from filum.tenancy.policy import Actor, ActorRequest, Section, requires
from filum.web.forms import add_service_errors
from filum.web.once import once_per_token

Kind = SegmentProposal.Kind
Status = SegmentProposal.Status


def _access(request: ActorRequest, case_id: uuid.UUID, action: str | None = None) -> CaseAccess:
    """The dossier with write access to its core data and, if given, the action allowed on it.
    The steering forms show the dossier's stage and segment: a core read."""
    access = get_case_for_actor(
        request=request,
        case_id=case_id,
        need=Section.CORE,
        write=action is not None,
        reads=[Section.CORE],
    )
    if action is not None and not access.may(action):
        refuse(request, "case", case_id, owner_id=access.case.owner_id)
    return access


def _not_now(request: ActorRequest, case: Case, message: str) -> HttpResponse:
    messages.info(request, message)
    return redirect("case_steering", case_id=case.pk)


def _refused(
    request: ActorRequest, case: Case, guard: Callable[..., None], *args: Any
) -> HttpResponse | None:
    """The step's own guard (the one ``lifecycle.available_steps`` asks): when it refuses, back
    to the steering page with its message."""
    try:
        guard(*args)
    except ValidationError as exc:
        return _not_now(request, case, " ".join(exc.messages))
    return None


# --- what the steering block shows ----------------------------------------------------------


@dataclass
class SteeringState:
    case: Case
    access: CaseAccess
    light: CaseLight | None
    pending: list[SegmentProposal]
    confirmed_initial: SegmentProposal | None
    final_decided: bool
    open_tasks: list[Task]
    actions: list[lifecycle.Step] = field(default_factory=list)

    @property
    def deadlines(self) -> Mapping[str, datetime.date]:
        """The dates the rules work with (time limit, final decision, ...), from the light's
        evaluation: the screens never work a deadline out themselves."""
        return self.light.evaluation.deadlines if self.light else {}


def steering_state(
    access: CaseAccess, actor: Actor, *, with_history: bool = False
) -> SteeringState:
    case = access.case
    criteria = Prefetch(
        "criteria", queryset=SegmentCriterion.objects.order_by("segment", "position")
    )
    pending = list(
        SegmentProposal.objects.filter(case=case, status=Status.PROPOSED)
        .select_related("proposed_by")
        .prefetch_related(criteria, "objectives_reached")
        .order_by("proposed_at")
    )
    light = light_for_case(case.pk) if case.is_open else None
    state = SteeringState(
        case=case,
        access=access,
        light=light,
        pending=pending,
        confirmed_initial=(
            segments.unused_confirmed_initial(case) if case.stage == Stage.INTAKE_2 else None
        ),
        final_decided=case.stage == Stage.COUNSELLING and segments.has_final_decision(case),
        open_tasks=list(
            Task.objects.open()
            .filter(case=case, owner_id=actor.organisation_id)
            .select_related("assigned_to")
            .order_by("due_on")[:5]
        ),
    )
    if access.can_write(Section.CORE):
        state.actions = lifecycle.available_steps(
            case, actor, evaluation=light.evaluation if light else None, pending=pending
        )
    return state


# --- pages ----------------------------------------------------------------------------------


@requires("core.read")
def case_steering(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = get_case_for_actor(
        request=request, case_id=case_id, need=Section.CORE, reads=[Section.CORE]
    )
    state = steering_state(access, actor)
    case = access.case
    context = {
        "case": case,
        "access": access,
        "state": state,
        "history": segments.segment_history(case),
        "proposals": list(
            SegmentProposal.objects.filter(case=case)
            .exclude(status=Status.PROPOSED)
            .select_related("proposed_by", "decided_by")
            .order_by("-proposed_at")[:30]
        ),
        "transfers": list(
            TransferReport.objects.filter(case=case).select_related(
                "from_worker", "to_worker", "from_team", "to_team", "created_by"
            )[:10]
        ),
    }
    return render(request, "followup/steering/case_steering.html", context)


@requires("core.read")
def case_steering_panel(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """The steering block of the dossier page, loaded by htmx (a link without JavaScript)."""
    actor = request.actor
    access = get_case_for_actor(
        request=request, case_id=case_id, need=Section.CORE, reads=[Section.CORE]
    )
    state = steering_state(access, actor)
    return render(request, "followup/steering/_panel.html", {"case": access.case, "state": state})


@requires("case.transition")
def intake_decide(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = _access(request, case_id, "case.transition")
    case = access.case
    if refused := _refused(request, case, lifecycle.guard_accept_or_reject, case):
        return refused
    form = IntakeDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == "accept":
                lifecycle.do_accept_intake(
                    actor=actor, case=case, reason=data["reason"], on=data["on"]
                )
                messages.success(
                    request, _("The request was accepted; the dossier is now in Intake 2.")
                )
            else:
                lifecycle.do_reject_intake(
                    actor=actor, case=case, reason=data["reason"], closed_on=data["on"]
                )
                messages.success(request, _("The request was rejected and the dossier closed."))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("case_steering", case_id=case.pk)
    return render(request, "followup/steering/intake_decide.html", {"case": case, "form": form})


def _segment_page(
    request: ActorRequest,
    *,
    case: Case,
    form: SegmentForm | RequestForm,
    title: str,
    intro: str,
    submit: str,
) -> HttpResponse:
    context = {"case": case, "form": form, "title": title, "intro": intro, "submit": submit}
    return render(request, "followup/steering/segment_form.html", context)


@requires("segment.propose")
@once_per_token
def segment_propose(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """The first segment proposal at Intake 2, for a section head to confirm (S1, S2)."""
    actor = request.actor
    case = _access(request, case_id, "segment.propose").case
    if refused := _refused(request, case, segments.guard_propose_initial, case):
        return refused
    form = SegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            segments.do_propose_segment(
                actor=actor,
                case=case,
                segment=form.cleaned_data["segment"],
                criteria=list(form.cleaned_data["criteria"]),
                justification=form.cleaned_data["justification"],
                kind=Kind.INITIAL,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The proposal was sent to the section head for confirmation.")
            )
            return redirect("case_steering", case_id=case.pk)
    return _segment_page(
        request,
        case=case,
        form=form,
        title=_("Propose a segment"),
        intro=_(
            "Your proposal goes to a section head, who confirms or refuses it (four-eyes "
            "principle). It is stated in the transfer report."
        ),
        submit=_("Send the proposal"),
    )


@requires("segment.propose")
@once_per_token
def segment_final(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """The receiving worker's final decision within 3 months of receipt (S3)."""
    actor = request.actor
    case = _access(request, case_id, "segment.propose").case
    if refused := _refused(request, case, segments.guard_final, actor, case):
        return refused
    form = SegmentForm(request.POST or None, initial={"segment": case.segment})
    if request.method == "POST" and form.is_valid():
        try:
            result = segments.do_decide_final_segment(
                actor=actor,
                case=case,
                segment=form.cleaned_data["segment"],
                criteria=list(form.cleaned_data["criteria"]),
                justification=form.cleaned_data["justification"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if isinstance(result, SegmentProposal):
                messages.success(request, _("The other segment was proposed to the section head."))
            else:
                messages.success(request, _("The final segment decision was recorded."))
            return redirect("case_steering", case_id=case.pk)
    return _segment_page(
        request,
        case=case,
        form=form,
        title=_("Final segment decision"),
        intro=_(
            "Keep the proposed segment or choose another one, with a professional justification. "
            "Another segment is confirmed by the section head."
        ),
        submit=_("Record the decision"),
    )


@requires("segment.propose")
@once_per_token
def segment_change(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """A change of segment at any time (S4): the section head performs it, a worker proposes it."""
    actor = request.actor
    case = _access(request, case_id, "segment.propose").case
    if refused := _refused(request, case, segments.guard_change, actor, case):
        return refused
    head = segments.is_section_head_of(actor, case)
    others = tuple(s for s in ("A", "B", "C") if s != case.segment)
    initial: dict[str, Any] = {}
    requested = request.GET.get("segment")
    if requested in others:
        initial["segment"] = requested
    form = SegmentForm(request.POST or None, segments=others, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if head:
                segments.do_change_segment(
                    actor=actor,
                    case=case,
                    segment=data["segment"],
                    criteria=list(data["criteria"]),
                    justification=data["justification"],
                )
                messages.success(request, _("The segment was changed."))
            else:
                segments.do_propose_segment(
                    actor=actor,
                    case=case,
                    segment=data["segment"],
                    criteria=list(data["criteria"]),
                    justification=data["justification"],
                    kind=Kind.CHANGE,
                )
                messages.success(request, _("The change was proposed to the section head."))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("case_steering", case_id=case.pk)
    return _segment_page(
        request,
        case=case,
        form=form,
        title=_("Change the segment") if head else _("Propose a segment change"),
        intro=(
            _("As section head you carry out the change; it is recorded with your justification.")
            if head
            else _("The section head decides on your proposal.")
        ),
        submit=_("Change the segment") if head else _("Send the proposal"),
    )


@requires("segment.propose")
@once_per_token
def segment_review(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """Keep or move at the end of the segment's time limit (S5), for the section head."""
    actor = request.actor
    case = _access(request, case_id, "segment.propose").case
    if refused := _refused(request, case, segments.guard_review, case):
        return refused
    form = SegmentForm(
        request.POST or None, initial={"segment": case.segment}, objectives_of=case.segment
    )
    if request.method == "POST" and form.is_valid():
        try:
            segments.do_propose_segment(
                actor=actor,
                case=case,
                segment=form.cleaned_data["segment"],
                criteria=list(form.cleaned_data["criteria"]),
                justification=form.cleaned_data["justification"],
                kind=Kind.REVIEW,
                objectives=list(form.cleaned_data["objectives"]),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The keep-or-move proposal was sent to the section head."))
            return redirect("case_steering", case_id=case.pk)
    return _segment_page(
        request,
        case=case,
        form=form,
        title=_("Review at the time limit"),
        intro=_(
            "Propose to keep segment %(segment)s or to move the dossier, with a professional "
            "justification: is the orientation right, are the goals right, is the intensity "
            "right? Record which objectives of the segment were reached. Segment A lasts at "
            "most 6 months: keeping it longer is an exception for the section head."
        )
        % {"segment": case.segment},
        submit=_("Send the proposal"),
    )


@requires("segment.request")
@once_per_token
def segment_request(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """The administrative assistant asks for segment A or B for a C dossier (S4, S10)."""
    actor = request.actor
    case = _access(request, case_id, "segment.request").case
    if refused := _refused(request, case, segments.guard_request, case):
        return refused
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            segments.do_request_segment(
                actor=actor,
                case=case,
                segment=form.cleaned_data["segment"],
                justification=form.cleaned_data["justification"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "The request was sent to the responsible social worker, who decides; the "
                    "section head sees it."
                ),
            )
            return redirect("case_steering", case_id=case.pk)
    return _segment_page(
        request,
        case=case,
        form=form,
        title=_("Request segment A or B"),
        intro=_(
            "The final responsibility for the dossier stays with the social worker %(worker)s, "
            "who decides on the request; the section head controls it."
        )
        % {"worker": case.responsible or "—"},
        submit=_("Send the request"),
    )


@requires("segment.decide")
def proposal_decide(request: ActorRequest, case_id: uuid.UUID, proposal_id: int) -> HttpResponse:
    """The section head confirms or refuses a proposal (four eyes, S2)."""
    actor = request.actor
    proposal = get_proposal_for_actor(request=request, case_id=case_id, proposal_id=proposal_id)
    case = proposal.case
    if proposal.kind == Kind.REQUEST and proposal.is_pending and case.responsible_id:
        return redirect("request_answer", case_id=case.pk, proposal_id=proposal.pk)
    exception = proposal.is_pending and segments.keeps_a_maximum_segment(proposal)
    form = DecisionForm(request.POST or None, exception=exception)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["decision"] == "confirm":
                segments.do_confirm_proposal(
                    actor=actor,
                    proposal=proposal,
                    note=form.cleaned_data["note"],
                    kept_until=form.cleaned_data.get("kept_until"),
                )
                messages.success(request, _("The proposal was confirmed."))
            else:
                segments.do_reject_proposal(
                    actor=actor, proposal=proposal, note=form.cleaned_data["note"]
                )
                messages.success(request, _("The proposal was refused."))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("case_steering", case_id=case.pk)
    light = light_for_case(case.pk) if case.is_open else None
    context = {
        "case": case,
        "proposal": proposal,
        "form": form,
        "light": light,
        "own": proposal.proposed_by_id == actor.user.pk,
        "history": segments.segment_history(case),
    }
    return render(request, "followup/steering/proposal_decide.html", context)


@requires("segment.propose")
def request_answer(request: ActorRequest, case_id: uuid.UUID, proposal_id: int) -> HttpResponse:
    """The responsible worker accepts the assistant's request (a change proposal for the
    section head) or refuses it with the reason (S4)."""
    actor = request.actor
    proposal = get_proposal_for_actor(
        request=request, case_id=case_id, proposal_id=proposal_id, action="segment.propose"
    )
    case = proposal.case
    if (
        proposal.kind != Kind.REQUEST
        or not proposal.is_pending
        or not segments.may_answer_request(actor, case)
    ):
        return _not_now(
            request, case, _("The responsible social worker decides on the assistant's request.")
        )
    form = RequestAnswerForm(request.POST or None, segment=proposal.segment)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == "accept":
                segments.do_accept_request(
                    actor=actor,
                    request=proposal,
                    criteria=list(data["criteria"]),
                    justification=data["justification"],
                )
                messages.success(request, _("The request was accepted."))
            else:
                segments.do_reject_proposal(
                    actor=actor, proposal=proposal, note=data["justification"]
                )
                messages.success(request, _("The request was refused."))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("case_steering", case_id=case.pk)
    context = {
        "case": case,
        "form": form,
        "proposal": proposal,
        "title": _("Answer the assistant's request"),
        "intro": _(
            "Accept: your change proposal to segment %(segment)s, with the criteria and your "
            "justification, goes to the section head. Refuse: give the reason."
        )
        % {"segment": proposal.segment},
        "submit": _("Record the decision"),
    }
    return render(request, "followup/steering/simple_form.html", context)


@requires("segment.propose")
def exit_potential(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """Intake 2's exit potential (SEG 5): within six months the dossier stays in Intake 2."""
    actor = request.actor
    case = _access(request, case_id, "segment.propose").case
    if refused := _refused(request, case, lifecycle.guard_exit_potential, case):
        return refused
    initial = {"potential": case.exit_potential, "expected_by": case.exit_expected_by}
    form = ExitPotentialForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lifecycle.do_record_exit_potential(
                actor=actor,
                case=case,
                potential=data["potential"],
                expected_by=data["expected_by"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The exit potential was recorded."))
            return redirect("case_steering", case_id=case.pk)
    context = {
        "case": case,
        "form": form,
        "title": _("Exit potential"),
        "intro": _(
            "A dossier with an exit potential through the labour market or social insurance "
            "within six months stays in Intake 2 and is not assigned to a segment."
        ),
        "submit": _("Record"),
    }
    return render(request, "followup/steering/simple_form.html", context)


@requires("case.transition")
def case_transfer(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """Intake 2 -> counselling with the transfer report and the confirmed proposal (S2)."""
    actor = request.actor
    case = _access(request, case_id, "case.transition").case
    if refused := _refused(request, case, lifecycle.guard_transfer, case):
        return refused
    proposal = segments.unused_confirmed_initial(case)
    if proposal is None:
        return _not_now(
            request, case, _("The transfer needs a segment proposal confirmed by a section head.")
        )
    form = TransferForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lifecycle.do_transfer_to_counselling(
                actor=actor,
                case=case,
                proposal=proposal,
                to_worker=data["to_worker"],
                to_team=data["to_team"],
                report=data["report"],
                assessment=data["assessment"],
                on=data["on"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The dossier was transferred to %(worker)s in segment %(segment)s.")
                % {"worker": data["to_worker"], "segment": proposal.segment},
            )
            return redirect("case_steering", case_id=case.pk)
    return render(
        request,
        "followup/steering/transfer.html",
        {"case": case, "form": form, "proposal": proposal},
    )


@requires("case.transition")
def case_close(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = _access(request, case_id, "case.transition")
    form = CloseCaseForm(request.POST or None, initial={"closed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.do_close(
                actor=actor,
                case=access.case,
                closed_on=form.cleaned_data["closed_on"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The dossier was closed."))
            return redirect("case_detail", case_id=access.case.pk)
    return render(request, "followup/steering/case_close.html", {"form": form, "case": access.case})
