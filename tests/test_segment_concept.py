"""The segment concept as its text says it (issue 6, section 5; seed 003): the seeded norms,
what counts as a contact, segment A's maximum and its exception, Intake 2's exit potential,
the assistant's request decided by the worker, the objectives at the review, the portfolio
guide values, and the steps offered from the lifecycle's guards (issue 6, section 7)."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from filum.cases.models import Case, SegmentAssignment, SegmentObjective, SegmentProposal
from filum.followup import lifecycle, segments
from filum.followup.cockpit import WorkerLine
from filum.followup.evaluation import load_rules
from filum.followup.lights import light_for_case
from filum.followup.models import NormRule, Task
from filum.followup.rules import DEFAULT_RULES
from filum.journal import services as journal
from filum.journal.models import Contact, ContactKind, Topic
from tests import factories
from tests.test_steering_views import criterion, in_counselling, in_intake_2

D = datetime.date


def back_to(world, start: D) -> None:
    Case.objects.filter(pk=world.case.pk).update(opened_on=start)
    world.case.refresh_from_db()


def at(day: D):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(10)), tick=False)


def record(persona, case, kind: str, topic: str, minutes: int | None = None) -> Contact:
    return journal.do_record_contact(
        actor=persona.actor,
        case=case,
        kind=kind,
        date=timezone.localdate() - datetime.timedelta(days=2),
        topic=Topic.objects.get(code=topic),
        duration_minutes=minutes,
    )


# --- the seeded norms -----------------------------------------------------------------------


def test_s6_seeded_norms_equal_the_defaults_in_code(db):
    seeded = load_rules(timezone.localdate())
    assert dict(seeded.norms) == dict(DEFAULT_RULES.norms)
    # and the rows themselves say what the concept says
    a = NormRule.objects.get(key="A")
    assert (a.period_months, a.min_interviews, a.max_interviews, a.time_limit_months) == (
        6,
        4,
        6,
        6,
    )
    assert a.limit_is_maximum and str(a.face_to_face_share) == "0.80"
    intake_2 = NormRule.objects.get(key="intake_2")
    assert (intake_2.period_months, intake_2.min_interviews, intake_2.max_interviews) == (
        None,
        None,
        None,
    )
    assert str(intake_2.face_to_face_share) == "0.80"
    assert str(NormRule.objects.get(key="C").face_to_face_share) == "1.00"
    assert not NormRule.objects.get(key="B").limit_is_maximum


# --- what counts as a contact (S6) ----------------------------------------------------------


def test_s6_partner_entries_are_shown_but_not_counted(world):
    factories.ShareFactory(
        case=world.case,
        owner=world.service_org,
        organisation=world.partner_org,
        sections=["journal"],
        access="write",
        granted_by=world.head.user,
    )
    entry = record(world.partner, world.case, ContactKind.INTERVIEW, "work", 45)
    assert entry.author_organisation_id == world.partner_org.pk
    assert not entry.counts and not entry.is_face_to_face
    assert not Contact.objects.counted().filter(pk=entry.pk).exists()
    own = record(world.worker, world.case, ContactKind.INTERVIEW, "work", 45)
    assert own.counts and own.is_face_to_face
    page = world.worker.client().get(reverse("journal_list", args=[world.case.pk]))
    body = page.content.decode()
    assert "partenaire, non comptée" in body  # "partner entry, not counted"
    assert str(world.partner_org) in body
    assert page.context["summary"]["total"] == 1


def test_s6_letters_and_administrative_topics_are_not_interviews(world):
    letter = record(world.worker, world.case, ContactKind.LETTER, "health")
    admin = record(world.worker, world.case, ContactKind.INTERVIEW, "administration", 15)
    phone = record(world.worker, world.case, ContactKind.PHONE, "health")
    assert (letter.counts, admin.counts, phone.counts) == (False, False, True)
    assert not Topic.objects.get(code="administration").is_social_work


# --- segment A: at most 6 months, the exception (S5) ----------------------------------------


def test_s5_keeping_segment_a_beyond_6_months_is_a_section_head_exception(world):
    start = timezone.localdate() - datetime.timedelta(days=200)
    back_to(world, start)
    with at(start):
        case = in_counselling(world, segment="A")
        segments.do_decide_final_segment(
            actor=world.worker.actor,
            case=case,
            segment="A",
            criteria=[criterion("A")],
            justification="Crise",
        )
    light = light_for_case(case.pk)
    assert light.css == "red"
    assert {"time_limit_expired", "segment_beyond_maximum"} <= {
        f.code for f in light.evaluation.findings
    }
    review = segments.do_propose_segment(
        actor=world.worker.actor,
        case=case,
        segment="A",
        criteria=[criterion("A")],
        justification="Logement encore instable",
        kind="review",
    )
    head = world.head.client()
    page = head.get(reverse("proposal_decide", args=[case.pk, review.pk]))
    assert "kept_until" in page.context["form"].fields
    # without a reason and an end date nothing is recorded
    response = head.post(
        reverse("proposal_decide", args=[case.pk, review.pk]), {"decision": "confirm"}
    )
    assert response.status_code == 200 and response.context["form"].errors
    review.refresh_from_db()
    assert review.is_pending
    until = timezone.localdate() + datetime.timedelta(days=60)
    response = head.post(
        reverse("proposal_decide", args=[case.pk, review.pk]),
        {"decision": "confirm", "note": "Relogement en cours", "kept_until": until.isoformat()},
    )
    assert response.status_code == 302
    last = SegmentAssignment.objects.filter(case=case).order_by("since", "recorded_at").last()
    assert (last.kind, last.kept_until, last.justification) == (
        "exception",
        until,
        "Relogement en cours",
    )
    for _n in range(4):  # the contact norm of A is met, so only the time limit matters
        record(world.worker, case, ContactKind.INTERVIEW, "housing", 30)
    light = light_for_case(case.pk)
    assert light.css == "green"
    beyond = next(f for f in light.evaluation.findings if f.code == "segment_beyond_maximum")
    assert beyond.params["entry"] == start  # the clock did not restart
    team = head.get(reverse("cockpit_team")).context["view"]
    assert case.pk in [row.case.pk for row in team.info_rows]
    assert case.pk not in [row.case.pk for row in team.red_rows]


def test_s5_review_is_offered_from_the_rules_finding_not_a_view_window(world):
    start = timezone.localdate() - datetime.timedelta(days=130)
    back_to(world, start)
    with at(start):
        case = in_counselling(world, segment="A")
    # 130 days into A's 6 months: more than 30 days (the rule's warning) before the limit
    steps = [s.url_name for s in lifecycle.available_steps(case, world.worker.actor)]
    assert "segment_review" not in steps
    with pytest.raises(ValidationError):
        segments.guard_review(case)
    response = world.worker.client().get(reverse("segment_review", args=[case.pk]))
    assert response.status_code == 302
    with at(start + datetime.timedelta(days=160)):
        steps = [s.url_name for s in lifecycle.available_steps(case, world.worker.actor)]
        assert "segment_review" in steps


def test_p6_steering_buttons_are_the_lifecycles_available_steps(world):
    for persona in ("worker", "head", "assistant", "intake"):
        actor = getattr(world, persona).actor
        response = (
            getattr(world, persona)
            .client()
            .get(reverse("case_steering_panel", args=[world.case.pk]))
        )
        state = response.context["state"]
        expected = lifecycle.available_steps(world.case, actor)
        assert [a.url_name for a in state.actions] == [s.url_name for s in expected], persona
    assert lifecycle.available_steps(world.case, world.outsider.actor) == []


# --- Intake 2: exit potential ---------------------------------------------------------------


def test_seg5_exit_potential_within_6_months_stays_in_intake_2(world):
    case = in_intake_2(world)
    worker = world.worker.client()
    steps = [s.url_name for s in lifecycle.available_steps(case, world.worker.actor)]
    assert "exit_potential" in steps and "segment_propose" in steps
    # a labour-market exit without a date is refused and nothing changes
    response = worker.post(
        reverse("exit_potential", args=[case.pk]), {"potential": "labour_market"}
    )
    assert response.status_code == 200 and "expected_by" in response.context["form"].errors
    case.refresh_from_db()
    assert case.exit_potential == ""
    by = timezone.localdate() + datetime.timedelta(days=90)
    response = worker.post(
        reverse("exit_potential", args=[case.pk]),
        {"potential": "labour_market", "expected_by": by.isoformat(), "reason": "Emploi promis"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.exit_potential, case.exit_expected_by) == ("labour_market", by)
    steps = [s.url_name for s in lifecycle.available_steps(case, world.worker.actor)]
    assert "segment_propose" not in steps
    with pytest.raises(ValidationError) as exc:
        segments.do_propose_segment(
            actor=world.worker.actor,
            case=case,
            segment="B",
            criteria=[criterion("B")],
            justification="x",
        )
    assert exc.value.code == "stays_in_intake_2"
    # the expected exit is the deadline the rules watch
    assert light_for_case(case.pk).evaluation.deadlines["exit_expected"] == by
    # an exit beyond six months: the dossier is segmented as usual
    lifecycle.do_record_exit_potential(
        actor=world.worker.actor,
        case=case,
        potential="social_insurance",
        expected_by=timezone.localdate() + datetime.timedelta(days=400),
    )
    case.refresh_from_db()
    segments.do_propose_segment(
        actor=world.worker.actor,
        case=case,
        segment="B",
        criteria=[criterion("B")],
        justification="x",
    )


# --- the assistant's request goes to the worker (S4) ----------------------------------------


def test_s4_assistants_request_is_decided_by_the_responsible_worker(world):
    case = in_counselling(world, segment="C")
    assistant, worker, head = (
        world.assistant.client(),
        world.worker.client(),
        world.head.client(),
    )
    assistant.post(
        reverse("segment_request", args=[case.pk]),
        {"segment": "B", "justification": "Nouvelles dettes"},
    )
    request = SegmentProposal.objects.get(case=case, kind="request")
    task = Task.objects.get(rule_key=f"proposal:{request.pk}")
    assert task.assigned_to == world.worker.user
    # the worker's task leads to a page where they can decide
    task_page = worker.get(reverse("task_detail", args=[task.pk])).content.decode()
    assert reverse("request_answer", args=[case.pk, request.pk]) in task_page
    steps = [s.url_name for s in lifecycle.available_steps(case, world.worker.actor)]
    assert "request_answer" in steps
    # the section head sees it but does not decide it
    team = head.get(reverse("cockpit_team")).context["view"]
    assert request.pk in [p.pk for p in team.requests]
    assert request.pk not in [p.pk for p in team.pending]
    with pytest.raises(ValidationError):
        segments.do_confirm_proposal(actor=world.head.actor, proposal=request)
    # accepting without criteria is refused and nothing changes
    url = reverse("request_answer", args=[case.pk, request.pk])
    response = worker.post(url, {"decision": "accept", "justification": "Dettes à traiter"})
    assert response.status_code == 200 and "criteria" in response.context["form"].errors
    request.refresh_from_db()
    assert request.is_pending
    response = worker.post(
        url,
        {
            "decision": "accept",
            "criteria": [criterion("B").pk],
            "justification": "Dettes à traiter",
        },
    )
    assert response.status_code == 302
    request.refresh_from_db()
    change = SegmentProposal.objects.get(case=case, kind="change", status="proposed")
    assert request.status == "confirmed" and change.segment == "B"
    assert change.proposed_by == world.worker.user
    # the section head controls: the change waits for them
    team = head.get(reverse("cockpit_team")).context["view"]
    assert change.pk in [p.pk for p in team.pending]


def test_s4_worker_refuses_the_assistants_request_with_a_reason(world):
    case = in_counselling(world, segment="C")
    request = segments.do_request_segment(
        actor=world.assistant.actor, case=case, segment="A", justification="Crise"
    )
    url = reverse("request_answer", args=[case.pk, request.pk])
    response = world.worker.client().post(url, {"decision": "reject", "justification": " "})
    assert response.status_code == 200
    response = world.worker.client().post(
        url, {"decision": "reject", "justification": "Crise réglée"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.decision_note) == ("rejected", "Crise réglée")
    # a colleague who is not responsible cannot answer
    other = segments.do_request_segment(
        actor=world.assistant.actor, case=case, segment="B", justification="Santé"
    )
    response = world.colleague.client().get(reverse("request_answer", args=[case.pk, other.pk]))
    assert response.status_code in (302, 404)
    other.refresh_from_db()
    assert other.is_pending


# --- objectives at the review (S13) ---------------------------------------------------------


def test_s13_objectives_are_seeded_from_the_concept_and_recorded_at_the_review(world):
    counts = Counter(SegmentObjective.objects.values_list("segment", flat=True))
    assert counts == {"A": 3, "B": 2, "C": 3}
    stable = SegmentObjective.objects.get(code="A_STABILISED")
    assert stable.text_fr == "La situation est stabilisée." and stable.text_de
    start = timezone.localdate() - datetime.timedelta(days=170)
    back_to(world, start)
    with at(start):
        case = in_counselling(world, segment="A")
    reached = list(SegmentObjective.objects.filter(segment="A")[:2])
    response = world.worker.client().post(
        reverse("segment_review", args=[case.pk]),
        {
            "segment": "B",
            "criteria": [criterion("B").pk],
            "objectives": [o.pk for o in reached],
            "justification": "Situation stabilisée",
        },
    )
    assert response.status_code == 302
    review = SegmentProposal.objects.get(case=case, kind="review")
    assert set(review.objectives_reached.all()) == set(reached)
    page = world.head.client().get(reverse("proposal_decide", args=[case.pk, review.pk]))
    assert reached[0].text_fr in page.content.decode()
    # objectives of another segment are refused
    review.status = "cancelled"
    SegmentProposal.objects.filter(pk=review.pk).update(
        status="cancelled", decided_at=timezone.now()
    )
    with pytest.raises(ValidationError):
        segments.do_propose_segment(
            actor=world.worker.actor,
            case=case,
            segment="B",
            criteria=[criterion("B")],
            justification="x",
            kind="review",
            objectives=list(SegmentObjective.objects.filter(segment="C")[:1]),
        )


# --- portfolio guide values (S8) ------------------------------------------------------------


@translation.override("en")
def test_s8_portfolio_guide_values_compare_unrounded_shares_without_a_b_band(db):
    line = WorkerLine(user=None, role="social_worker")  # type: ignore[arg-type]
    line.counts.update({"A": 2, "B": 11, "C": 8})  # A 9.5 % (rounds to 10), C 38 %
    assert line.share_a == 10
    assert [str(f) for f in line.guide_flags] == ["A below 10 %"]
    line.counts.clear()
    line.counts.update({"A": 2, "B": 1, "C": 2})  # A 40 %, B 20 % (no band), C 40 %
    assert line.guide_flags == []
    line.counts["C"] += 1  # C 50 %
    assert [str(f) for f in line.guide_flags] == ["C above 40 %"]
