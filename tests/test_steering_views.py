"""The steering screens through HTTP, as the named personas would use them: the journal (S6,
S7, S9), intake to counselling with the four-eyes segment proposal (S1-S4, P6), the cockpit
and the team view (I5, I7, S8, S11, S12, D5) with pinned query counts, and tasks (I8)."""

from __future__ import annotations

import datetime
import html

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case, SegmentCriterion, SegmentProposal, Stage
from filum.followup import kept, lifecycle, segments
from filum.followup.models import Task, TaskStatus
from filum.followup.rules import add_months
from filum.journal import services as journal
from filum.journal.models import Contact, ContactKind, ServiceAgreement, Topic
from filum.records.models import ReadLog
from tests import factories
from tests.conftest import make_persona

# Pinned query counts (request overhead included: the session, the user with their
# memberships, ...), with the lights kept (decision 0015) and with none kept yet: those are
# evaluated (4) and stored (1); the team view first lists them (1) and counts again afterwards
# (1).
COCKPIT_QUERIES = 9
COCKPIT_QUERIES_UNKEPT = COCKPIT_QUERIES + 5
TEAM_QUERIES = 11  # + the assistants' requests the head controls (S4)
TEAM_QUERIES_UNKEPT = TEAM_QUERIES + 7
# A later request of the same session within the minute writes no idle stamp (the session's
# save and what comes with it): three queries fewer.
COCKPIT_QUERIES_AGAIN = COCKPIT_QUERIES - 3
TEAM_QUERIES_AGAIN = TEAM_QUERIES - 3


def topic(code: str = "health") -> Topic:
    return Topic.objects.get(code=code)


def criterion(segment: str) -> SegmentCriterion:
    return SegmentCriterion.objects.filter(segment=segment, is_active=True).first()


def in_intake_2(world, case: Case | None = None) -> Case:
    return lifecycle.do_accept_intake(
        actor=world.worker.actor, case=case or world.case, reason="Compétent"
    )


def propose_b(world, case: Case) -> SegmentProposal:
    return segments.do_propose_segment(
        actor=world.worker.actor,
        case=case,
        segment="B",
        criteria=[criterion("B")],
        justification="x",
    )


def in_counselling(world, case: Case | None = None, segment: str = "B", to=None) -> Case:
    case = in_intake_2(world, case)
    proposal = segments.do_propose_segment(
        actor=world.worker.actor,
        case=case,
        segment=segment,
        criteria=[criterion(segment)],
        justification="Besoin de conseils.",
    )
    segments.do_confirm_proposal(actor=world.head.actor, proposal=proposal)
    proposal.refresh_from_db()
    lifecycle.do_transfer_to_counselling(
        actor=world.worker.actor,
        case=case,
        proposal=proposal,
        to_worker=to or world.worker.user,
        to_team=None,
        report="Rapport de transfert",
    )
    case.refresh_from_db()
    return case


def contact_data(**overrides) -> dict[str, object]:
    data = {
        "kind": ContactKind.INTERVIEW,
        "date": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "topic": topic().pk,
        "duration_minutes": "40",
        "participants": "Cliente, AS",
        "note": "Point sur la santé.",
    }
    data.update(overrides)
    return data


# --- journal ------------------------------------------------------------------------------


def test_s7_face_to_face_contact_without_duration_is_refused_and_nothing_saved(world):
    url = reverse("contact_create", args=[world.case.pk])
    response = world.worker.client().post(url, contact_data(duration_minutes=""))
    assert response.status_code == 200
    assert response.context["form"].errors["duration_minutes"]
    assert not Contact.objects.filter(case=world.case).exists()


def test_s6_contact_in_the_future_or_without_topic_is_refused(world):
    client = world.worker.client()
    url = reverse("contact_create", args=[world.case.pk])
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.post(url, contact_data(date=tomorrow))
    assert response.context["form"].errors["date"]
    response = client.post(url, contact_data(topic=""))
    assert response.context["form"].errors["topic"]
    assert not Contact.objects.filter(case=world.case).exists()


def test_s6_contact_recorded_and_listed_document_drop_off_shown_as_no_contact(world):
    client = world.worker.client()
    url = reverse("contact_create", args=[world.case.pk])
    assert client.post(url, contact_data()).status_code == 302
    drop = contact_data(
        kind=ContactKind.DOCUMENT_DROP, topic=topic("documents").pk, duration_minutes=""
    )
    assert client.post(url, drop).status_code == 302
    response = client.get(reverse("journal_list", args=[world.case.pk]))
    body = response.content.decode()
    assert [c.kind for c in response.context["contacts"]] == ["document_drop", "interview"]
    assert "badge--nocontact" in body and "badge--f2f" in body
    assert "pas un contact" in body
    assert response.context["summary"]["total"] == 1
    assert ReadLog.objects.filter(case_id=world.case.pk, section="journal").count() == 1


def test_x2_correction_is_a_new_version_and_the_list_shows_corrected_with_history(world):
    contact = journal.do_record_contact(
        actor=world.worker.actor,
        case=world.case,
        kind=ContactKind.INTERVIEW,
        date=timezone.localdate() - datetime.timedelta(days=3),
        topic=topic(),
        duration_minutes=30,
        note="Texte original",
    )
    client = world.worker.client()
    url = reverse("contact_correct", args=[world.case.pk, contact.pk])
    assert client.get(url).context["form"].initial["note"] == "Texte original"
    response = client.post(
        url, contact_data(note="Texte corrigé", correction_reason="Faute de frappe")
    )
    assert response.status_code == 302
    listing = client.get(reverse("journal_list", args=[world.case.pk]))
    [current] = listing.context["contacts"]
    assert current.note == "Texte corrigé" and current.supersedes_id == contact.pk
    history_url = reverse("contact_history", args=[world.case.pk, current.pk])
    assert history_url in listing.content.decode()
    history = client.get(history_url)
    assert [v.note for v in history.context["versions"]] == ["Texte corrigé", "Texte original"]
    # The old version's correct link leads to the history, not to a second branch.
    again = client.post(url, contact_data(note="Autre", correction_reason="x"))
    assert again.status_code == 302 and "versions" in again["Location"]
    assert Contact.objects.filter(case=world.case).count() == 2


def test_x5_partner_writes_the_journal_only_with_a_write_share(world):
    url = reverse("contact_create", args=[world.case.pk])
    partner = world.partner.client()
    assert partner.get(url).status_code == 404
    share = factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=["journal"],
        access="read",
        granted_by=world.worker.user,
    )
    assert partner.get(reverse("journal_list", args=[world.case.pk])).status_code == 200
    assert partner.post(url, contact_data()).status_code == 404
    share.access = "write"
    share.save()
    assert partner.post(url, contact_data()).status_code == 302
    assert Contact.objects.get(case=world.case).recorded_by == world.partner.user


def test_s9_no_service_agreement_needs_a_reason(world):
    client = world.worker.client()
    url = reverse("service_agreement", args=[world.case.pk])
    response = client.post(url, {"has_agreement": "no", "no_agreement_reason": " "})
    assert response.status_code == 200 and response.context["form"].errors["no_agreement_reason"]
    assert not ServiceAgreement.objects.exists()
    response = client.post(url, {"has_agreement": "no", "no_agreement_reason": "Cliente en crise"})
    assert response.status_code == 302
    signed = {
        "has_agreement": "yes",
        "signed_on": timezone.localdate().isoformat(),
        "summary": "Recherche d'emploi",
    }
    assert client.post(url, signed).status_code == 302
    assert [a.exists for a in ServiceAgreement.objects.order_by("recorded_at")] == [False, True]
    listing = client.get(reverse("journal_list", args=[world.case.pk]))
    assert listing.context["agreement"].summary == "Recherche d'emploi"


# --- intake, segments, four eyes ------------------------------------------------------------


def test_p6_s1_s2_from_intake_to_counselling_through_the_screens(world):
    worker, head, colleague = world.worker.client(), world.head.client(), world.colleague.client()
    case = world.case
    response = worker.post(
        reverse("intake_decide", args=[case.pk]),
        {
            "decision": "accept",
            "reason": "Compétent, aide subsidiaire",
            "on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stage == Stage.INTAKE_2

    # A segment without justification is refused with a message and nothing is stored.
    propose = reverse("segment_propose", args=[case.pk])
    response = worker.post(
        propose, {"segment": "B", "criteria": [criterion("B").pk], "justification": " "}
    )
    assert response.status_code == 200 and response.context["form"].errors["justification"]
    # A criterion of another segment is refused too.
    response = worker.post(
        propose, {"segment": "B", "criteria": [criterion("A").pk], "justification": "x"}
    )
    assert response.context["form"].errors["criteria"]
    assert not SegmentProposal.objects.exists()
    response = worker.post(
        propose,
        {"segment": "B", "criteria": [criterion("B").pk], "justification": "Santé, famille."},
    )
    assert response.status_code == 302
    proposal = SegmentProposal.objects.get(case=case)

    # The worker may not decide; the section head sees it in the team view and confirms.
    decide = reverse("proposal_decide", args=[case.pk, proposal.pk])
    assert worker.get(decide).status_code == 404
    team = head.get(reverse("cockpit_team"))
    assert [p.pk for p in team.context["view"].pending] == [proposal.pk]
    response = head.post(decide, {"decision": "reject", "note": ""})
    assert response.status_code == 200 and response.context["form"].errors["note"]
    assert head.post(decide, {"decision": "confirm", "note": "OK"}).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == "confirmed" and proposal.decided_by == world.head.user

    # The transfer report goes with the dossier to the receiving worker.
    transfer = reverse("case_transfer", args=[case.pk])
    response = worker.post(
        transfer,
        {
            "to_worker": world.colleague.user.pk,
            "report": " ",
            "on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 200 and response.context["form"].errors["report"]
    response = worker.post(
        transfer,
        {
            "to_worker": world.colleague.user.pk,
            "report": "Situation stable, suivi santé.",
            "assessment": "B convient.",
            "on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.stage, case.segment, case.responsible) == (
        Stage.COUNSELLING,
        "B",
        world.colleague.user,
    )
    cockpit = colleague.get(reverse("cockpit"))
    assert [r.case.pk for r in cockpit.context["view"].rows] == [case.pk]
    steering = colleague.get(reverse("case_steering", args=[case.pk]))
    assert "Situation stable, suivi santé." in steering.content.decode()
    urls = [a.url_name for a in steering.context["state"].actions]
    assert "segment_final" in urls


def test_s2_the_proposer_cannot_confirm_their_own_proposal(world):
    case = in_intake_2(world)
    response = world.head.client().post(
        reverse("segment_propose", args=[case.pk]),
        {"segment": "A", "criteria": [criterion("A").pk], "justification": "Crise de logement."},
    )
    assert response.status_code == 302
    proposal = SegmentProposal.objects.get(case=case)
    decide = reverse("proposal_decide", args=[case.pk, proposal.pk])
    page = world.head.client().get(decide)
    assert page.context["own"] is True
    response = world.head.client().post(decide, {"decision": "confirm", "note": ""})
    assert response.status_code == 200
    assert "quatre yeux" in str(response.context["form"].non_field_errors())
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_p6_a_step_the_lifecycle_does_not_allow_is_refused(world):
    """Proposing a segment in Intake 1 or transferring without a confirmed proposal: the page
    says why and nothing changes."""
    client = world.worker.client()
    response = client.get(reverse("segment_propose", args=[world.case.pk]))
    assert response.status_code == 302
    in_intake_2(world)
    response = client.post(
        reverse("case_transfer", args=[world.case.pk]), {"report": "x"}, follow=True
    )
    assert [str(m) for m in response.context["messages"]]
    assert response.redirect_chain[-1][0] == reverse("case_steering", args=[world.case.pk])
    world.case.refresh_from_db()
    assert world.case.stage == Stage.INTAKE_2


def test_s3_s4_final_decision_change_and_the_assistants_request(world):
    today = timezone.localdate()
    back_to(world, today - datetime.timedelta(days=20))
    with time_machine.travel(
        datetime.datetime.combine(today - datetime.timedelta(days=10), datetime.time(10)),
        tick=False,
    ):
        case = in_counselling(world, segment="C")
    worker, head, assistant = world.worker.client(), world.head.client(), world.assistant.client()
    # The assistant asks for B for the C dossier (S4, S10).
    response = assistant.post(
        reverse("segment_request", args=[case.pk]),
        {"segment": "B", "justification": "Nouvelles dettes"},
    )
    assert response.status_code == 302
    request = SegmentProposal.objects.get(case=case, kind="request")
    # The worker keeps C as the final decision at once (S3).
    response = worker.post(
        reverse("segment_final", args=[case.pk]),
        {"segment": "C", "criteria": [criterion("C").pk], "justification": "Situation stable."},
    )
    assert response.status_code == 302
    assert segments.has_final_decision(case)
    # A worker's change is a proposal; the section head's change takes effect.
    response = worker.post(
        reverse("segment_change", args=[case.pk]),
        {"segment": "B", "criteria": [criterion("B").pk], "justification": "Dettes."},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.segment == "C"
    change = SegmentProposal.objects.get(case=case, kind="change")
    assert (
        head.post(
            reverse("proposal_decide", args=[case.pk, change.pk]),
            {"decision": "confirm", "note": ""},
        ).status_code
        == 302
    )
    case.refresh_from_db()
    request.refresh_from_db()
    assert case.segment == "B" and request.status == "confirmed"
    traveller = time_machine.travel(
        datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(10)), tick=False
    )
    traveller.start()
    head = world.head.client()
    response = head.post(
        reverse("segment_change", args=[case.pk]),
        {"segment": "A", "criteria": [criterion("A").pk], "justification": "Crise aiguë."},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.segment == "A"
    history = world.worker.client().get(reverse("case_steering", args=[case.pk])).context["history"]
    traveller.stop()
    assert [p.segment for p in history] == ["C", "B", "A"]


def back_to(world, start: datetime.date) -> None:
    """Open the world's dossier on ``start`` so that its stages can be passed in the past."""
    Case.objects.filter(pk=world.case.pk).update(opened_on=start)
    world.case.refresh_from_db()


def test_s5_review_at_the_time_limit_is_offered_and_goes_to_the_section_head(world):
    start = timezone.localdate() - datetime.timedelta(days=190)
    back_to(world, start)
    with time_machine.travel(datetime.datetime.combine(start, datetime.time(10)), tick=False):
        case = in_counselling(world, segment="A")
    steering = world.worker.client().get(reverse("case_steering", args=[case.pk]))
    assert "segment_review" in [a.url_name for a in steering.context["state"].actions]
    assert steering.context["state"].light.css == "red"
    response = world.worker.client().post(
        reverse("segment_review", args=[case.pk]),
        {"segment": "B", "criteria": [criterion("B").pk], "justification": "Stabilisé."},
    )
    assert response.status_code == 302
    assert SegmentProposal.objects.get(case=case, kind="review").status == "proposed"


# --- cockpit and team view ------------------------------------------------------------------


def test_i5_red_light_after_13_months_without_face_to_face_interview_with_reason(world):
    start = timezone.localdate() - datetime.timedelta(days=500)
    back_to(world, start)
    with time_machine.travel(datetime.datetime.combine(start, datetime.time(10)), tick=False):
        case = in_counselling(world, segment="B")
        segments.do_decide_final_segment(
            actor=world.worker.actor,
            case=case,
            segment="B",
            criteria=[criterion("B")],
            justification="Garde B",
        )
    last = add_months(timezone.localdate(), -13)
    journal.do_record_contact(
        actor=world.worker.actor,
        case=case,
        kind=ContactKind.INTERVIEW,
        date=last,
        topic=topic(),
        duration_minutes=30,
    )
    response = world.worker.client().get(reverse("cockpit"))
    [row] = response.context["view"].rows
    assert row.css == "red"
    reason = "0 sur au moins 3 entretiens physiques au cours des 12 derniers mois"
    assert row.light.reasons[0] == reason
    assert reason in response.content.decode()
    german = world.worker.client().get(reverse("cockpit"), HTTP_ACCEPT_LANGUAGE="de")
    assert (
        "0 von mindestens 3 persönlichen Gesprächen in den letzten 12 Monaten"
        in german.content.decode()
    )


def test_i7_cockpit_filters_and_sorts(world):
    red = in_counselling(world, segment="A")
    red.client.last_name = "Amstutz"
    red.client.save()
    # opened later than ``red``: listed first until sorted by client
    other = factories.CaseFactory(
        owner=world.service_org,
        responsible=world.worker.user,
        team=world.case.team,
        client__last_name="Zaugg",
    )
    client = world.worker.client()
    rows = client.get(reverse("cockpit")).context["view"].rows
    assert {r.case.pk for r in rows} == {red.pk, other.pk}
    only_a = client.get(reverse("cockpit"), {"segment": "A"}).context["view"].rows
    assert [r.case.pk for r in only_a] == [red.pk]
    intake = client.get(reverse("cockpit"), {"stage": "intake_1"}).context["view"].rows
    assert [r.case.pk for r in intake] == [other.pk]
    by_client = client.get(reverse("cockpit"), {"sort": "client"}).context["view"].rows
    assert [r.case.pk for r in by_client] == [red.pk, other.pk]
    desc = client.get(reverse("cockpit"), {"sort": "-client"}).context["view"].rows
    assert [r.case.pk for r in desc] == [other.pk, red.pk]
    # The colleague's cockpit shows none of the worker's dossiers.
    assert world.colleague.client().get(reverse("cockpit")).context["view"].rows == []


def test_s10_assistant_cockpit_lists_segment_c_dossiers_with_the_responsible_worker(world):
    c_case = in_counselling(world, segment="C")
    in_counselling(
        world,
        case=factories.CaseFactory(
            owner=world.service_org, responsible=world.worker.user, team=world.case.team
        ),
        segment="B",
    )
    response = world.assistant.client().get(reverse("cockpit"))
    assert [r.case.pk for r in response.context["view"].rows] == [c_case.pk]
    assert str(world.worker.user) in response.content.decode()


def test_i7_home_is_the_cockpit_for_caseworkers(world):
    for persona in ("worker", "head", "intake", "assistant"):
        response = getattr(world, persona).client().get(reverse("home"))
        assert response["Location"] == reverse("cockpit"), persona
    assert world.partner.client().get(reverse("home"))["Location"] == reverse("case_list")


def populate(world, dossiers: int) -> None:
    """``dossiers`` open dossiers for the worker and for the colleague, in every stage and
    segment, with contacts and tasks."""
    segments_cycle = [None, "A", "B", "C"]
    for n in range(dossiers):
        for persona in (world.worker, world.colleague):
            segment = segments_cycle[n % 4]
            # Advances left in Intake 1 for four months are red (intake time limit).
            opened = timezone.localdate() - datetime.timedelta(days=120 if segment is None else 30)
            case = factories.CaseFactory(
                owner=world.service_org,
                responsible=persona.user,
                team=world.case.team,
                opened_on=opened,
                short_term_advance=segment is None,
            )
            if segment:
                in_counselling(world, case=case, segment=segment, to=persona.user)
            journal.do_record_contact(
                actor=persona.actor,
                case=case,
                kind=ContactKind.HOME_VISIT,
                date=timezone.localdate(),
                topic=topic(),
                duration_minutes=50,
            )
            Task.objects.create(
                case=case,
                owner=world.service_org,
                title=f"Tâche {n}",
                due_on=timezone.localdate(),
                assigned_to=persona.user,
            )


def keep_lights(kept_state: str) -> None:
    """As the nightly run leaves them ("kept"), or none kept yet ("missing": the on-commit
    refresh does not run in a test's transaction)."""
    if kept_state == "kept":
        kept.refresh(Case.objects.open().values_list("pk", flat=True))


@pytest.mark.parametrize("kept_state", ["kept", "missing"])
@pytest.mark.parametrize("dossiers", [3, 20])
def test_i7_cockpit_queries_do_not_grow(world, dossiers, kept_state, django_assert_num_queries):
    populate(world, dossiers)
    keep_lights(kept_state)
    client = world.worker.client()
    expected = COCKPIT_QUERIES if kept_state == "kept" else COCKPIT_QUERIES_UNKEPT
    with django_assert_num_queries(expected):
        response = client.get(reverse("cockpit"))
    assert response.status_code == 200
    assert response.context["view"].total == dossiers + 1
    # the page kept what it evaluated: the next visit reads it
    with django_assert_num_queries(COCKPIT_QUERIES_AGAIN):
        client.get(reverse("cockpit"))


@pytest.mark.parametrize("kept_state", ["kept", "missing"])
@pytest.mark.parametrize("dossiers", [3, 20])
def test_s8_team_view_queries_do_not_grow(world, dossiers, kept_state, django_assert_num_queries):
    populate(world, dossiers)
    keep_lights(kept_state)
    client = world.head.client()
    expected = TEAM_QUERIES if kept_state == "kept" else TEAM_QUERIES_UNKEPT
    with django_assert_num_queries(expected):
        response = client.get(reverse("cockpit_team"))
    assert response.status_code == 200
    view = response.context["view"]
    lines = {w.user.username: w for w in view.workers}
    assert lines["worker"].total == dossiers + 1 and lines["colleague"].total == dossiers
    assert view.red_total == 2 * -(-dossiers // 4)
    assert len(view.red_rows) == view.red_total > 0
    assert view.stale_lights == 0
    with django_assert_num_queries(TEAM_QUERIES_AGAIN):
        client.get(reverse("cockpit_team"))


def test_s8_s11_s12_team_view_portfolio_guide_values_workload_and_contact_check(world):
    for segment in ("A", "B", "B", "C", "C", "C"):
        in_counselling(
            world,
            case=factories.CaseFactory(
                owner=world.service_org, responsible=world.worker.user, team=world.case.team
            ),
            segment=segment,
        )
    response = world.head.client().get(reverse("cockpit_team"))
    worker = next(w for w in response.context["view"].workers if w.user == world.worker.user)
    assert (worker.share_a, worker.share_b, worker.share_c) == (17, 33, 50)
    assert len(worker.guide_flags) == 1  # C above 40 % (B's 50 % has no band of its own)
    # A=3, B=2, C=1, intake=2: 3 + 2*2 + 3*1 + 2 (the world's case in Intake 1)
    assert worker.workload == 12
    assert worker.with_norm == 6 and worker.norm_missed == 0
    body = response.content.decode()
    assert 'data-chart="chart-portfolios"' in body and 'id="chart-portfolios"' in body
    assert "A = 3, B = 2, C = 1" in body
    assert world.worker.client().get(reverse("cockpit_team")).status_code == 404


def test_s12_team_average_and_headcount_count_the_same_caseworkers(world):
    in_counselling(
        world,
        case=factories.CaseFactory(
            owner=world.service_org, responsible=world.worker.user, team=world.case.team
        ),
        segment="A",
    )
    head = world.head.client()
    response = head.get(reverse("cockpit_team"))
    view = response.context["view"]
    # The worker (Intake 1 and A: 2 + 3 points) and the colleague, who has no dossier yet but
    # does casework; the section head holds no dossier and is not counted.
    assert sorted(w.user.username for w in view.workers) == ["colleague", "worker"]
    assert view.average_workload == 2.5
    body = html.unescape(response.content.decode())
    assert '<span class="kpi__value">2</span><span class="kpi__label">collaborateur·trice·s' in body
    assert '<span class="kpi__value">2,5</span>' in body
    # A section head holding a dossier (2 points in Intake 1) is one of the caseworkers.
    factories.CaseFactory(
        owner=world.service_org, responsible=world.head.user, team=world.case.team
    )
    view = head.get(reverse("cockpit_team")).context["view"]
    assert sorted(w.user.username for w in view.workers) == ["colleague", "head", "worker"]
    assert view.average_workload == round(7 / 3, 1)


def test_u3_a_single_item_is_counted_in_the_singular(world):
    case = in_intake_2(world)
    propose_b(world, case)
    head = world.head.client()
    cockpit = html.unescape(head.get(reverse("cockpit")).content.decode())
    assert '1</span><span class="kpi__label">proposition de segment attend votre décision' in (
        cockpit
    )
    team = html.unescape(head.get(reverse("cockpit_team")).content.decode())
    assert '1</span><span class="kpi__label">décision selon le principe des quatre yeux' in team
    german = head.get(reverse("cockpit_team"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '1</span><span class="kpi__label">offener Vier-Augen-Entscheid<' in german
    assert '0</span><span class="kpi__label">Dossiers mit roter Ampel<' in german


# --- tasks ----------------------------------------------------------------------------------


def test_i5_task_by_hand_for_a_role_done_and_cancelled(world):
    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    url = reverse("task_create", args=[world.case.pk])
    response = world.worker.client().post(
        url, {"title": "Copie du bail", "due_on": due, "assignee": "role:admin_assistant"}
    )
    assert response.status_code == 302
    task = Task.objects.get(title="Copie du bail")
    assert (task.assigned_to, task.assigned_role, task.created_by) == (
        None,
        "admin_assistant",
        world.worker.user,
    )
    assistant = world.assistant.client()
    listing = assistant.get(reverse("task_list"))
    assert [t.pk for _label, tasks in listing.context["groups"] for t in tasks] == [task.pk]
    assert world.colleague.client().get(reverse("task_list")).context["groups"] == []
    assert assistant.post(reverse("task_done", args=[task.pk]), {"note": "Reçu"}).status_code == 302
    task.refresh_from_db()
    assert (task.status, task.closed_by, task.closing_note) == (
        TaskStatus.DONE,
        world.assistant.user,
        "Reçu",
    )
    response = assistant.post(reverse("task_cancel", args=[task.pk]), follow=True)
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    past = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    response = world.worker.client().post(
        url, {"title": "x", "due_on": past, "assignee": "role:admin_assistant"}
    )
    assert response.status_code == 200 and response.context["form"].errors["due_on"]


def test_i8_outsider_cannot_reach_the_task(world):
    task = Task.objects.create(
        case=world.case,
        owner=world.service_org,
        title="Interne",
        due_on=timezone.localdate(),
        assigned_role="social_worker",
    )
    for persona in ("outsider", "partner", "analyst"):
        client = getattr(world, persona).client()
        assert client.get(reverse("task_detail", args=[task.pk])).status_code == 404, persona
        assert client.post(reverse("task_done", args=[task.pk])).status_code == 404, persona
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_s2_pending_decision_task_for_section_heads_links_to_the_proposal(world):
    case = in_intake_2(world)
    proposal = propose_b(world, case)
    head = world.head.client()
    tasks = head.get(reverse("cockpit")).context["view"].my_tasks
    [task] = [t for t in tasks if t.rule_key == f"proposal:{proposal.pk}"]
    page = head.get(reverse("task_detail", args=[task.pk]))
    assert reverse("proposal_decide", args=[case.pk, proposal.pk]) in page.content.decode()


def test_steering_panel_shows_light_and_actions_for_the_actor(world):
    in_intake_2(world)
    panel = world.worker.client().get(reverse("case_steering_panel", args=[world.case.pk]))
    assert [a.url_name for a in panel.context["state"].actions] == [
        "exit_potential",
        "segment_propose",
    ]
    detail = world.worker.client().get(reverse("case_detail", args=[world.case.pk]))
    assert reverse("case_steering_panel", args=[world.case.pk]) in detail.content.decode()
    # The partner with a journal share sees no steering block.
    factories.ShareFactory(
        case=world.case, organisation=world.partner_org, granted_by=world.worker.user
    )
    shared = world.partner.client().get(reverse("case_detail", args=[world.case.pk]))
    assert "section-steering" not in shared.content.decode()
    assert (
        world.partner.client().get(reverse("case_steering_panel", args=[world.case.pk])).status_code
        == 404
    )


def test_i5_the_light_banner_states_its_meaning_once(world):
    panel = world.worker.client().get(reverse("case_steering_panel", args=[world.case.pk]))
    label = panel.context["state"].light.label
    body = html.unescape(panel.content.decode()).lower()
    assert body.count(label.lower()) == 1


def test_other_head_of_another_organisation_cannot_decide(world):
    case = in_intake_2(world)
    proposal = propose_b(world, case)
    foreign_head = make_persona(world.outsider_org, "section_head", "foreign_head")
    response = foreign_head.client().post(
        reverse("proposal_decide", args=[case.pk, proposal.pk]), {"decision": "confirm"}
    )
    assert response.status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == "proposed"
