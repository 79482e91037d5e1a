"""Traffic lights per dossier (I5, S3, S5, S6): computed from the journal and the rules, with
the reasons in words, for a page of dossiers in a fixed number of queries."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import translation

from filum.cases.models import Case, SegmentAssignment
from filum.followup.evaluation import load_rules
from filum.followup.lights import describe, light_for_case, lights_for_cases
from filum.followup.models import NormRule
from filum.followup.rules import Finding, Level
from filum.journal import services as journal
from filum.journal.models import Topic
from tests import factories

TODAY = datetime.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False):
        yield


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def counselling_case(
    world, segment: str, since: datetime.date, *, received=None, final=True
) -> Case:
    case = factories.CaseFactory(
        owner=world.service_org,
        responsible=world.worker.user,
        opened_on=since - datetime.timedelta(days=120),
        stage="counselling",
        stage_since=received or since,
        received_on=received or since,
        segment=segment,
        segment_since=since,
    )
    SegmentAssignment.objects.create(
        case=case,
        owner=world.service_org,
        segment=segment,
        since=since,
        kind="final" if final else "initial",
        justification="Critères remplis",
        decided_by=world.worker.user,
    )
    return case


def contact(world, case, date, kind="interview", topic="health"):
    return journal.do_record_contact(
        actor=world.worker.actor,
        case=case,
        kind=kind,
        date=date,
        topic=Topic.objects.get(code=topic),
        duration_minutes=40 if kind in ("interview", "home_visit") else None,
    )


def test_s6_b_case_without_face_to_face_for_13_months_is_red_with_reason_in_words(world):
    case = counselling_case(world, "B", datetime.date(2024, 9, 1))
    contact(world, case, datetime.date(2025, 2, 10))  # 13 months ago
    contact(world, case, datetime.date(2025, 11, 3), kind="phone")
    light = light_for_case(case.pk)
    assert light.level == Level.RED and light.css == "red"
    assert light.reasons == ["0 of at least 3 face-to-face interviews in the last 12 months"]


def test_s6_two_of_three_face_to_face_interviews_reads_as_in_the_issue(world):
    case = counselling_case(world, "B", datetime.date(2024, 9, 1))
    contact(world, case, datetime.date(2025, 6, 1))
    contact(world, case, datetime.date(2026, 1, 15), kind="home_visit")
    assert light_for_case(case.pk).reasons == [
        "2 of at least 3 face-to-face interviews in the last 12 months"
    ]


def test_s6_minimum_met_is_green_and_document_drop_does_not_help(world):
    case = counselling_case(world, "C", datetime.date(2024, 9, 1))
    contact(world, case, datetime.date(2026, 3, 1), kind="document_drop", topic="documents")
    assert light_for_case(case.pk).level == Level.RED
    contact(world, case, datetime.date(2026, 3, 2))
    light = light_for_case(case.pk)
    assert light.level == Level.GREEN and light.reasons == []


def test_s6_corrected_contact_counts_once_and_retracted_not_at_all(world):
    case = counselling_case(world, "C", datetime.date(2024, 9, 1))
    first = contact(world, case, datetime.date(2026, 3, 1), kind="phone")
    assert light_for_case(case.pk).level == Level.RED
    corrected = journal.do_correct_contact(
        actor=world.worker.actor,
        contact=first,
        reason="Était un entretien",
        kind="interview",
        date=first.date,
        topic=first.topic,
        duration_minutes=20,
    )
    assert light_for_case(case.pk).evaluation.tally.now.face_to_face == 1
    journal.do_retract_contact(actor=world.worker.actor, contact=corrected, reason="Erreur")
    assert light_for_case(case.pk).evaluation.tally.now.total == 0


def test_s3_final_decision_overdue_is_red_with_the_date(world):
    received = datetime.date(2025, 12, 10)
    case = counselling_case(world, "B", received, received=received, final=False)
    for day in (datetime.date(2025, 12, 20), datetime.date(2026, 1, 20), datetime.date(2026, 3, 1)):
        contact(world, case, day)
    light = light_for_case(case.pk)
    assert light.level == Level.RED
    assert light.reasons == [
        "Final segment decision overdue since 10.03.2026 (received on 10.12.2025)"
    ]


def test_s5_deadline_within_30_days_is_orange(world):
    since = datetime.date(2025, 10, 1)  # A ends 01.04.2026
    case = counselling_case(world, "A", since)
    for day in (10, 20, 30):
        contact(world, case, datetime.date(2025, 10, day))
    for month in (12, 1, 2):
        contact(world, case, datetime.date(2025 if month == 12 else 2026, month, 5))
    light = light_for_case(case.pk)
    assert light.level == Level.ORANGE
    assert light.reasons == [
        "Time limit of segment A ends on 01.04.2026: prepare a keep-or-move proposal"
    ]


def test_i5_several_reasons_the_worst_first(world):
    since = datetime.date(2025, 9, 1)  # A since 6.5 months: time limit passed, norm missed
    case = counselling_case(world, "A", since)
    light = light_for_case(case.pk)
    assert light.level == Level.RED
    # the two red reasons first, then the information that A is past its 6 months
    assert len(light.reasons) == 3
    assert [level for level, _text in light.reason_levels] == ["red", "red", "green"]


def test_p6_short_term_advance_beyond_3_months_is_red(world):
    case = factories.CaseFactory(
        owner=world.service_org,
        responsible=world.intake.user,
        opened_on=datetime.date(2025, 12, 1),
        short_term_advance=True,
    )
    light = light_for_case(case.pk)
    assert light.level == Level.RED
    assert light.reasons == [
        "Short-term advance in Intake 1 since 01.12.2025: the limit passed on 01.03.2026"
    ]


def test_i5_lights_for_a_page_of_dossiers_use_a_fixed_number_of_queries(
    world, django_assert_num_queries
):
    cases = [counselling_case(world, "B", datetime.date(2025, 1, 1)) for _ in range(3)]
    for case in cases:
        contact(world, case, datetime.date(2026, 2, 1))
    with django_assert_num_queries(4):
        few = lights_for_cases([c.pk for c in cases])
    more = cases + [counselling_case(world, "C", datetime.date(2025, 1, 1)) for _ in range(12)]
    with django_assert_num_queries(4):
        many = lights_for_cases([c.pk for c in more])
    assert len(few) == 3 and len(many) == 15


def test_s6_lights_follow_the_rules_in_the_table(world):
    case = counselling_case(world, "C", datetime.date(2024, 9, 1))
    contact(world, case, datetime.date(2026, 2, 1))
    assert light_for_case(case.pk).level == Level.GREEN
    NormRule.objects.create(
        key="C",
        period_months=12,
        min_interviews=2,
        max_interviews=4,
        face_to_face_share="1.00",
        time_limit_months=36,
        valid_from=datetime.date(2026, 1, 1),
    )
    assert light_for_case(case.pk).level == Level.RED
    # evaluated as of a date before the new rule, the old one applies
    assert load_rules(datetime.date(2025, 12, 31)).get("C").min_interviews == 1
    assert load_rules(TODAY).get("C").min_interviews == 2


def test_i5_reasons_are_translated(world):
    finding = Finding(
        "norm_face_to_face_missed",
        Level.RED,
        {"count": 1, "minimum": 1, "months": 12, "since": None, "key": "C"},
    )
    assert describe(finding) == "1 of at least 1 face-to-face interview in the last 12 months"
    with translation.override("de"):
        assert describe(finding) == (
            "1 von mindestens 1 persönlichen Gespräch in den letzten 12 Monaten"
        )
    with translation.override("fr"):
        assert describe(finding) == (
            "1 sur au moins 1 entretien physique au cours des 12 derniers mois"
        )
    plural = Finding(
        "norm_face_to_face_missed",
        Level.RED,
        {"count": 2, "minimum": 3, "months": 12, "since": None, "key": "B"},
    )
    with translation.override("de"):
        assert describe(plural) == (
            "2 von mindestens 3 persönlichen Gesprächen in den letzten 12 Monaten"
        )
