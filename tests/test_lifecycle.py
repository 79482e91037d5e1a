"""The lifecycle of a dossier (P6): allowed steps, guards, and nothing changes on refusal."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from filum.cases.models import (
    Case,
    CaseTransition,
    SegmentAssignment,
    SegmentCriterion,
    SegmentProposal,
    Stage,
    TransferReport,
)
from filum.followup import lifecycle, segments
from filum.followup.models import Task, TaskStatus
from tests import factories

TODAY = datetime.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False):
        yield


def _snapshot(case: Case) -> tuple:
    case.refresh_from_db()
    return (
        case.stage,
        case.status,
        case.version,
        case.segment,
        case.responsible_id,
        CaseTransition.objects.filter(case=case).count(),
        SegmentAssignment.objects.filter(case=case).count(),
        TransferReport.objects.filter(case=case).count(),
    )


def confirmed_proposal(world, case: Case, segment: str = "B") -> SegmentProposal:
    criteria = list(SegmentCriterion.objects.filter(segment=segment)[:1])
    proposal = segments.do_propose_segment(
        actor=world.worker.actor,
        case=case,
        segment=segment,
        criteria=criteria,
        justification="Besoin de conseils pour la santé et les finances.",
    )
    return segments.do_confirm_proposal(actor=world.head.actor, proposal=proposal)


def in_intake_2(world) -> Case:
    return lifecycle.do_accept_intake(
        actor=world.intake.actor, case=world.case, reason="Compétent, aide subsidiaire."
    )


def test_p6_transition_table_lists_steps_per_stage(world):
    names = {t.name for t in lifecycle.allowed_transitions(world.case)}
    assert names == {"accept_intake", "reject_intake", "close"}
    world.case.stage = Stage.COUNSELLING
    assert {t.name for t in lifecycle.allowed_transitions(world.case)} == {"close"}


def test_p6_accept_intake_moves_to_intake_2_and_records_who_and_why(world):
    case = in_intake_2(world)
    assert case.stage == Stage.INTAKE_2
    assert case.stage_since == TODAY
    step = CaseTransition.objects.filter(case=case, kind="intake_accepted").get()
    assert (step.from_stage, step.to_stage, step.actor) == (
        "intake_1",
        "intake_2",
        world.intake.user,
    )
    assert step.reason == "Compétent, aide subsidiaire."


def test_p6_accept_needs_a_reason(world):
    before = _snapshot(world.case)
    with pytest.raises(ValidationError) as exc:
        lifecycle.do_accept_intake(actor=world.intake.actor, case=world.case, reason="  ")
    assert "reason" in exc.value.message_dict
    assert _snapshot(world.case) == before


def test_p6_reject_intake_closes_with_reason_rejected(world):
    case = lifecycle.do_reject_intake(
        actor=world.intake.actor, case=world.case, reason="Domicile dans une autre commune."
    )
    assert (case.stage, case.status, case.closure_reason) == ("closed", "closed", "rejected")
    assert case.closed_on == TODAY


@pytest.mark.parametrize(
    "step",
    [
        lambda w, c: lifecycle.do_reject_intake(actor=w.intake.actor, case=c, reason="x"),
        lambda w, c: lifecycle.do_accept_intake(actor=w.intake.actor, case=c, reason="x"),
        lambda w, c: lifecycle.do_set_short_term_advance(
            actor=w.intake.actor, case=c, advance=True
        ),
    ],
)
def test_p6_illegal_transition_is_refused_and_nothing_changes(world, step):
    case = in_intake_2(world)
    before = _snapshot(case)
    with pytest.raises(ValidationError) as exc:
        step(world, case)
    assert exc.value.code == "illegal_transition" or "Intake 1" in str(exc.value)
    assert _snapshot(case) == before


def test_p6_transfer_from_intake_1_is_refused(world):
    before = _snapshot(world.case)
    with pytest.raises(ValidationError) as exc:
        lifecycle.do_transfer_to_counselling(
            actor=world.worker.actor,
            case=world.case,
            proposal=SegmentProposal(case=world.case),
            to_worker=world.colleague.user,
            to_team=None,
            report="Rapport",
        )
    assert "Transfer to counselling" in str(exc.value) or "Transférer" in str(exc.value)
    assert _snapshot(world.case) == before


def test_s2_transfer_needs_a_confirmed_proposal(world):
    case = in_intake_2(world)
    criteria = list(SegmentCriterion.objects.filter(segment="B")[:1])
    proposal = segments.do_propose_segment(
        actor=world.worker.actor, case=case, segment="B", criteria=criteria, justification="Santé"
    )
    before = _snapshot(case)
    with pytest.raises(ValidationError) as exc:
        lifecycle.do_transfer_to_counselling(
            actor=world.worker.actor,
            case=case,
            proposal=proposal,
            to_worker=world.colleague.user,
            to_team=None,
            report="Rapport de transfert",
        )
    assert "proposal" in exc.value.message_dict
    assert _snapshot(case) == before


def test_s2_transfer_needs_a_report_and_a_worker_of_the_organisation(world):
    case = in_intake_2(world)
    proposal = confirmed_proposal(world, case)
    before = _snapshot(case)
    with pytest.raises(ValidationError) as exc:
        lifecycle.do_transfer_to_counselling(
            actor=world.worker.actor,
            case=case,
            proposal=proposal,
            to_worker=world.colleague.user,
            to_team=None,
            report=" ",
        )
    assert "report" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        lifecycle.do_transfer_to_counselling(
            actor=world.worker.actor,
            case=case,
            proposal=proposal,
            to_worker=world.outsider.user,
            to_team=None,
            report="Rapport",
        )
    assert "to_worker" in exc.value.message_dict
    assert _snapshot(case) == before


def test_s2_transfer_to_counselling_assigns_the_confirmed_segment(world):
    case = in_intake_2(world)
    proposal = confirmed_proposal(world, case, "B")
    team = factories.TeamFactory(organisation=world.service_org, name="Conseil 2")
    report = lifecycle.do_transfer_to_counselling(
        actor=world.worker.actor,
        case=case,
        proposal=proposal,
        to_worker=world.colleague.user,
        to_team=team,
        report="Situation stable, besoins en santé.",
        assessment="Potentiel de sortie faible.",
    )
    case.refresh_from_db()
    assert (case.stage, case.segment, case.received_on, case.segment_since) == (
        "counselling",
        "B",
        TODAY,
        TODAY,
    )
    assert (case.responsible, case.team) == (world.colleague.user, team)
    assert report.proposed_segment == "B" and report.from_worker == world.worker.user
    assignment = SegmentAssignment.objects.get(case=case)
    assert (assignment.kind, assignment.decided_by, assignment.approved_by) == (
        "initial",
        world.worker.user,
        world.head.user,
    )
    # the proposal cannot be used twice
    with pytest.raises(ValidationError):
        lifecycle.do_transfer_to_counselling(
            actor=world.worker.actor,
            case=case,
            proposal=proposal,
            to_worker=world.colleague.user,
            to_team=None,
            report="Encore",
        )


def test_p6_close_ends_segment_and_cancels_tasks_and_proposals(world):
    case = in_intake_2(world)
    proposal = confirmed_proposal(world, case)
    lifecycle.do_transfer_to_counselling(
        actor=world.worker.actor,
        case=case,
        proposal=proposal,
        to_worker=world.worker.user,
        to_team=None,
        report="Rapport",
    )
    criteria = list(SegmentCriterion.objects.filter(segment="C")[:1])
    pending = segments.do_propose_segment(
        actor=world.worker.actor,
        case=case,
        segment="C",
        criteria=criteria,
        justification="Stable",
        kind="change",
    )
    case = lifecycle.do_close(
        actor=world.worker.actor, case=case, closed_on=TODAY, reason="employment"
    )
    assert case.stage == "closed" and case.closure_reason == "employment"
    assert SegmentAssignment.objects.get(case=case).until == TODAY
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    assert not Task.objects.filter(case=case, status=TaskStatus.OPEN).exists()


def test_p6_close_refuses_rejected_outside_intake_1_and_closed_dossiers(world):
    case = in_intake_2(world)
    before = _snapshot(case)
    with pytest.raises(ValidationError):
        lifecycle.do_close(actor=world.worker.actor, case=case, closed_on=TODAY, reason="rejected")
    assert _snapshot(case) == before
    lifecycle.do_close(actor=world.worker.actor, case=case, closed_on=TODAY, reason="moved")
    before = _snapshot(case)
    with pytest.raises(ValidationError):
        lifecycle.do_close(actor=world.worker.actor, case=case, closed_on=TODAY, reason="moved")
    assert _snapshot(case) == before


def test_p6_short_term_advance_flag_only_in_intake_1(world):
    case = lifecycle.do_set_short_term_advance(
        actor=world.intake.actor, case=world.case, advance=True, reason="Avance sur rente AI"
    )
    assert case.short_term_advance
    assert CaseTransition.objects.filter(case=case, kind="short_term_advance").exists()


def test_p6_transfer_between_teams_carries_a_report(world):
    team = factories.TeamFactory(organisation=world.service_org, name="Conseil 3")
    report = lifecycle.do_transfer_case(
        actor=world.worker.actor,
        case=world.case,
        to_worker=world.colleague.user,
        to_team=team,
        report="Changement de secteur",
    )
    world.case.refresh_from_db()
    assert world.case.responsible == world.colleague.user and world.case.team == team
    assert report.text == "Changement de secteur" and report.from_worker == world.worker.user
