"""The AIS timeline and milestones (I4, I5, U1; decision 0021): milestone rules as data per
canton, their states on boundary days, ages and the 5/7-year horizons, situation changes and
their bad input, the timeline page (door, read log, query count, both languages) and the
milestone findings in the kept lights, rule tasks and the integration cockpit."""

from __future__ import annotations

import datetime
import re
import threading

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from filum.followup import kept
from filum.followup.evaluation import evaluate_cases
from filum.followup.models import KeptLight, Task, TaskStatus
from filum.followup.nightly import run_nightly_rules
from filum.people.models import AssistanceUnit, Person, UnitMember
from filum.plans import milestones as ms
from filum.plans import services as plan_services
from filum.plans.milestones import (
    DEFAULT_MILESTONES,
    MilestoneNorm,
    PersonFacts,
    Situation,
    milestone_states,
    norms_on,
)
from filum.plans.models import Measure, MilestoneRule, SituationEntry
from filum.records.models import ReadLog
from tests import factories
from tests import plan_factories as pf

TODAY = datetime.date(2026, 3, 16)
ARRIVAL = datetime.date(2022, 3, 16)  # A1 due 16.03.2025, education 16.03.2027, labour 2029


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False):
        yield


def person(
    *,
    status: str = "F",
    born: datetime.date = datetime.date(1990, 1, 1),
    arrival: datetime.date | None = ARRIVAL,
    levels=(),
    situations=(),
) -> PersonFacts:
    return PersonFacts(
        id="p1",
        name="Zyrafael Testwq",
        birth_date=born,
        arrival_date=arrival,
        residence_status=status,
        language_levels=tuple(levels),
        situations=tuple(situations),
    )


def states(facts: PersonFacts, as_of: datetime.date) -> dict[str, str]:
    return {s.key: s.state for s in milestone_states(facts, DEFAULT_MILESTONES, as_of)}


# --- the rules as data -------------------------------------------------------------------------


def test_i4_seeded_milestone_rules_are_pinned(db):
    rows = [
        (r.canton, r.key, r.years, r.min_age, r.max_age, r.warning_months, r.valid_from)
        for r in MilestoneRule.objects.order_by("years")
    ]
    start = datetime.date(2019, 5, 1)
    assert rows == [
        ("", "language_a1", 3, 5, None, 12, start),
        ("", "education_16_25", 5, 16, 25, 12, start),
        ("", "labour_market", 7, 18, None, 12, start),
    ]
    assert [r.norm() for r in MilestoneRule.objects.order_by("years")] == list(DEFAULT_MILESTONES)


def test_i4_a_cantons_own_row_replaces_the_default_from_its_start():
    own = MilestoneNorm("language_a1", 2, 5)
    rows = [
        (datetime.date(2019, 5, 1), "", DEFAULT_MILESTONES[0]),
        (datetime.date(2026, 1, 1), "BE", own),
    ]
    assert norms_on(rows, datetime.date(2025, 12, 31)) == (DEFAULT_MILESTONES[0],)
    assert norms_on(rows, datetime.date(2026, 1, 1)) == (own,)


# --- states on boundary days -------------------------------------------------------------------


def test_i4_language_a1_due_after_3_years_at_risk_12_months_before():
    due = datetime.date(2025, 3, 16)
    assert states(person(), due - days(366))["language_a1"] == "pending"  # 15.03.2024
    assert states(person(), datetime.date(2024, 3, 16))["language_a1"] == "at_risk"
    assert states(person(), due)["language_a1"] == "at_risk"  # the due day itself
    assert states(person(), due + days(1))["language_a1"] == "missed"


def test_i4_language_a1_met_from_the_latest_final_assessment_before_the_due_date():
    due = datetime.date(2025, 3, 16)
    a1 = person(levels=[(datetime.date(2024, 6, 1), 1)])
    assert states(a1, due + days(200))["language_a1"] == "met"
    # a later assessment below A1 (before the due date) decides
    fell = person(levels=[(datetime.date(2024, 6, 1), 1), (datetime.date(2025, 1, 1), 0)])
    assert states(fell, due + days(1))["language_a1"] == "missed"
    # A1 reached only after the due date: still missed
    late = person(levels=[(due + days(1), 2)])
    assert states(late, due + days(30))["language_a1"] == "missed"
    # reached on the due date itself: met
    assert states(person(levels=[(due, 1)]), due + days(30))["language_a1"] == "met"


def test_i4_language_a1_only_for_persons_aged_5_or_more_on_the_due_date():
    due = datetime.date(2025, 3, 16)
    five = person(born=datetime.date(2020, 3, 16))  # 5 on the due date
    assert "language_a1" in states(five, TODAY)
    four = person(born=datetime.date(2020, 3, 17))  # 5 the day after
    assert "language_a1" not in states(four, TODAY)
    assert due  # the milestone counts age on its due date


def test_i4_education_for_16_to_25_year_olds_after_5_years():
    due = datetime.date(2027, 3, 16)
    young = person(born=datetime.date(2011, 3, 16))  # 16 on the due date
    assert states(young, TODAY - days(1))["education_16_25"] == "pending"
    assert states(young, TODAY)["education_16_25"] == "at_risk"
    assert states(young, due - days(365))["education_16_25"] == "at_risk"  # 16.03.2026
    assert states(young, due - days(366))["education_16_25"] == "pending"
    assert "education_16_25" not in states(person(born=datetime.date(2011, 3, 17)), TODAY)
    assert "education_16_25" in states(person(born=datetime.date(2001, 3, 17)), TODAY)  # 25
    assert "education_16_25" not in states(person(born=datetime.date(2001, 3, 16)), TODAY)  # 26
    school = Situation(datetime.date(2025, 8, 1), "education", "post_compulsory")
    assert (
        states(person(born=datetime.date(2008, 1, 1), situations=[school]), TODAY)[
            "education_16_25"
        ]
        == "met"
    )


def test_i4_labour_market_for_adults_after_7_years_only_within_the_7_year_horizon():
    va = person(status="F")
    assert states(va, datetime.date(2029, 3, 16))["labour_market"] == "at_risk"
    assert states(va, datetime.date(2029, 3, 17))["labour_market"] == "missed"
    job = Situation(datetime.date(2028, 5, 1), "work", "first_labour_market")
    assert states(person(situations=[job]), datetime.date(2029, 6, 1))["labour_market"] == "met"
    # second labour market does not count
    subsidised = Situation(datetime.date(2028, 5, 1), "work", "second_labour_market")
    assert (
        states(person(situations=[subsidised]), datetime.date(2029, 6, 1))["labour_market"]
        == "missed"
    )
    assert "labour_market" not in states(person(born=datetime.date(2011, 3, 17)), TODAY)


def test_i4_horizons_5_years_for_refugees_7_for_provisionally_admitted():
    refugee = person(status="B_FL")
    assert ms.horizon_end(refugee, TODAY) == datetime.date(2027, 3, 16)
    assert set(states(refugee, TODAY)) == {"language_a1"}  # labour at 7 years: beyond
    assert ms.horizon_end(person(status="F"), TODAY) == datetime.date(2029, 3, 16)
    assert ms.horizon_end(person(status="F_FL"), TODAY) == datetime.date(2027, 3, 16)
    assert states(person(status="C"), TODAY) == {}
    assert states(person(arrival=None), TODAY) == {}
    # a residence change to recognised refugee shortens the period
    recognised = person(
        status="F", situations=[Situation(datetime.date(2024, 1, 1), "residence", "B_FL")]
    )
    assert ms.horizon_end(recognised, TODAY) == datetime.date(2027, 3, 16)


# --- the database: facts with the dossier, findings, tasks -------------------------------------


@pytest.fixture
def hotaki(world):
    """The world's dossier with a plan, its client provisionally admitted and arrived on
    16.03.2022, born 1990: A1 due 16.03.2025 (missed without an assessment), labour market
    16.03.2029 (pending)."""
    Person.objects.filter(pk=world.case.client_id).update(
        residence_status="F", arrival_date=ARRIVAL, birth_date=datetime.date(1990, 1, 1)
    )
    world.case.client.refresh_from_db()
    world.case.opened_on = datetime.date(2022, 4, 1)
    world.case.save(update_fields=["opened_on"])
    plan = pf.plan(world.case, world.worker.user)
    return plan


def test_i5_missed_and_at_risk_milestones_are_findings_with_the_dossier(world, hotaki):
    teen = factories.PersonFactory(
        registered_by=world.service_org,
        birth_date=datetime.date(2010, 6, 1),
        residence_status="F",
        arrival_date=ARRIVAL,
        last_name="Zyteenwq",
    )
    unit = AssistanceUnit.objects.create(name="Ménage", registered_by=world.service_org)
    UnitMember.objects.create(unit=unit, person=world.case.client, relation="applicant")
    UnitMember.objects.create(unit=unit, person=teen, relation="child")
    world.case.assistance_unit = unit
    world.case.save(update_fields=["assistance_unit"])
    evaluation = evaluate_cases([world.case.pk], as_of=TODAY)[world.case.pk]
    found = {(f.code, f.params["milestone"], f.params["person_id"]) for f in evaluation.findings}
    client = str(world.case.client_id)
    assert ("milestone_missed", "language_a1", client) in found
    assert ("milestone_missed", "language_a1", str(teen.pk)) in found
    # the teenager is 16 on 16.03.2027: education at risk from 16.03.2026 (today)
    assert ("milestone_at_risk", "education_16_25", str(teen.pk)) in found
    assert evaluation.level == 2
    # a dossier without a plan has no milestone findings
    other = factories.CaseFactory(owner=world.service_org, client=teen)
    codes = [f.code for f in evaluate_cases([other.pk], as_of=TODAY)[other.pk].findings]
    assert not [c for c in codes if c.startswith("milestone")]


def test_i5_milestone_task_from_the_nightly_run_closes_when_met(world, hotaki):
    run_nightly_rules(as_of=TODAY)
    task = Task.objects.get(case=world.case, kind="milestone")
    assert task.rule_key == f"milestone:language_a1:{world.case.client_id}:2025-03-16"
    assert task.assigned_to == world.worker.user and task.due_on == datetime.date(2025, 3, 16)
    for language, words in (("fr", "Étape AIS"), ("de", "IAS-Meilenstein")):
        client = world.worker.client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        page = client.get(reverse("task_detail", args=[task.pk])).content.decode()
        assert words in page and "16.03.2025" in page
    assert run_nightly_rules(as_of=TODAY).created_total == 0
    # a recorded work situation does not meet A1; the task stays
    page = world.worker.client().post(
        reverse("situation_add", args=[world.case.pk, world.case.client_id]),
        {"situation": "work:first_labour_market", "on": "2026-03-01", "note": ""},
    )
    assert page.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_i5_kept_light_and_integration_cockpit_count_the_milestones(world, hotaki):
    from filum.cases.models import Case

    Case.objects.filter(pk=world.case.pk).update(domain="asylum_aid")
    kept.refresh([world.case.pk], TODAY)
    light = KeptLight.objects.get(case=world.case)
    assert [f["code"] for f in light.findings if f["code"].startswith("milestone")] == [
        "milestone_missed"
    ]
    page = world.head.client().get(reverse("cockpit_integration")).content.decode()
    row = re.search(r'<tr data-status="F">(.*?)</tr>', page, re.S).group(1)
    assert [int(n) for n in re.findall(r">(\d+)<", row)] == [1, 0, 1]


# --- situation changes: bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "fr", "de"),
    [
        ("2026-03-17", "ne peut pas être dans le futur", "darf nicht in der Zukunft liegen"),
        ("1989-12-31", "avant la naissance", "vor der Geburt"),
        ("2022-03-15", "avant l’arrivée en Suisse (16.03.2022)", "vor der Einreise in die Schweiz"),
        ("", "obligatoire", "erforderlich"),
    ],
)
def test_i4_bad_situation_dates_are_refused_in_both_languages(world, hotaki, on, fr, de):
    for language, words in (("fr", fr), ("de", de)):
        client = world.worker.client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.post(
            reverse("situation_add", args=[world.case.pk, world.case.client_id]),
            {"situation": "education:post_compulsory", "on": on},
        )
        assert response.status_code == 400
        assert words in response.content.decode()
    assert not SituationEntry.objects.exists()


def test_i4_an_unknown_situation_is_refused(world, hotaki):
    response = world.worker.client().post(
        reverse("situation_add", args=[world.case.pk, world.case.client_id]),
        {"situation": "work:astronaut", "on": "2025-01-01"},
    )
    assert response.status_code == 400
    assert not SituationEntry.objects.exists()


def test_i4_a_situation_change_is_recorded_and_shown(world, hotaki):
    response = world.worker.client().post(
        reverse("situation_add", args=[world.case.pk, world.case.client_id]),
        {"situation": "education:post_compulsory", "on": "2025-08-01", "note": "CFC"},
    )
    assert response.status_code == 302
    entry = SituationEntry.objects.get()
    assert (entry.kind, entry.value, entry.since, entry.person_id) == (
        "education",
        "post_compulsory",
        datetime.date(2025, 8, 1),
        world.case.client_id,
    )
    page = world.worker.client().get(response.url).content.decode()
    assert "01.08.2025" in page and "post-obligatoire" in page


# --- the page ----------------------------------------------------------------------------------


def timeline_url(world, person_id=None):
    return reverse("person_timeline", args=[world.case.pk, person_id or world.case.client_id])


def test_i4_u1_timeline_page_shows_measures_milestones_and_today(world, hotaki):
    pf.measure(
        hotaki,
        world.worker.user,
        title="Cours d'allemand Zyqwq",
        planned_start=datetime.date(2023, 1, 9),
        planned_end=datetime.date(2023, 6, 30),
    )
    for language, words in (
        ("fr", ("Chronologie AIS", "manquée", "Aujourd’hui, 16.03.2026")),
        ("de", ("IAS-Zeitachse", "verpasst", "Heute, 16.03.2026")),
    ):
        client = world.worker.client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        page = client.get(timeline_url(world)).content.decode()
        for word in words:
            assert word in page, word
        assert "Cours d&#x27;allemand Zyqwq, 09.01.2023 – 30.06.2023" in page
        assert 'data-milestone-state="missed"' in page
        assert "style=" not in page.split("<svg", 1)[1].split("</svg>")[0]
        assert "<script" not in page.split("<main", 1)[-1]
    # linked from the plan page and the person page
    plan_page = world.worker.client().get(reverse("plan_detail", args=[world.case.pk]))
    assert timeline_url(world) in plan_page.content.decode()
    person_page = world.worker.client().get(reverse("person_detail", args=[world.case.client_id]))
    assert timeline_url(world) in person_page.content.decode()


def test_i4_timeline_logs_plan_and_assessment_reads(world, hotaki):
    before = ReadLog.objects.count()
    assert world.worker.client().get(timeline_url(world)).status_code == 200
    sections = sorted(s for row in ReadLog.objects.order_by("id")[before:] for s in [row.section])
    assert sections == ["assessment", "plan"]


def test_i4_timeline_is_404_for_outsiders_strangers_and_dossiers_without_plan(world, hotaki):
    assert world.outsider.client().get(timeline_url(world)).status_code == 404
    assert world.partner.client().get(timeline_url(world)).status_code == 404
    stranger = factories.PersonFactory(registered_by=world.service_org)
    assert world.worker.client().get(timeline_url(world, stranger.pk)).status_code == 404
    no_plan = factories.CaseFactory(owner=world.service_org, responsible=world.worker.user)
    response = world.worker.client().get(
        reverse("person_timeline", args=[no_plan.pk, no_plan.client_id])
    )
    assert response.status_code == 404
    response = world.outsider.client().post(
        reverse("situation_add", args=[world.case.pk, world.case.client_id]),
        {"situation": "work:none", "on": "2025-01-01"},
    )
    assert response.status_code == 404
    assert not SituationEntry.objects.exists()


TIMELINE_QUERIES = 12


def test_u4_timeline_query_count_with_40_measures_and_10_assessments(
    world, hotaki, django_assert_max_num_queries
):
    from filum.assessments.models import Assessment, TemplateVersion

    version = TemplateVersion.objects.filter(status="published").first()
    for n in range(40):
        pf.measure(
            hotaki,
            world.worker.user,
            planned_start=ARRIVAL + days(30 * n),
            planned_end=ARRIVAL + days(30 * n + 60),
        )
    Assessment.objects.bulk_create(
        [
            Assessment(
                case=world.case,
                owner=world.service_org,
                person=world.case.client,
                version=version,
                assessed_on=datetime.date(2022, 5, 1) + days(90 * n),
                created_by=world.worker.user,
            )
            for n in range(10)
        ]
    )
    client = world.worker.client()
    client.get(timeline_url(world))
    with django_assert_max_num_queries(TIMELINE_QUERIES):
        response = client.get(timeline_url(world))
    assert response.status_code == 200
    assert len(response.context["timeline"].measures) == 40
    assert len(response.context["timeline"].assessments) == 10


# --- the canton officer's milestone rules --------------------------------------------------------


def rule_post(**changes):
    data = {
        "key": "language_a1",
        "years": "2",
        "min_age": "5",
        "max_age": "",
        "warning_months": "6",
        "valid_from": "2026-01-01",
        "note": "Programme cantonal Zyrwq",
    }
    data.update(changes)
    return data


def test_i4_officer_lists_and_adds_a_cantons_milestone_rule_that_the_rules_then_use(world, hotaki):
    officer = world.officer.client()
    page = officer.get(reverse("milestone_rules")).content.decode()
    assert page.count('data-rule="') == 3 and "tous les cantons" in page
    response = officer.post(reverse("milestone_rules"), rule_post())
    assert response.status_code == 302
    rule = MilestoneRule.objects.get(canton=world.service_org.canton)
    assert (rule.years, rule.warning_months, rule.created_by) == (2, 6, world.officer.user)
    # A1 due two years after the arrival (16.03.2024) for the dossiers of that canton
    evaluation = evaluate_cases([world.case.pk], as_of=TODAY)[world.case.pk]
    dues = {f.params["milestone"]: f.due for f in evaluation.findings if "milestone" in f.params}
    assert dues["language_a1"] == datetime.date(2024, 3, 16)
    # a worker may not keep the rules
    assert world.worker.client().get(reverse("milestone_rules")).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"max_age": "4"}, "max_age", "L’âge maximal ne peut pas être inférieur"),
        ({"years": "11"}, "years", "de 1 à 10"),
        ({"valid_from": "2019-04-30"}, "valid_from", "L’AIS s’applique dès le 01.05.2019"),
        ({"warning_months": "61"}, "warning_months", "au plus 60 mois"),
        ({"key": "swimming"}, "key", "Sélectionnez un choix valide"),
    ],
)
def test_i4_bad_milestone_rules_are_refused(world, changes, field, words):
    before = MilestoneRule.objects.count()
    response = world.officer.client().post(reverse("milestone_rules"), rule_post(**changes))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert words in response.content.decode()
    assert MilestoneRule.objects.count() == before


def test_i4_a_second_rule_of_the_same_day_is_refused(world):
    officer = world.officer.client()
    assert officer.post(reverse("milestone_rules"), rule_post()).status_code == 302
    response = officer.post(reverse("milestone_rules"), rule_post(years="4"))
    assert response.status_code == 400
    assert "déjà une règle" in response.content.decode()
    assert MilestoneRule.objects.exclude(canton="").count() == 1


def test_i4_a_measure_for_a_household_member_is_on_that_persons_timeline(world, hotaki):
    from filum.plans import services as plan_services

    teen = factories.PersonFactory(registered_by=world.service_org, last_name="Zyteenwq")
    unit = AssistanceUnit.objects.create(name="Ménage", registered_by=world.service_org)
    UnitMember.objects.create(unit=unit, person=world.case.client, relation="applicant")
    UnitMember.objects.create(unit=unit, person=teen, relation="child")
    world.case.assistance_unit = unit
    world.case.save(update_fields=["assistance_unit"])
    hotaki.case = world.case
    client = world.worker.client()
    # the new-measure form asks for whom, among the dossier's persons only
    create = reverse("measure_create", args=[world.case.pk])
    choices = dict(client.get(create).context["form"].fields["person"].choices)
    client_choice = f"{world.case.client} (le client ou la cliente)"
    assert choices == {"": client_choice, str(teen.pk): str(teen)}
    stranger = factories.PersonFactory(registered_by=world.service_org)
    fields = {"title": "Année de transition Zyqwq", "category": "training"}
    refused = client.post(create, {**fields, "person": str(stranger.pk)})
    assert refused.status_code == 400 and "person" in refused.context["form"].errors
    assert not Measure.objects.filter(title="Année de transition Zyqwq").exists()
    client.post(create, {**fields, "person": str(teen.pk)})
    assert Measure.objects.get(title="Année de transition Zyqwq").person == teen
    pf.measure(hotaki, world.worker.user, title="Cours du client Zyqwq")
    mine = client.get(timeline_url(world)).context["timeline"].measures
    theirs = client.get(timeline_url(world, teen.pk)).context["timeline"].measures
    assert [m.label for m in mine] == ["Cours du client Zyqwq"]
    assert [m.label for m in theirs] == ["Année de transition Zyqwq"]
    # both linked from the plan page
    page = client.get(reverse("plan_detail", args=[world.case.pk])).content.decode()
    assert timeline_url(world) in page and timeline_url(world, teen.pk) in page
    # a person outside the dossier is refused by the service too, nothing stored
    data = plan_services.MeasureData(title="Zyqnonewq", category="training", person=stranger)
    with pytest.raises(ValidationError):
        plan_services.do_create_measure(actor=world.worker.actor, plan=hotaki, data=data)
    assert not Measure.objects.filter(title="Zyqnonewq").exists()


def test_i5_a_milestone_missed_before_the_dossier_opened_is_due_at_its_opening(world, hotaki):
    opened = datetime.date(2025, 9, 1)  # after the A1 due date (16.03.2025)
    from filum.cases.models import Case

    Case.objects.filter(pk=world.case.pk).update(opened_on=opened)
    run_nightly_rules(as_of=TODAY)
    task = Task.objects.get(case=world.case, kind="milestone")
    assert task.due_on == opened
    assert task.rule_key.endswith(":2025-03-16")


# --- a situation recorded in error (I4, I5; decision 0021) ------------------------------------


def error_url(world, entry, person_id=None):
    return reverse(
        "situation_in_error", args=[world.case.pk, person_id or world.case.client_id, entry.pk]
    )


@pytest.fixture
def young(world, hotaki):
    """The client born on 1.1.2008: 16 to 25 when education falls due (16.03.2027), so that
    milestone is at risk from today (16.03.2026) unless post-compulsory education is recorded."""
    Person.objects.filter(pk=world.case.client_id).update(birth_date=datetime.date(2008, 1, 1))
    world.case.client.refresh_from_db()
    return world.case.client


def education_codes(world) -> list[str]:
    findings = evaluate_cases([world.case.pk], as_of=TODAY)[world.case.pk].findings
    return [f.code for f in findings if f.params.get("milestone") == "education_16_25"]


def record(world, situation: str, on: datetime.date) -> SituationEntry:
    kind, _sep, value = situation.partition(":")
    return plan_services.do_record_situation(
        actor=world.worker.actor,
        case=world.case,
        person=world.case.client,
        kind=kind,
        value=value,
        on=on,
    )


def test_i4_i5_a_situation_recorded_in_error_stays_struck_through_and_no_longer_counts(
    world, young, django_capture_on_commit_callbacks
):
    from filum.cases.models import Case

    Case.objects.filter(pk=world.case.pk).update(domain="asylum_aid")  # a kept light
    with django_capture_on_commit_callbacks(execute=True):
        wrong = record(world, "education:post_compulsory", datetime.date(2025, 8, 1))
    assert education_codes(world) == []  # met by the wrong entry
    light = KeptLight.objects.get(case=world.case)
    assert "milestone_at_risk" not in [f["code"] for f in light.findings]
    client = world.worker.client()
    page = client.get(timeline_url(world)).content.decode()
    assert error_url(world, wrong) in page  # the worker may mark it from the table
    assert client.get(error_url(world, wrong)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            error_url(world, wrong),
            {
                "reason": "Stage d'orientation, pas un apprentissage",
                "situation": "education:bridging",
                "on": "2025-08-01",
                "note": "",
            },
        )
    assert response.status_code == 302
    wrong.refresh_from_db()
    assert wrong.error_by == world.worker.user and wrong.error_at is not None
    assert wrong.error_reason == "Stage d'orientation, pas un apprentissage"
    right = SituationEntry.objects.get(corrects=wrong)
    assert (right.kind, right.value, right.since) == ("education", "bridging", wrong.since)
    # no longer counts: the milestone is at risk again, in the findings and the kept light
    assert education_codes(world) == ["milestone_at_risk"]
    light = KeptLight.objects.get(case=world.case)
    assert "milestone_at_risk" in [f["code"] for f in light.findings]
    # shown struck through with who, when and why, in both languages
    for language, words in (("fr", "saisie par erreur ("), ("de", "irrtümlich erfasst (")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        page = client.get(timeline_url(world)).content.decode()
        assert f"{words}{world.worker.user}, 16.03.2026)" in page
        assert "<del>" in page and "pas un apprentissage" in page
        assert "timeline__situation--in_error" in page
        assert error_url(world, wrong) not in page and error_url(world, right) in page
    # audited in the dossier's history, never edited or deleted otherwise
    events = SituationEntry.pgh_event_model.objects.filter(pgh_obj_id=wrong.pk)
    assert sorted(events.values_list("pgh_label", flat=True)) == ["insert", "update"]


def test_i4_a_situation_marked_in_error_without_a_correction_then_a_new_entry(world, young):
    wrong = record(world, "education:post_compulsory", datetime.date(2025, 8, 1))
    response = world.worker.client().post(
        error_url(world, wrong), {"reason": "Doublon d'un autre dossier"}
    )
    assert response.status_code == 302
    assert SituationEntry.objects.count() == 1 and education_codes(world) == ["milestone_at_risk"]
    record(world, "education:post_compulsory", datetime.date(2025, 9, 1))
    assert education_codes(world) == []


@pytest.mark.parametrize(
    ("data", "fr", "de"),
    [
        ({"reason": " "}, "Indiquez pourquoi l’entrée", "Geben Sie an, warum der Eintrag"),
        (
            {"reason": "Faux", "situation": "education:bridging"},
            "Indiquez la date à partir de laquelle",
            "Geben Sie das Datum an, ab dem",
        ),
        (
            {"reason": "Faux", "on": "2025-08-01"},
            "Choisissez la situation correcte",
            "Wählen Sie die richtige Situation",
        ),
        (
            {"reason": "Faux", "situation": "education:bridging", "on": "2022-03-15"},
            "avant l’arrivée en Suisse",
            "vor der Einreise in die Schweiz",
        ),
    ],
)
def test_i4_bad_corrections_are_refused_in_both_languages_nothing_stored(
    world, young, data, fr, de
):
    wrong = record(world, "education:post_compulsory", datetime.date(2025, 8, 1))
    for language, words in (("fr", fr), ("de", de)):
        client = world.worker.client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.post(error_url(world, wrong), data)
        assert response.status_code == 400
        assert words in response.content.decode().replace("'", "’").replace("&#x27;", "’")
    wrong.refresh_from_db()
    assert wrong.error_at is None and SituationEntry.objects.count() == 1


def test_i4_an_entry_already_marked_in_error_is_refused_with_a_clear_message(world, young):
    wrong = record(world, "education:post_compulsory", datetime.date(2025, 8, 1))
    stale = SituationEntry.objects.get(pk=wrong.pk)
    plan_services.do_mark_situation_in_error(
        actor=world.colleague.actor, case=world.case, entry=wrong, reason="Erreur de saisie"
    )
    # a second marking from a page shown before the first: refused, the first one kept
    with pytest.raises(ValidationError) as refused:
        plan_services.do_mark_situation_in_error(
            actor=world.worker.actor, case=world.case, entry=stale, reason="Autre raison"
        )
    assert refused.value.code == "already_in_error"
    for language, words in (("fr", "déjà été marquée"), ("de", "bereits am")):
        client = world.worker.client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.post(error_url(world, wrong), {"reason": "Encore"})
        assert response.status_code == 400 and words in response.content.decode()
    wrong.refresh_from_db()
    assert (wrong.error_by, wrong.error_reason) == (world.colleague.user, "Erreur de saisie")
    # the database keeps it too: no second marking, no edit, no delete
    from django.db import DatabaseError, transaction

    for change in (
        lambda: SituationEntry.objects.filter(pk=wrong.pk).update(error_reason="x"),
        lambda: SituationEntry.objects.filter(pk=wrong.pk).update(value="none"),
        lambda: SituationEntry.objects.filter(pk=wrong.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="pgtrigger"), transaction.atomic():
            change()


def test_i4_an_entry_of_another_person_or_dossier_is_404(world, young):
    wrong = record(world, "education:post_compulsory", datetime.date(2025, 8, 1))
    teen = factories.PersonFactory(registered_by=world.service_org, arrival_date=ARRIVAL)
    unit = AssistanceUnit.objects.create(name="Ménage", registered_by=world.service_org)
    UnitMember.objects.create(unit=unit, person=world.case.client, relation="applicant")
    UnitMember.objects.create(unit=unit, person=teen, relation="child")
    world.case.assistance_unit = unit
    world.case.save(update_fields=["assistance_unit"])
    client = world.worker.client()
    # the teenager's URL with the client's entry
    assert client.post(error_url(world, wrong, teen.pk), {"reason": "x"}).status_code == 404
    # the same entry through another dossier of the same client
    other = factories.CaseFactory(
        owner=world.service_org, client=world.case.client, responsible=world.worker.user
    )
    pf.plan(other, world.worker.user)
    url = reverse("situation_in_error", args=[other.pk, world.case.client_id, wrong.pk])
    assert client.post(url, {"reason": "x"}).status_code == 404
    missing = reverse("situation_in_error", args=[world.case.pk, world.case.client_id, 987654])
    assert client.get(missing).status_code == 404
    # readers of another organisation, and without the plan write
    assert world.outsider.client().post(error_url(world, wrong), {"reason": "x"}).status_code == 404
    wrong.refresh_from_db()
    assert wrong.error_at is None


@pytest.mark.django_db(transaction=True)
def test_i4_two_markings_at_the_same_moment_give_one_result(world, young):
    """Two real connections mark the same entry: the row lock serves them one after the
    other; one marks it, the other is told it is already marked."""
    wrong = record(world, "education:post_compulsory", datetime.date(2025, 8, 1))
    start = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def mark(actor, reason: str) -> None:
        try:
            start.wait(timeout=20)
            plan_services.do_mark_situation_in_error(
                actor=actor, case=world.case, entry=wrong, reason=reason
            )
            outcomes.append("marked")
        except ValidationError as exc:
            outcomes.append(exc.code or "")
        except BaseException as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=mark, args=(persona.actor, persona.user.username))
        for persona in (world.worker, world.colleague)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == ["already_in_error", "marked"]
    wrong.refresh_from_db()
    assert wrong.error_reason == wrong.error_by.username


def test_u4_facts_of_given_dossiers_equal_the_queryset_built_each_time(world, hotaki):
    """The facts query compiled once per thread (filum/prepared.py) returns what the queryset
    built for each call returns: same dossiers, same facts (milestone persons, rules, measures
    as JSON), the open ones only when asked; the ids are bound anew at each call."""
    from filum.cases.models import Case
    from filum.followup.evaluation import load_case_rows, load_case_rows_of

    unit = AssistanceUnit.objects.create(name="Ménage", registered_by=world.service_org)
    UnitMember.objects.create(unit=unit, person=world.case.client, relation="applicant")
    teen = factories.PersonFactory(
        registered_by=world.service_org,
        birth_date=datetime.date(2010, 6, 1),
        residence_status="F",
        arrival_date=ARRIVAL,
    )
    UnitMember.objects.create(unit=unit, person=teen, relation="child")
    Case.objects.filter(pk=world.case.pk).update(assistance_unit=unit)
    closed = factories.CaseFactory(
        owner=world.service_org, status="closed", closed_on=TODAY, closure_reason="other"
    )
    ids = [world.case.pk, closed.pk, *Case.objects.values_list("pk", flat=True)]
    built = load_case_rows(Case.objects.filter(pk__in=ids))
    prepared = load_case_rows_of(ids)
    assert sorted(prepared, key=lambda r: str(r.id)) == sorted(built, key=lambda r: str(r.id))
    mine = next(r for r in prepared if r.id == world.case.pk)
    assert {p.id for p in mine.facts.persons} == {str(world.case.client_id), str(teen.pk)}
    assert mine.facts.milestone_rules
    open_rows = load_case_rows_of(ids, open_only=True)
    assert closed.pk not in {r.id for r in open_rows}
    assert open_rows == load_case_rows(Case.objects.filter(pk__in=ids, status="open"))
    assert [r.id for r in load_case_rows_of([closed.pk])] == [closed.pk]
    assert load_case_rows_of([]) == []
