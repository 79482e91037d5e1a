"""Segments A, B and C (S1-S5): proposals under the four-eyes principle, the final decision
after receipt, changes, the assistant's request, reviews at the time limit, and the history.

Who decides (from the case steering concept):

* first assignment (Intake 2): the worker proposes, a section head of the dossier's
  organisation confirms; the proposer never confirms their own proposal (S2);
* final decision within 3 months of receipt (S3): the receiving worker keeps the segment
  alone; a different segment is proposed to the section head, who performs the change;
* change at any time (S4): the section head performs it (``do_change_segment``) or approves
  the worker's proposal; an administrative assistant may request A or B for a C dossier,
  which the responsible worker decides (``do_answer_request``: accepting makes a change
  proposal, refusing needs a reason); the section head sees the requests;
* review at the time limit (S5): the worker proposes keep or move and records which of the
  segment's objectives were reached (S13), the section head decides; keeping B or C restarts
  the time limit. Segment A lasts at most 6 months: keeping it longer is an exception the
  section head records with a reason and an end date, and the time limit is not restarted;
* a dossier with an exit potential within six months stays in Intake 2 and gets no segment.

Every decision closes the current ``SegmentAssignment`` period and opens the next, and keeps
``Case.segment`` / ``Case.segment_since`` in step.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases.changes import facts_changed
from filum.cases.models import (
    Case,
    CaseTransition,
    Segment,
    SegmentAssignment,
    SegmentCriterion,
    SegmentObjective,
    SegmentProposal,
    Stage,
)
from filum.cases.services import check_case_is_open
from filum.followup.evaluation import evaluate_cases, load_rules
from filum.followup.rules import add_months, stays_in_intake_2
from filum.followup.services import create_decision_task, resolve_rule_tasks
from filum.tenancy.policy import Actor, Relation

Kind = SegmentProposal.Kind
Status = SegmentProposal.Status


# --- checks ---------------------------------------------------------------------------------


def check_justification(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(
            {"justification": _("A segment decision needs a written professional justification.")},
            code="no_justification",
        )
    return text


def check_segment(segment: str) -> None:
    if segment not in Segment.values:
        raise ValidationError({"segment": _("Choose segment A, B or C.")}, code="bad_segment")


def check_criteria(
    segment: str, criteria: Sequence[SegmentCriterion], *, required: bool = True
) -> None:
    if required and not criteria:
        raise ValidationError(
            {"criteria": _("Choose at least one criterion of the segment.")}, code="no_criteria"
        )
    wrong = [c for c in criteria if c.segment != segment or not c.is_active]
    if wrong:
        raise ValidationError(
            {
                "criteria": _("The chosen criteria must be active criteria of segment %(segment)s.")
                % {"segment": segment}
            },
            code="wrong_criteria",
        )


def is_section_head_of(actor: Actor, case: Case) -> bool:
    if actor.organisation_id != case.owner_id:
        return False
    relation = Relation.OWN_CASE if case.responsible_id == actor.user.pk else Relation.OWN_ORG
    return actor.may("segment.decide", relation)


def check_section_head(actor: Actor, case: Case) -> None:
    if not is_section_head_of(actor, case):
        raise ValidationError(
            _("Only a section head of the dossier's organisation can decide on its segment."),
            code="not_section_head",
        )


def check_four_eyes(actor: Actor, proposal: SegmentProposal) -> None:
    if proposal.proposed_by_id == actor.user.pk:
        raise ValidationError(
            _("Four-eyes principle: a proposal must be decided by someone other than its author."),
            code="four_eyes",
        )


def _lock(case: Case) -> Case:
    locked = Case.objects.select_for_update().get(pk=case.pk)
    # Every step locks the dossier to change it: its kept light is evaluated again on commit.
    facts_changed([locked.pk])
    return locked


def _record(case: Case, *, actor: Actor, kind: str, reason: str) -> None:
    CaseTransition.objects.create(
        case=case,
        owner_id=case.owner_id,
        kind=kind,
        reason=reason,
        from_stage=case.stage,
        to_stage=case.stage,
        actor=actor.user,
    )


def _check_pending(case: Case, kind: str) -> None:
    if SegmentProposal.objects.filter(case=case, kind=kind, status=Status.PROPOSED).exists():
        raise ValidationError(
            _("A proposal of this kind is already waiting for a decision on this dossier."),
            code="pending",
        )


def _check_stage(case: Case, kind: str) -> None:
    check_case_is_open(case)
    expected = Stage.INTAKE_2 if kind == Kind.INITIAL else Stage.COUNSELLING
    if case.stage != expected:
        raise ValidationError(
            _("This segment step is not possible for a dossier in stage “%(stage)s”.")
            % {"stage": Stage(case.stage).label},
            code="illegal_transition",
        )


def has_final_decision(case: Case) -> bool:
    return (
        case.received_on is not None
        and SegmentAssignment.objects.filter(
            case=case, kind=SegmentAssignment.Kind.FINAL, since__gte=case.received_on
        )
        .exclude(until=F("since"))
        .exists()
    )


def unused_confirmed_initial(case: Case) -> SegmentProposal | None:
    """The confirmed first proposal not yet used for a transfer to counselling."""
    return (
        SegmentProposal.objects.filter(case=case, kind=Kind.INITIAL, status=Status.CONFIRMED)
        .exclude(transfer_report__isnull=False)
        .select_related("proposed_by", "decided_by")
        .order_by("-decided_at")
        .first()
    )


# --- guards: each step's conditions, used by the step itself and by available_steps ---------


def guard_propose_initial(case: Case) -> None:
    _check_stage(case, Kind.INITIAL)
    check_not_kept_in_intake_2(case)
    _check_pending(case, Kind.INITIAL)
    if unused_confirmed_initial(case) is not None:
        raise ValidationError(
            _("A confirmed segment proposal is waiting for the transfer to counselling."),
            code="confirmed",
        )


def guard_final(actor: Actor, case: Case) -> None:
    _check_stage(case, Kind.FINAL)
    if case.received_on is None:
        raise ValidationError(
            _("This dossier has not been received in counselling."), code="not_received"
        )
    if has_final_decision(case):
        raise ValidationError(
            _("The final segment decision has already been taken."), code="decided"
        )
    _check_pending(case, Kind.FINAL)
    if not is_section_head_of(actor, case) and case.responsible_id != actor.user.pk:
        raise ValidationError(
            _("The final segment decision belongs to the responsible social worker."),
            code="not_responsible",
        )


def guard_change(actor: Actor, case: Case) -> None:
    _check_stage(case, Kind.CHANGE)
    if not is_section_head_of(actor, case):
        _check_pending(case, Kind.CHANGE)


def review_is_due(case: Case) -> bool:
    """The rules' time-limit finding of the current segment is there (from ``warning_days``
    before the time limit, or before the end of an exception)."""
    evaluation = evaluate_cases([case.pk], as_of=timezone.localdate())[case.pk]
    return any(f.task_kind == "review_due" for f in evaluation.findings)


def guard_review(case: Case, *, due: bool | None = None) -> None:
    _check_stage(case, Kind.REVIEW)
    if not case.segment:
        raise ValidationError(_("The dossier has no segment."), code="no_segment")
    _check_pending(case, Kind.REVIEW)
    if not (review_is_due(case) if due is None else due):
        raise ValidationError(
            _("The review is made when the time limit of the segment comes near."),
            code="not_due",
        )


def guard_request(case: Case) -> None:
    _check_stage(case, Kind.REQUEST)
    if case.segment != Segment.C:
        raise ValidationError(
            {"segment": _("A request can only ask for segment A or B for a dossier in segment C.")},
            code="bad_request",
        )
    _check_pending(case, Kind.REQUEST)


# --- assignment (the one place that writes the history) -------------------------------------


def _assign(
    *,
    case: Case,
    segment: str,
    kind: str,
    justification: str,
    decided_by_id: int,
    approved_by_id: int | None,
    proposal: SegmentProposal | None = None,
    on: datetime.date | None = None,
    kept_until: datetime.date | None = None,
) -> SegmentAssignment:
    """Close the current period on ``on`` (today) and open the next one."""

    day = on or timezone.localdate()
    current = (
        SegmentAssignment.objects.select_for_update().filter(case=case, until__isnull=True).first()
    )
    if current is not None:
        if current.since > day:
            raise ValidationError(
                _("The current segment only starts on %(date)s.")
                % {"date": f"{current.since:%d.%m.%Y}"},
                code="too_early",
            )
        SegmentAssignment.objects.filter(pk=current.pk).update(until=day)
    assignment = SegmentAssignment.objects.create(
        case=case,
        owner_id=case.owner_id,
        segment=segment,
        since=day,
        kind=kind,
        kept_until=kept_until,
        justification=justification,
        proposal=proposal,
        decided_by_id=decided_by_id,
        approved_by_id=approved_by_id,
    )
    changed = current is None or current.segment != segment
    Case.objects.filter(pk=case.pk).update(
        segment=segment,
        segment_since=day if changed else F("segment_since"),
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    case.refresh_from_db()
    # A decision answers the reminders that asked for it.
    resolved = (
        ["review_due"]
        if kind in (SegmentAssignment.Kind.REVIEW, SegmentAssignment.Kind.EXCEPTION) or changed
        else []
    )
    if kind == SegmentAssignment.Kind.FINAL:
        resolved.append("decision_due")
    if resolved:
        resolve_rule_tasks(case=case, kinds=resolved, user_id=decided_by_id)
    return assignment


# --- proposals ------------------------------------------------------------------------------


@transaction.atomic
def do_propose_segment(
    *,
    actor: Actor,
    case: Case,
    segment: str,
    criteria: Sequence[SegmentCriterion],
    justification: str,
    kind: str = Kind.INITIAL,
    objectives: Sequence[SegmentObjective] = (),
) -> SegmentProposal:
    """A worker's proposal: the first assignment at Intake 2 (``initial``), a change
    (``change``) or the keep-or-move proposal at the time limit (``review``), which records
    the objectives of the current segment that were reached (S13)."""

    if kind not in (Kind.INITIAL, Kind.CHANGE, Kind.REVIEW):
        raise ValueError(f"use the dedicated function for {kind!r} proposals")
    case = _lock(case)
    if kind == Kind.INITIAL:
        guard_propose_initial(case)
    elif kind == Kind.REVIEW:
        guard_review(case)
    else:
        _check_stage(case, kind)
        _check_pending(case, kind)
    check_segment(segment)
    justification = check_justification(justification)
    check_criteria(segment, criteria)
    check_objectives(case, kind, objectives)
    if kind == Kind.CHANGE and segment == case.segment:
        raise ValidationError(
            {"segment": _("The dossier is already in segment %(segment)s.") % {"segment": segment}},
            code="same_segment",
        )
    proposal = _create_proposal(
        actor=actor,
        case=case,
        kind=kind,
        segment=segment,
        criteria=criteria,
        justification=justification,
    )
    proposal.objectives_reached.set(objectives)
    create_decision_task(proposal=proposal)
    return proposal


def check_not_kept_in_intake_2(case: Case) -> None:
    if stays_in_intake_2(
        exit_potential=case.exit_potential,
        exit_expected_by=case.exit_expected_by,
        as_of=timezone.localdate(),
        rules=load_rules(timezone.localdate()),
    ):
        raise ValidationError(
            _(
                "An exit is expected by %(date)s: a dossier with an exit potential within six "
                "months stays in Intake 2 and is not assigned to a segment."
            )
            % {"date": f"{case.exit_expected_by:%d.%m.%Y}"},
            code="stays_in_intake_2",
        )


def check_objectives(case: Case, kind: str, objectives: Sequence[SegmentObjective]) -> None:
    """Objectives are recorded at the review, from those of the current segment."""
    if not objectives:
        return
    if kind != Kind.REVIEW or any(o.segment != case.segment or not o.is_active for o in objectives):
        raise ValidationError(
            {
                "objectives": _(
                    "Choose objectives of the current segment %(segment)s, at the review."
                )
                % {"segment": case.segment}
            },
            code="wrong_objectives",
        )


def keeps_a_maximum_segment(proposal: SegmentProposal) -> bool:
    """A review that keeps a segment whose time limit is a maximum (A): an exception."""
    if proposal.kind != Kind.REVIEW or proposal.segment != proposal.case.segment:
        return False
    norm = load_rules(timezone.localdate()).get(proposal.segment)
    return bool(norm and norm.limit_is_maximum)


def check_kept_until(case: Case, kept_until: datetime.date | None, note: str) -> None:
    """The exception names its reason and its end, at most one more time limit away."""
    norm = load_rules(timezone.localdate()).get(case.segment)
    today = timezone.localdate()
    latest = add_months(today, norm.time_limit_months) if norm and norm.time_limit_months else None
    errors: dict[str, str] = {}
    if not (note or "").strip():
        errors["note"] = _("Give the reason for keeping the dossier in the segment.")
    if kept_until is None or kept_until <= today or (latest and kept_until > latest):
        errors["kept_until"] = _(
            "Give the date until which the dossier stays in segment %(segment)s (at most %(date)s)."
        ) % {"segment": case.segment, "date": f"{latest:%d.%m.%Y}" if latest else "—"}
    if errors:
        raise ValidationError(errors, code="exception")


def _create_proposal(
    *,
    actor: Actor,
    case: Case,
    kind: str,
    segment: str,
    criteria: Sequence[SegmentCriterion],
    justification: str,
) -> SegmentProposal:
    proposal = SegmentProposal.objects.create(
        case=case,
        owner_id=case.owner_id,
        kind=kind,
        segment=segment,
        from_segment=case.segment,
        justification=justification,
        proposed_by=actor.user,
    )
    proposal.criteria.set(criteria)
    _record(
        case,
        actor=actor,
        kind=f"segment_{kind}_proposed",
        reason=f"{segment}: {justification}"[:1000],
    )
    return proposal


@transaction.atomic
def do_request_segment(
    *, actor: Actor, case: Case, segment: str, justification: str
) -> SegmentProposal:
    """An administrative assistant asks that a C dossier move to A or B (S4)."""

    case = _lock(case)
    guard_request(case)
    if segment not in (Segment.A, Segment.B):
        raise ValidationError(
            {"segment": _("A request can only ask for segment A or B for a dossier in segment C.")},
            code="bad_request",
        )
    justification = check_justification(justification)
    proposal = _create_proposal(
        actor=actor,
        case=case,
        kind=Kind.REQUEST,
        segment=segment,
        criteria=(),
        justification=justification,
    )
    create_decision_task(proposal=proposal)
    return proposal


@transaction.atomic
def do_confirm_proposal(
    *,
    actor: Actor,
    proposal: SegmentProposal,
    note: str = "",
    kept_until: datetime.date | None = None,
) -> SegmentProposal:
    """The section head's confirmation (four eyes). A confirmed first assignment takes effect at
    the transfer to counselling; every other kind takes effect at once. Confirming a review
    that keeps segment A is an exception: ``note`` gives the reason, ``kept_until`` its end."""

    case = _lock(proposal.case)
    proposal = SegmentProposal.objects.select_for_update().get(pk=proposal.pk)
    proposal.case = case
    if proposal.status != Status.PROPOSED:
        raise ValidationError(_("This proposal was already decided."), code="decided")
    check_section_head(actor, case)
    check_four_eyes(actor, proposal)
    if proposal.kind == Kind.REQUEST and case.responsible_id is not None:
        raise ValidationError(
            _("The responsible social worker decides on the assistant's request."),
            code="worker_decides",
        )
    if proposal.kind != Kind.INITIAL:
        _check_stage(case, proposal.kind)
    exception = keeps_a_maximum_segment(proposal)
    if exception:
        check_kept_until(case, kept_until, note)
    _decide(proposal, actor=actor, status=Status.CONFIRMED, note=note)
    if proposal.kind != Kind.INITIAL:
        if proposal.kind == Kind.FINAL:
            kind = SegmentAssignment.Kind.FINAL
        elif exception:
            kind = SegmentAssignment.Kind.EXCEPTION
        elif proposal.kind == Kind.REVIEW and proposal.segment == case.segment:
            kind = SegmentAssignment.Kind.REVIEW
        else:
            kind = SegmentAssignment.Kind.CHANGE
        _assign(
            case=case,
            segment=proposal.segment,
            kind=kind,
            kept_until=kept_until if exception else None,
            justification=note.strip() if exception else proposal.justification,
            # An assistant only asks; the section head who grants the request decides.
            decided_by_id=actor.user.pk
            if proposal.kind == Kind.REQUEST
            else proposal.proposed_by_id,
            approved_by_id=actor.user.pk,
            proposal=proposal,
        )
        # A change answers a pending request of the assistant as well.
        if proposal.kind != Kind.REQUEST:
            for request in SegmentProposal.objects.filter(
                case=case, kind=Kind.REQUEST, status=Status.PROPOSED, segment=proposal.segment
            ).exclude(proposed_by=actor.user):
                _decide(request, actor=actor, status=Status.CONFIRMED, note=note)
                resolve_rule_tasks(
                    case=case,
                    kinds=["segment_decision"],
                    user_id=actor.user.pk,
                    key=f"proposal:{request.pk}",
                )
    _record(
        case,
        actor=actor,
        kind=f"segment_{proposal.kind}_confirmed",
        reason=note or proposal.segment,
    )
    return proposal


@transaction.atomic
def do_reject_proposal(*, actor: Actor, proposal: SegmentProposal, note: str) -> SegmentProposal:
    """Refuse a proposal, with the reason. Section heads decide every kind; the responsible
    worker may also refuse an assistant's request."""
    case = _lock(proposal.case)
    proposal = SegmentProposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status != Status.PROPOSED:
        raise ValidationError(_("This proposal was already decided."), code="decided")
    if proposal.kind == Kind.REQUEST:
        check_answers_request(actor, case)
    else:
        check_section_head(actor, case)
    check_four_eyes(actor, proposal)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Give the reason for the refusal.")}, code="required")
    _decide(proposal, actor=actor, status=Status.REJECTED, note=note)
    _record(case, actor=actor, kind=f"segment_{proposal.kind}_rejected", reason=note)
    return proposal


def may_answer_request(actor: Actor, case: Case) -> bool:
    """S4: the responsible social worker decides on the assistant's request; a section head
    only when nobody is responsible for the dossier."""
    if actor.organisation_id != case.owner_id:
        return False
    if case.responsible_id is not None:
        return case.responsible_id == actor.user.pk
    return is_section_head_of(actor, case)


def check_answers_request(actor: Actor, case: Case) -> None:
    if not may_answer_request(actor, case):
        raise ValidationError(
            _("The responsible social worker decides on the assistant's request."),
            code="worker_decides",
        )


@transaction.atomic
def do_accept_request(
    *,
    actor: Actor,
    request: SegmentProposal,
    criteria: Sequence[SegmentCriterion],
    justification: str,
) -> SegmentProposal | SegmentAssignment:
    """The responsible worker accepts the assistant's request (S4): their change proposal
    with criteria and justification goes to the section head, who controls it (a section
    head answering for a dossier without a responsible worker changes the segment at once)."""
    case = _lock(request.case)
    request = SegmentProposal.objects.select_for_update().get(pk=request.pk)
    if request.kind != Kind.REQUEST:
        raise ValueError("not an assistant's request")
    if request.status != Status.PROPOSED:
        raise ValidationError(_("This proposal was already decided."), code="decided")
    _check_stage(case, Kind.CHANGE)
    check_answers_request(actor, case)
    check_four_eyes(actor, request)
    justification = check_justification(justification)
    check_criteria(request.segment, criteria)
    head = is_section_head_of(actor, case)
    if not head:
        _check_pending(case, Kind.CHANGE)
    _decide(request, actor=actor, status=Status.CONFIRMED, note=justification)
    _record(case, actor=actor, kind="segment_request_confirmed", reason=justification[:1000])
    if head:
        assignment = _assign(
            case=case,
            segment=request.segment,
            kind=SegmentAssignment.Kind.CHANGE,
            justification=justification,
            decided_by_id=actor.user.pk,
            approved_by_id=actor.user.pk,
            proposal=request,
        )
        _record(
            case,
            actor=actor,
            kind="segment_changed",
            reason=f"{request.segment}: {justification}"[:1000],
        )
        return assignment
    proposal = _create_proposal(
        actor=actor,
        case=case,
        kind=Kind.CHANGE,
        segment=request.segment,
        criteria=criteria,
        justification=justification,
    )
    create_decision_task(proposal=proposal)
    return proposal


def _decide(proposal: SegmentProposal, *, actor: Actor, status: str, note: str) -> None:

    SegmentProposal.objects.filter(pk=proposal.pk).update(
        status=status, decided_by=actor.user, decided_at=timezone.now(), decision_note=note.strip()
    )
    proposal.refresh_from_db()
    resolve_rule_tasks(
        case=proposal.case,
        kinds=["segment_decision"],
        user_id=actor.user.pk,
        key=f"proposal:{proposal.pk}",
    )


# --- decisions that take effect at once -----------------------------------------------------


@transaction.atomic
def do_decide_final_segment(
    *,
    actor: Actor,
    case: Case,
    segment: str,
    criteria: Sequence[SegmentCriterion],
    justification: str,
) -> SegmentAssignment | SegmentProposal:
    """The receiving worker's final decision within 3 months of receipt (S3).

    Keeping the proposed segment takes effect at once (the section head controls it in the
    cockpit). Another segment is a ``final`` proposal the section head confirms, unless the
    actor is a section head, who performs the change directly (S4)."""

    case = _lock(case)
    guard_final(actor, case)
    head = is_section_head_of(actor, case)
    check_segment(segment)
    justification = check_justification(justification)
    check_criteria(segment, criteria)
    if segment == case.segment or head:
        assignment = _assign(
            case=case,
            segment=segment,
            kind=SegmentAssignment.Kind.FINAL,
            justification=justification,
            decided_by_id=actor.user.pk,
            approved_by_id=actor.user.pk if head else None,
        )
        _record(
            case,
            actor=actor,
            kind="segment_final_decided",
            reason=f"{segment}: {justification}"[:1000],
        )
        return assignment
    proposal = _create_proposal(
        actor=actor,
        case=case,
        kind=Kind.FINAL,
        segment=segment,
        criteria=criteria,
        justification=justification,
    )
    create_decision_task(proposal=proposal)
    return proposal


@transaction.atomic
def do_change_segment(
    *,
    actor: Actor,
    case: Case,
    segment: str,
    criteria: Sequence[SegmentCriterion],
    justification: str,
) -> SegmentAssignment:
    """The section head performs a change of segment at any time, with a justification (S4)."""
    case = _lock(case)
    _check_stage(case, Kind.CHANGE)
    check_section_head(actor, case)
    check_segment(segment)
    justification = check_justification(justification)
    check_criteria(segment, criteria)
    if segment == case.segment:
        raise ValidationError(
            {"segment": _("The dossier is already in segment %(segment)s.") % {"segment": segment}},
            code="same_segment",
        )
    assignment = _assign(
        case=case,
        segment=segment,
        kind=SegmentAssignment.Kind.CHANGE,
        justification=justification,
        decided_by_id=actor.user.pk,
        approved_by_id=actor.user.pk,
    )
    _record(case, actor=actor, kind="segment_changed", reason=f"{segment}: {justification}"[:1000])
    return assignment


def segment_history(case: Case) -> list[SegmentAssignment]:
    """The periods of the dossier, oldest first, without same-day superseded ones."""
    return list(
        SegmentAssignment.objects.filter(case=case)
        .exclude(until=F("since"))
        .select_related("decided_by", "approved_by")
        .order_by("since", "recorded_at")
    )
