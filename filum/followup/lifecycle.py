"""The stages of a dossier as an explicit lifecycle (P6).

Intake 1 (competence and subsidiarity: accept or reject) -> Intake 2 (problem and resource
analysis, segment proposal) -> counselling (segment A/B/C) -> closed. ``TRANSITIONS`` is the
table of allowed steps; each step is one ``do_...`` function that checks its guard, changes the
dossier and records a ``CaseTransition`` (who, when, why). A step the table does not allow
raises ``ValidationError`` before anything is written.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filum.cases import services
from filum.cases.changes import facts_changed
from filum.cases.models import (
    Case,
    CaseTransition,
    ClosureReason,
    ExitPotential,
    Segment,
    SegmentAssignment,
    SegmentProposal,
    Stage,
    TransferReport,
    TransitionText,
)
from filum.followup import segments
from filum.followup.rules import Evaluation
from filum.followup.services import cancel_open_tasks
from filum.tenancy.models import Membership, Role, Team, User
from filum.tenancy.policy import Actor, Relation

OPEN_STAGES = frozenset({Stage.INTAKE_1, Stage.INTAKE_2, Stage.COUNSELLING})
# Roles that can be responsible for a dossier in counselling.
CASEWORKER_ROLES = frozenset({Role.SOCIAL_WORKER, Role.SECTION_HEAD})


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    label: Promise


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition(
            "accept_intake",
            frozenset({Stage.INTAKE_1}),
            Stage.INTAKE_2,
            gettext_lazy("Accept the request (to Intake 2)"),
        ),
        Transition(
            "reject_intake",
            frozenset({Stage.INTAKE_1}),
            Stage.CLOSED,
            gettext_lazy("Reject the request"),
        ),
        Transition(
            "transfer_to_counselling",
            frozenset({Stage.INTAKE_2}),
            Stage.COUNSELLING,
            gettext_lazy("Transfer to counselling"),
        ),
        Transition("close", OPEN_STAGES, Stage.CLOSED, gettext_lazy("Close the dossier")),
    )
}


def allowed_transitions(case: Case) -> list[Transition]:
    """The steps the table allows from the dossier's stage (guards may still refuse)."""
    return [t for t in TRANSITIONS.values() if case.stage in t.sources]


def check_transition(case: Case, name: str) -> Transition:
    transition = TRANSITIONS[name]
    if case.stage not in transition.sources:
        raise ValidationError(
            _("“%(step)s” is not possible for a dossier in stage “%(stage)s”.")
            % {"step": transition.label, "stage": Stage(case.stage).label},
            code="illegal_transition",
        )
    return transition


def _lock(case: Case) -> Case:
    """Re-read the dossier under a row lock, so two steps cannot race."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    # Every step locks the dossier to change it: its kept light is evaluated again on commit.
    facts_changed([locked.pk])
    return locked


def _record(
    case: Case,
    *,
    actor: Actor,
    kind: str,
    from_stage: str,
    to_stage: str,
    reason: str = "",
    reason_key: str = "",
    reason_params: dict[str, str] | None = None,
    on: datetime.date | None = None,
) -> None:
    CaseTransition.objects.create(
        case=case,
        effective_on=on,
        owner_id=case.owner_id,
        kind=kind,
        reason=reason,
        reason_key=reason_key,
        reason_params=reason_params or {},
        from_stage=from_stage,
        to_stage=to_stage,
        actor=actor.user,
    )


def _required_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message}, code="required")
    return value


def _effective_day(
    on: datetime.date | None, *, not_before: datetime.date, field: str
) -> datetime.date:
    day = on or timezone.localdate()
    if day > timezone.localdate():
        raise ValidationError({field: _("The date cannot be in the future.")}, code="future")
    if day < not_before:
        raise ValidationError(
            {field: _("The date cannot be before %(date)s.") % {"date": f"{not_before:%d.%m.%Y}"}},
            code="too_early",
        )
    return day


def check_caseworker(
    *, case: Case, user: User, team: Team | None, roles: frozenset[str] = CASEWORKER_ROLES
) -> None:
    """The receiving worker must be an active member of the dossier's organisation."""
    if (
        not Membership.objects.active()
        .filter(user=user, organisation_id=case.owner_id, role__in=roles)
        .exists()
    ):
        raise ValidationError(
            {"to_worker": _("Choose a social worker of the dossier's organisation.")},
            code="not_member",
        )
    if team is not None and team.organisation_id != case.owner_id:
        raise ValidationError(
            {"to_team": _("Choose a team of the dossier's organisation.")}, code="foreign_team"
        )


def _stage_entry(case: Case) -> datetime.date:
    return case.stage_since or case.opened_on


@transaction.atomic
def do_accept_intake(
    *, actor: Actor, case: Case, reason: str, on: datetime.date | None = None
) -> Case:
    """Intake 1 -> Intake 2: the service is competent and the aid subsidiary."""
    case = _lock(case)
    check_transition(case, "accept_intake")
    reason = _required_text(reason, "reason", _("Give the reason for the admission."))
    day = _effective_day(on, not_before=_stage_entry(case), field="on")
    Case.objects.filter(pk=case.pk).update(
        stage=Stage.INTAKE_2,
        stage_since=day,
        short_term_advance=False,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    case.refresh_from_db()
    _record(
        case,
        actor=actor,
        kind="intake_accepted",
        reason=reason,
        from_stage=Stage.INTAKE_1,
        to_stage=Stage.INTAKE_2,
        on=day,
    )
    return case


@transaction.atomic
def do_reject_intake(
    *, actor: Actor, case: Case, reason: str, closed_on: datetime.date | None = None
) -> Case:
    """Intake 1 -> closed with the exit reason "rejected" (not competent, or not subsidiary)."""
    case = _lock(case)
    check_transition(case, "reject_intake")
    reason = _required_text(reason, "reason", _("Give the reason for the rejection."))
    day = _effective_day(closed_on, not_before=case.opened_on, field="closed_on")
    case = services.do_close_case(
        actor=actor, case=case, closed_on=day, reason=ClosureReason.REJECTED, note=reason
    )
    _wind_up(actor=actor, case=case, closed_on=day)
    return case


@transaction.atomic
def do_record_exit_potential(
    *,
    actor: Actor,
    case: Case,
    potential: str,
    expected_by: datetime.date | None,
    reason: str = "",
) -> Case:
    """Intake 2's assessment of the exit potential (SEG 5): through the labour market or social
    insurance, expected by a date, or none. Within six months the dossier stays in Intake 2
    and is not segmented; the rules flag it when the expected date has passed."""
    case = _lock(case)
    guard_exit_potential(case)
    if potential not in ExitPotential.values:
        raise ValidationError({"potential": _("Choose the exit potential.")}, code="required")
    if potential == ExitPotential.NONE:
        expected_by = None
    elif expected_by is None:
        raise ValidationError(
            {"expected_by": _("Give the date by which the exit is expected.")}, code="required"
        )
    elif expected_by < timezone.localdate():
        raise ValidationError(
            {"expected_by": _("The expected exit cannot lie in the past.")}, code="past"
        )
    Case.objects.filter(pk=case.pk).update(
        exit_potential=potential,
        exit_expected_by=expected_by,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    case.refresh_from_db()
    label = ExitPotential(potential).label
    when = f" ({expected_by:%d.%m.%Y})" if expected_by else ""
    _record(
        case,
        actor=actor,
        kind="exit_potential_recorded",
        reason=f"{label}{when}: {reason.strip()}" if reason.strip() else f"{label}{when}",
        from_stage=case.stage,
        to_stage=case.stage,
    )
    return case


@transaction.atomic
def do_set_short_term_advance(*, actor: Actor, case: Case, advance: bool, reason: str = "") -> Case:
    """Mark (or unmark) a dossier in Intake 1 as a short-term advance: it may stay in Intake 1
    for at most 3 months, after which it is flagged red (P6)."""
    case = _lock(case)
    if case.stage != Stage.INTAKE_1:
        raise ValidationError(
            _("Only a dossier in Intake 1 can be a short-term advance."), code="illegal_transition"
        )
    Case.objects.filter(pk=case.pk).update(
        short_term_advance=advance, version=F("version") + 1, updated_at=timezone.now()
    )
    case.refresh_from_db()
    _record(
        case,
        actor=actor,
        kind="short_term_advance" if advance else "short_term_advance_ended",
        reason=reason,
        from_stage=case.stage,
        to_stage=case.stage,
    )
    return case


@transaction.atomic
def do_transfer_to_counselling(
    *,
    actor: Actor,
    case: Case,
    proposal: SegmentProposal,
    to_worker: User,
    to_team: Team | None,
    report: str,
    assessment: str = "",
    on: datetime.date | None = None,
) -> TransferReport:
    """Intake 2 -> counselling (S2, S3): needs the confirmed first segment proposal, a transfer
    report and a receiving worker. The proposed segment becomes the initial assignment; the
    receiving worker then has 3 months for the final decision (counted from ``on``)."""
    case = _lock(case)
    guard_transfer(case)
    if (
        proposal.case_id != case.pk
        or proposal.kind != SegmentProposal.Kind.INITIAL
        or proposal.status != SegmentProposal.Status.CONFIRMED
    ):
        raise ValidationError(
            {"proposal": _("The transfer needs a segment proposal confirmed by a section head.")},
            code="no_confirmed_proposal",
        )
    if TransferReport.objects.filter(proposal=proposal).exists():
        raise ValidationError(
            {"proposal": _("This segment proposal was already used for a transfer.")}, code="used"
        )
    report = _required_text(report, "report", _("Write the transfer report."))
    check_caseworker(case=case, user=to_worker, team=to_team)
    day = _effective_day(on, not_before=_stage_entry(case), field="on")
    transfer = TransferReport.objects.create(
        case=case,
        owner_id=case.owner_id,
        from_team_id=case.team_id,
        from_worker_id=case.responsible_id,
        to_team=to_team,
        to_worker=to_worker,
        text=report,
        proposal=proposal,
        proposed_segment=proposal.segment,
        assessment=assessment.strip(),
        transferred_on=day,
        created_by=actor.user,
    )
    SegmentAssignment.objects.create(
        case=case,
        owner_id=case.owner_id,
        segment=proposal.segment,
        since=day,
        kind=SegmentAssignment.Kind.INITIAL,
        justification=proposal.justification,
        proposal=proposal,
        decided_by_id=proposal.proposed_by_id,
        approved_by_id=proposal.decided_by_id,
    )
    Case.objects.filter(pk=case.pk).update(
        stage=Stage.COUNSELLING,
        stage_since=day,
        received_on=day,
        responsible=to_worker,
        team=to_team,
        segment=proposal.segment,
        segment_since=day,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    case.refresh_from_db()
    _record(
        case,
        actor=actor,
        kind="transferred_to_counselling",
        reason_key=TransitionText.TRANSFERRED_TO_COUNSELLING,
        reason_params={"segment": proposal.segment, "worker": str(to_worker)},
        from_stage=Stage.INTAKE_2,
        to_stage=Stage.COUNSELLING,
        on=day,
    )
    return transfer


@transaction.atomic
def do_transfer_case(
    *,
    actor: Actor,
    case: Case,
    to_worker: User,
    to_team: Team | None,
    report: str,
    assessment: str = "",
    on: datetime.date | None = None,
) -> TransferReport:
    """Hand a dossier to another worker or team without changing its stage, with a report."""
    case = _lock(case)
    services.check_case_is_open(case)
    report = _required_text(report, "report", _("Write the transfer report."))
    roles = (
        CASEWORKER_ROLES | {Role.INTAKE_WORKER}
        if case.stage != Stage.COUNSELLING
        else CASEWORKER_ROLES
    )
    check_caseworker(case=case, user=to_worker, team=to_team, roles=frozenset(roles))
    day = _effective_day(on, not_before=case.opened_on, field="on")
    transfer = TransferReport.objects.create(
        case=case,
        owner_id=case.owner_id,
        from_team_id=case.team_id,
        from_worker_id=case.responsible_id,
        to_team=to_team,
        to_worker=to_worker,
        text=report,
        proposed_segment=case.segment,
        assessment=assessment.strip(),
        transferred_on=day,
        created_by=actor.user,
    )
    Case.objects.filter(pk=case.pk).update(
        responsible=to_worker, team=to_team, version=F("version") + 1, updated_at=timezone.now()
    )
    case.refresh_from_db()
    _record(
        case,
        actor=actor,
        kind="transferred",
        reason_key=TransitionText.TRANSFERRED,
        reason_params={"worker": str(to_worker)},
        from_stage=case.stage,
        to_stage=case.stage,
        on=day,
    )
    return transfer


@transaction.atomic
def do_close(
    *, actor: Actor, case: Case, closed_on: datetime.date, reason: str, note: str = ""
) -> Case:
    """Any open stage -> closed with an exit reason. Rejection has its own step in Intake 1."""
    case = _lock(case)
    check_transition(case, "close")
    if reason == ClosureReason.REJECTED:
        raise ValidationError(
            {"reason": _("A request is rejected in Intake 1 with “Reject the request”.")},
            code="illegal_transition",
        )
    if reason not in ClosureReason.values:
        raise ValidationError({"reason": _("Choose an exit reason.")}, code="required")
    case = services.do_close_case(
        actor=actor, case=case, closed_on=closed_on, reason=reason, note=note
    )
    _wind_up(actor=actor, case=case, closed_on=closed_on)
    return case


def _wind_up(*, actor: Actor, case: Case, closed_on: datetime.date) -> None:
    """On closure: end the segment period, cancel pending proposals and open tasks."""

    current = SegmentAssignment.objects.filter(case=case, until__isnull=True).first()
    if current is not None:
        SegmentAssignment.objects.filter(pk=current.pk).update(until=max(current.since, closed_on))
    SegmentProposal.objects.filter(case=case, status=SegmentProposal.Status.PROPOSED).update(
        status=SegmentProposal.Status.CANCELLED,
        decided_at=timezone.now(),
        decision_note=_("Dossier closed"),
    )
    cancel_open_tasks(actor=actor, case=case, note=_("Dossier closed"))


# --- guards and the steps an actor can take now ---------------------------------------------


def guard_accept_or_reject(case: Case) -> None:
    services.check_case_is_open(case)
    check_transition(case, "accept_intake")


def guard_exit_potential(case: Case) -> None:
    services.check_case_is_open(case)
    if case.stage != Stage.INTAKE_2:
        raise ValidationError(
            _("The exit potential is assessed in Intake 2."), code="illegal_transition"
        )


def guard_transfer(case: Case) -> None:
    services.check_case_is_open(case)
    check_transition(case, "transfer_to_counselling")
    segments.check_not_kept_in_intake_2(case)
    if segments.unused_confirmed_initial(case) is None:
        raise ValidationError(
            {"proposal": _("The transfer needs a segment proposal confirmed by a section head.")},
            code="no_confirmed_proposal",
        )


@dataclass(frozen=True)
class Step:
    """A step the actor can take on the dossier now, for the steering screens' buttons."""

    url_name: str
    label: Promise
    primary: bool = False
    args: tuple[object, ...] = ()


def _relation(actor: Actor, case: Case) -> Relation | None:
    if actor.organisation_id != case.owner_id:
        return None
    return Relation.OWN_CASE if case.responsible_id == actor.user.pk else Relation.OWN_ORG


def passes(guard: Callable[..., None], *args: object, **kwargs: object) -> bool:
    try:
        guard(*args, **kwargs)
    except ValidationError:
        return False
    return True


def available_steps(
    case: Case,
    actor: Actor,
    *,
    evaluation: Evaluation | None = None,
    pending: list[SegmentProposal] | None = None,
) -> list[Step]:
    """The steps the actor may take on the dossier now, from the same guards the steps check
    (a refused guard hides its button). Only the dossier's own organisation steers it.
    ``evaluation`` (the rules' findings as of today) and ``pending`` spare queries."""
    relation = _relation(actor, case)
    if relation is None or not case.is_open:
        return []

    def may(action: str) -> bool:
        return actor.may(action, relation)

    steps: list[Step] = []
    if may("case.transition") and passes(guard_accept_or_reject, case):
        steps.append(Step("intake_decide", gettext_lazy("Accept or reject the request"), True))
    if case.stage == Stage.INTAKE_2:
        if may("segment.propose") and passes(guard_exit_potential, case):
            steps.append(Step("exit_potential", gettext_lazy("Exit potential")))
        if may("segment.propose") and passes(segments.guard_propose_initial, case):
            steps.append(Step("segment_propose", gettext_lazy("Propose a segment"), True))
        if may("case.transition") and passes(guard_transfer, case):
            steps.append(Step("case_transfer", gettext_lazy("Transfer to counselling"), True))
    if case.stage == Stage.COUNSELLING:
        head = segments.is_section_head_of(actor, case)
        if may("segment.propose") and passes(segments.guard_final, actor, case):
            steps.append(Step("segment_final", gettext_lazy("Final segment decision"), True))
        if may("segment.propose") and passes(segments.guard_change, actor, case):
            label = (
                gettext_lazy("Change the segment")
                if head
                else gettext_lazy("Propose a segment change")
            )
            steps.append(Step("segment_change", label))
        due = (
            any(f.task_kind == "review_due" for f in evaluation.findings)
            if evaluation is not None
            else None
        )
        if may("segment.propose") and passes(segments.guard_review, case, due=due):
            steps.append(Step("segment_review", gettext_lazy("Review at the time limit"), True))
        if (
            may("segment.request")
            and case.segment == Segment.C
            and passes(segments.guard_request, case)
        ):
            steps.append(Step("segment_request", gettext_lazy("Request segment A or B")))
    if pending is None:
        pending = list(SegmentProposal.objects.pending().filter(case=case).order_by("proposed_at"))
    for proposal in pending:
        if proposal.proposed_by_id == actor.user.pk:
            continue
        if proposal.kind == SegmentProposal.Kind.REQUEST:
            if segments.may_answer_request(actor, case):
                steps.append(
                    Step(
                        "request_answer",
                        gettext_lazy("Answer the assistant's request"),
                        True,
                        (proposal.pk,),
                    )
                )
        elif may("segment.decide") and segments.is_section_head_of(actor, case):
            steps.append(
                Step(
                    "proposal_decide", gettext_lazy("Decide on the proposal"), True, (proposal.pk,)
                )
            )
    return steps
