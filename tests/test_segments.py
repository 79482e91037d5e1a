"""Segments A/B/C (S1-S5): criteria, four eyes, final decision, changes, requests, history."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from filum.cases.models import (
    Case,
    SegmentAssignment,
    SegmentCriterion,
    SegmentProposal,
    Stage,
)
from filum.followup import lifecycle, segments
from filum.followup.models import Task, TaskStatus
from filum.tenancy.models import Membership
from tests.conftest import make_persona

TODAY = datetime.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False) as traveller:
        yield traveller


def criteria(segment: str) -> list[SegmentCriterion]:
    return list(SegmentCriterion.objects.filter(segment=segment)[:1])


def propose(world, case: Case, segment: str = "B", kind: str = "initial", actor=None):
    return segments.do_propose_segment(
        actor=actor or world.worker.actor,
        case=case,
        segment=segment,
        criteria=criteria(segment),
        justification="Besoin de conseils en santé.",
        kind=kind,
    )


def in_intake_2(world) -> Case:
    return lifecycle.do_accept_intake(actor=world.intake.actor, case=world.case, reason="ok")


def in_counselling(world, segment: str = "B") -> Case:
    case = in_intake_2(world)
    proposal = segments.do_confirm_proposal(
        actor=world.head.actor, proposal=propose(world, case, segment)
    )
    lifecycle.do_transfer_to_counselling(
        actor=world.worker.actor,
        case=case,
        proposal=proposal,
        to_worker=world.worker.user,
        to_team=None,
        report="Rapport",
    )
    case.refresh_from_db()
    return case


def test_s1_criteria_are_seeded_for_each_segment_in_french_and_german(db):
    counts = {s: SegmentCriterion.objects.filter(segment=s).count() for s in "ABC"}
    assert counts == {"A": 3, "B": 2, "C": 3}
    crisis = SegmentCriterion.objects.get(code="A_STABILISATION")
    assert "perte de logement" in crisis.text_fr and "Wohnungsverlust" in crisis.text_de
    from django.utils import translation

    with translation.override("de"):
        assert crisis.text == crisis.text_de


def test_s1_segment_without_justification_is_refused(world):
    case = in_intake_2(world)
    with pytest.raises(ValidationError) as exc:
        segments.do_propose_segment(
            actor=world.worker.actor,
            case=case,
            segment="B",
            criteria=criteria("B"),
            justification=" ",
        )
    assert "justification" in exc.value.message_dict
    assert not SegmentProposal.objects.filter(case=case).exists()


def test_s1_justification_also_enforced_by_the_database(world):
    case = in_intake_2(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentProposal.objects.create(
            case=case,
            owner=case.owner,
            kind="initial",
            segment="B",
            justification="  ",
            proposed_by=world.worker.user,
        )


def test_s1_criteria_must_belong_to_the_segment(world):
    case = in_intake_2(world)
    with pytest.raises(ValidationError) as exc:
        segments.do_propose_segment(
            actor=world.worker.actor,
            case=case,
            segment="B",
            criteria=criteria("A"),
            justification="x",
        )
    assert "criteria" in exc.value.message_dict
    with pytest.raises(ValidationError):
        segments.do_propose_segment(
            actor=world.worker.actor, case=case, segment="B", criteria=[], justification="x"
        )


def test_s2_initial_proposal_only_in_intake_2(world):
    with pytest.raises(ValidationError) as exc:
        propose(world, world.case)
    assert exc.value.code == "illegal_transition"


def test_s2_proposal_creates_a_task_for_section_heads(world):
    case = in_intake_2(world)
    proposal = propose(world, case)
    task = Task.objects.get(case=case, rule_key=f"proposal:{proposal.pk}")
    assert (task.kind, task.assigned_role, task.assigned_to) == (
        "segment_decision",
        "section_head",
        None,
    )
    segments.do_confirm_proposal(actor=world.head.actor, proposal=proposal)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.closed_by == world.head.user


def test_s2_proposer_cannot_confirm_own_proposal(world):
    case = in_intake_2(world)
    proposal = propose(world, case, actor=world.head.actor)
    with pytest.raises(ValidationError) as exc:
        segments.do_confirm_proposal(actor=world.head.actor, proposal=proposal)
    assert exc.value.code == "four_eyes"
    proposal.refresh_from_db()
    assert proposal.status == "proposed" and proposal.decided_by is None


def test_s2_four_eyes_enforced_by_the_database(world):
    case = in_intake_2(world)
    proposal = propose(world, case)
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentProposal.objects.filter(pk=proposal.pk).update(
            status="confirmed", decided_by=world.worker.user, decided_at=proposal.proposed_at
        )


def test_s2_non_section_head_cannot_confirm(world):
    case = in_intake_2(world)
    proposal = propose(world, case)
    for persona in (world.colleague, world.assistant, world.intake):
        with pytest.raises(ValidationError) as exc:
            segments.do_confirm_proposal(actor=persona.actor, proposal=proposal)
        assert exc.value.code == "not_section_head"
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_s2_section_head_of_another_organisation_cannot_confirm(world):
    foreign_head = make_persona(world.outsider_org, "section_head", "foreign_head")
    case = in_intake_2(world)
    proposal = propose(world, case)
    with pytest.raises(ValidationError) as exc:
        segments.do_confirm_proposal(actor=foreign_head.actor, proposal=proposal)
    assert exc.value.code == "not_section_head"
    with pytest.raises(ValidationError):
        segments.do_reject_proposal(actor=foreign_head.actor, proposal=proposal, note="non")
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_s2_a_worker_who_is_also_section_head_elsewhere_counts_only_in_that_organisation(world):
    # the same user, section head in the outsider organisation, acting there
    membership = Membership.objects.create(
        user=world.colleague.user, organisation=world.outsider_org, role="section_head"
    )
    from filum.tenancy.policy import Actor

    case = in_intake_2(world)
    proposal = propose(world, case)
    with pytest.raises(ValidationError):
        segments.do_confirm_proposal(
            actor=Actor(user=world.colleague.user, membership=membership), proposal=proposal
        )


def test_s2_rejection_needs_a_reason_and_one_pending_per_kind(world):
    case = in_intake_2(world)
    proposal = propose(world, case)
    with pytest.raises(ValidationError):
        propose(world, case, "A")
    with pytest.raises(ValidationError):
        segments.do_reject_proposal(actor=world.head.actor, proposal=proposal, note="")
    segments.do_reject_proposal(actor=world.head.actor, proposal=proposal, note="Plutôt C")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by, proposal.decision_note) == (
        "rejected",
        world.head.user,
        "Plutôt C",
    )
    assert propose(world, case, "C").status == "proposed"


def test_s3_worker_keeps_the_segment_as_final_decision(world, frozen):
    case = in_counselling(world, "B")
    frozen.shift(datetime.timedelta(days=40))
    result = segments.do_decide_final_segment(
        actor=world.worker.actor,
        case=case,
        segment="B",
        criteria=criteria("B"),
        justification="Confirmé après trois entretiens.",
    )
    assert isinstance(result, SegmentAssignment) and result.kind == "final"
    history = segments.segment_history(case)
    assert [(h.segment, h.kind) for h in history] == [("B", "initial"), ("B", "final")]
    assert history[0].until == history[1].since == TODAY + datetime.timedelta(days=40)
    case.refresh_from_db()
    assert case.segment_since == TODAY  # still the entry into B
    with pytest.raises(ValidationError):
        segments.do_decide_final_segment(
            actor=world.worker.actor,
            case=case,
            segment="B",
            criteria=criteria("B"),
            justification="x",
        )


def test_s3_final_decision_for_another_segment_goes_to_the_section_head(world, frozen):
    case = in_counselling(world, "B")
    frozen.shift(datetime.timedelta(days=20))
    proposal = segments.do_decide_final_segment(
        actor=world.worker.actor,
        case=case,
        segment="C",
        criteria=criteria("C"),
        justification="Stable",
    )
    assert isinstance(proposal, SegmentProposal) and proposal.kind == "final"
    case.refresh_from_db()
    assert case.segment == "B"
    segments.do_confirm_proposal(actor=world.head.actor, proposal=proposal)
    case.refresh_from_db()
    assert (case.segment, case.segment_since) == ("C", TODAY + datetime.timedelta(days=20))
    last = segments.segment_history(case)[-1]
    assert (last.kind, last.decided_by, last.approved_by) == (
        "final",
        world.worker.user,
        world.head.user,
    )


def test_s3_only_the_responsible_worker_or_a_section_head_decides(world):
    case = in_counselling(world, "B")
    with pytest.raises(ValidationError) as exc:
        segments.do_decide_final_segment(
            actor=world.colleague.actor,
            case=case,
            segment="B",
            criteria=criteria("B"),
            justification="x",
        )
    assert exc.value.code == "not_responsible"


def test_s4_section_head_changes_segment_with_justification(world, frozen):
    case = in_counselling(world, "B")
    frozen.shift(datetime.timedelta(days=100))
    with pytest.raises(ValidationError):
        segments.do_change_segment(
            actor=world.head.actor, case=case, segment="A", criteria=criteria("A"), justification=""
        )
    with pytest.raises(ValidationError):
        segments.do_change_segment(
            actor=world.worker.actor,
            case=case,
            segment="A",
            criteria=criteria("A"),
            justification="x",
        )
    segments.do_change_segment(
        actor=world.head.actor,
        case=case,
        segment="A",
        criteria=criteria("A"),
        justification="Perte du logement",
    )
    case.refresh_from_db()
    assert (case.segment, case.segment_since) == ("A", TODAY + datetime.timedelta(days=100))
    assert [h.segment for h in segments.segment_history(case)] == ["B", "A"]


def test_s4_worker_change_proposal_takes_effect_when_confirmed(world):
    case = in_counselling(world, "B")
    proposal = propose(world, case, "C", kind="change")
    case.refresh_from_db()
    assert case.segment == "B"
    with pytest.raises(ValidationError):
        propose(world, case, "B", kind="change")  # already pending (and same segment)
    segments.do_confirm_proposal(actor=world.head.actor, proposal=proposal)
    case.refresh_from_db()
    assert case.segment == "C"


def test_s4_assistant_may_request_a_or_b_for_c_cases_only(world):
    case = in_counselling(world, "B")
    with pytest.raises(ValidationError):
        segments.do_request_segment(
            actor=world.assistant.actor, case=case, segment="A", justification="x"
        )
    segments.do_change_segment(
        actor=world.head.actor,
        case=case,
        segment="C",
        criteria=criteria("C"),
        justification="Stable",
    )
    case.refresh_from_db()
    with pytest.raises(ValidationError):
        segments.do_request_segment(
            actor=world.assistant.actor, case=case, segment="C", justification="x"
        )
    with pytest.raises(ValidationError):
        segments.do_request_segment(
            actor=world.assistant.actor, case=case, segment="A", justification=""
        )
    request = segments.do_request_segment(
        actor=world.assistant.actor,
        case=case,
        segment="A",
        justification="Crise: expulsion annoncée",
    )
    task = Task.objects.get(rule_key=f"proposal:{request.pk}")
    assert task.assigned_to == world.worker.user  # the responsible worker handles it
    # the worker turns it into their own proposal; the head's confirmation answers both
    change = propose(world, case, "A", kind="change")
    segments.do_confirm_proposal(actor=world.head.actor, proposal=change)
    request.refresh_from_db()
    case.refresh_from_db()
    assert case.segment == "A" and request.status == "confirmed"


def test_s4_worker_may_refuse_an_assistant_request(world):
    case = in_counselling(world, "C")
    request = segments.do_request_segment(
        actor=world.assistant.actor, case=case, segment="B", justification="Questions de santé"
    )
    segments.do_reject_proposal(
        actor=world.worker.actor, proposal=request, note="Réglé par téléphone"
    )
    request.refresh_from_db()
    assert request.status == "rejected"


def test_s5_review_keeping_b_restarts_the_time_limit(world, frozen):
    case = in_counselling(world, "B")
    frozen.shift(datetime.timedelta(days=720))  # 24 months less 11 days
    review = propose(world, case, "B", kind="review")
    segments.do_confirm_proposal(actor=world.head.actor, proposal=review)
    last = segments.segment_history(case)[-1]
    assert (last.segment, last.kind, last.since) == (
        "B",
        "review",
        TODAY + datetime.timedelta(days=720),
    )


def test_s5_keeping_a_needs_the_section_heads_reason_and_end_date(world, frozen):
    case = in_counselling(world, "A")
    frozen.shift(datetime.timedelta(days=180))
    review = propose(world, case, "A", kind="review")
    with pytest.raises(ValidationError) as exc:
        segments.do_confirm_proposal(actor=world.head.actor, proposal=review)
    assert set(exc.value.message_dict) == {"note", "kept_until"}
    review.refresh_from_db()
    assert review.is_pending
    too_late = TODAY + datetime.timedelta(days=180 + 200)
    with pytest.raises(ValidationError):
        segments.do_confirm_proposal(
            actor=world.head.actor, proposal=review, note="Crise", kept_until=too_late
        )
    until = TODAY + datetime.timedelta(days=180 + 60)
    segments.do_confirm_proposal(
        actor=world.head.actor, proposal=review, note="Relogement en cours", kept_until=until
    )
    last = segments.segment_history(case)[-1]
    assert (last.segment, last.kind, last.kept_until) == ("A", "exception", until)
    assert last.approved_by == world.head.user


def test_s4_assignment_periods_cannot_overlap(world):
    case = in_counselling(world, "B")
    with pytest.raises(IntegrityError), transaction.atomic():
        SegmentAssignment.objects.create(
            case=case,
            owner=case.owner,
            segment="C",
            since=TODAY - datetime.timedelta(days=10),
            until=TODAY + datetime.timedelta(days=10),
            kind="change",
            justification="x",
            decided_by=world.head.user,
        )


def test_s2_stage_check_on_counselling_only_steps(world):
    case = in_intake_2(world)
    assert case.stage == Stage.INTAKE_2
    with pytest.raises(ValidationError):
        propose(world, case, "C", kind="change")
