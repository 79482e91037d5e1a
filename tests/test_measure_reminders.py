"""Reminders on the measures of an integration plan (I5, issue 8 item 8, decision 0022): a
measure starting within 14 days, a start that has passed, a result missing after the end and
overdue 30 days after it. They feed the kept traffic light and the tasks like the case
steering rules; the windows are norm rules. And CII dossiers get no social-assistance
steering (I5, X4)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from filum.cases.models import Case
from filum.followup import kept
from filum.followup.evaluation import evaluate_cases, load_rules
from filum.followup.models import KeptLight, NormRule, Task, TaskStatus
from filum.followup.nightly import run_nightly_rules
from filum.followup.rules import (
    DEFAULT_RULES,
    MEASURE_RESULT,
    MEASURE_START,
    CaseFacts,
    Level,
    MeasureFacts,
    Norm,
    RuleSet,
    evaluate_case,
)
from filum.plans import services as plans
from filum.plans.models import MeasureStatus
from tests import factories
from tests import plan_factories as pf

TODAY = datetime.date(2026, 3, 16)


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False):
        yield


def codes(measure: MeasureFacts, rules: RuleSet = DEFAULT_RULES, as_of=TODAY) -> list[str]:
    facts = CaseFacts(stage="intake_1", opened_on=as_of - days(400), measures=(measure,))
    return [f.code for f in evaluate_case(as_of=as_of, facts=facts, rules=rules).findings]


def starting(start: datetime.date | None, status: str = "planned") -> MeasureFacts:
    return MeasureFacts(id=7, title="Cours de français A2", status=status, planned_start=start)


def ended(end: datetime.date | None, status: str = "completed", result=False) -> MeasureFacts:
    return MeasureFacts(id=8, title="Coaching", status=status, ends_on=end, has_result=result)


# --- the four findings and their boundary days -------------------------------------------------


@pytest.mark.parametrize("status", ["planned", "registered"])
def test_i5_a_measure_starting_within_14_days_is_starting_soon(status):
    assert codes(starting(TODAY + days(15), status)) == []
    assert codes(starting(TODAY + days(14), status)) == ["measure_starts_soon"]
    assert codes(starting(TODAY, status)) == ["measure_starts_soon"]
    facts = CaseFacts(stage="intake_1", opened_on=TODAY, measures=(starting(TODAY + days(14)),))
    evaluation = evaluate_case(as_of=TODAY, facts=facts, rules=DEFAULT_RULES)
    (finding,) = evaluation.findings
    assert evaluation.level == Level.ORANGE
    assert finding.task_kind == MEASURE_START and finding.due == TODAY + days(14)
    assert finding.rule_key == f"measure_start:7:{TODAY + days(14)}"
    assert finding.params["measure"] == "Cours de français A2"


@pytest.mark.parametrize("status", ["planned", "registered"])
def test_i5_a_passed_start_of_a_measure_still_planned_is_overdue(status):
    assert codes(starting(TODAY - days(1), status)) == ["measure_start_overdue"]
    assert codes(starting(TODAY - days(400), status)) == ["measure_start_overdue"]
    facts = CaseFacts(stage="intake_1", opened_on=TODAY, measures=(starting(TODAY - days(1)),))
    evaluation = evaluate_case(as_of=TODAY, facts=facts, rules=DEFAULT_RULES)
    assert evaluation.level == Level.RED
    # the same task as while it was starting soon
    assert evaluation.findings[0].rule_key == f"measure_start:7:{TODAY - days(1)}"


@pytest.mark.parametrize("status", ["running", "completed", "aborted"])
def test_i5_a_started_or_aborted_measure_is_no_start_reminder(status):
    assert codes(starting(TODAY + days(3), status)) == []
    assert codes(starting(TODAY - days(3), status)) == []
    assert codes(starting(None)) == []


@pytest.mark.parametrize("status", ["running", "completed"])
def test_i5_an_ended_measure_without_result_is_missing_then_overdue_after_30_days(status):
    assert codes(ended(TODAY, status)) == []  # ends today: not passed yet
    assert codes(ended(TODAY - days(1), status)) == ["measure_result_missing"]
    assert codes(ended(TODAY - days(30), status)) == ["measure_result_missing"]
    assert codes(ended(TODAY - days(31), status)) == ["measure_result_overdue"]
    facts = CaseFacts(stage="intake_1", opened_on=TODAY, measures=(ended(TODAY - days(30)),))
    evaluation = evaluate_case(as_of=TODAY, facts=facts, rules=DEFAULT_RULES)
    (finding,) = evaluation.findings
    assert evaluation.level == Level.ORANGE
    assert finding.task_kind == MEASURE_RESULT and finding.due == TODAY
    assert finding.rule_key == f"measure_result:8:{TODAY - days(30)}"
    facts = CaseFacts(stage="intake_1", opened_on=TODAY, measures=(ended(TODAY - days(31)),))
    evaluation = evaluate_case(as_of=TODAY, facts=facts, rules=DEFAULT_RULES)
    assert evaluation.level == Level.RED
    assert evaluation.findings[0].rule_key == f"measure_result:8:{TODAY - days(31)}"


def test_i5_a_result_an_abort_or_no_end_ends_the_result_reminder():
    assert codes(ended(TODAY - days(40), result=True)) == []
    assert codes(ended(TODAY - days(40), status="aborted")) == []
    assert codes(ended(None, status="running")) == []


def test_i5_the_windows_are_the_norm_rules_a_canton_can_change(db):
    rules = load_rules(TODAY)
    assert rules.get(MEASURE_START) == Norm(MEASURE_START, warning_days=14)
    assert rules.get(MEASURE_RESULT) == Norm(MEASURE_RESULT, warning_days=30)
    changed = RuleSet(
        {
            **DEFAULT_RULES.norms,
            MEASURE_START: Norm(MEASURE_START, warning_days=7),
            MEASURE_RESULT: Norm(MEASURE_RESULT, warning_days=60),
        }
    )
    assert codes(starting(TODAY + days(8)), changed) == []
    assert codes(starting(TODAY + days(7)), changed) == ["measure_starts_soon"]
    assert codes(ended(TODAY - days(60)), changed) == ["measure_result_missing"]
    assert codes(ended(TODAY - days(61)), changed) == ["measure_result_overdue"]
    # without the rule in force, no reminder of that kind
    bare = RuleSet({k: v for k, v in DEFAULT_RULES.norms.items() if not k.startswith("measure")})
    assert codes(starting(TODAY + days(3)), bare) == []
    assert codes(ended(TODAY - days(40)), bare) == []


def test_i5_a_new_norm_row_moves_the_window(world):
    NormRule.objects.create(key=MEASURE_START, valid_from=TODAY, warning_days=7, note="Canton")
    assert load_rules(TODAY).get(MEASURE_START).warning_days == 7
    assert load_rules(TODAY - days(1)).get(MEASURE_START).warning_days == 14


# --- from the database: evaluation, tasks, kept light -----------------------------------------


def plan_of(world, case: Case | None = None):
    return pf.plan(case or world.case, world.worker.user)


def test_i5_the_rules_read_the_measures_of_the_dossier(world):
    plan = plan_of(world)
    soon = pf.measure(plan, world.worker.user, title="Cours A2", planned_start=TODAY + days(14))
    later = pf.measure(plan, world.worker.user, planned_start=TODAY + days(15))
    done = pf.measure(
        plan,
        world.worker.user,
        status=MeasureStatus.COMPLETED,
        actual_start=TODAY - days(90),
        actual_end=TODAY - days(31),
        planned_end=TODAY - days(5),  # the actual end counts
    )
    pf.measure(
        plan,
        world.worker.user,
        status=MeasureStatus.COMPLETED,
        actual_start=TODAY - days(90),
        actual_end=TODAY - days(40),
        result="reached",
    )
    evaluation = evaluate_cases([world.case.pk], as_of=TODAY)[world.case.pk]
    found = {(f.code, f.params["measure_id"]) for f in evaluation.findings}
    assert found == {("measure_starts_soon", soon.pk), ("measure_result_overdue", done.pk)}
    assert later.pk not in {f.params["measure_id"] for f in evaluation.findings}
    assert evaluation.level == Level.RED


def test_i5_the_nightly_run_opens_one_task_for_the_responsible_worker(world):
    plan = plan_of(world)
    measure = pf.measure(
        plan,
        world.worker.user,
        title="Stage pratique",
        status=MeasureStatus.RUNNING,
        actual_start=TODAY - days(60),
        planned_end=TODAY - days(2),
    )
    summary = run_nightly_rules(as_of=TODAY)
    assert summary.created["measure_result"] == 1
    task = Task.objects.get(case=world.case, kind="measure_result")
    assert task.assigned_to == world.worker.user and task.is_open
    assert task.due_on == TODAY + days(28)
    assert task.rule_key == f"measure_result:{measure.pk}:{TODAY - days(2)}"
    # the next night (and the one after the 30 days, red) makes no second task
    assert run_nightly_rules(as_of=TODAY).created_total == 0
    assert run_nightly_rules(as_of=TODAY + days(29)).created_total == 0
    assert Task.objects.filter(case=world.case, kind="measure_result").count() == 1
    # read in the reader's language
    for language, words in (("fr", "Stage pratique"), ("de", "Stage pratique")):
        client = world.worker.client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        page = client.get(reverse("task_detail", args=[task.pk])).content.decode()
        assert words in page and "14.03.2026" in page
    client = world.worker.client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = client.get(reverse("task_detail", args=[task.pk])).content.decode()
    assert "Ergebnis" in page


def test_i5_without_responsible_worker_the_task_goes_to_the_section_heads(world):
    Case.objects.filter(pk=world.case.pk).update(responsible=None)
    plan = plan_of(world)
    pf.measure(plan, world.worker.user, planned_start=TODAY + days(2))
    run_nightly_rules(as_of=TODAY)
    task = Task.objects.get(case=world.case, kind="measure_start")
    assert task.assigned_to is None and task.assigned_role == "section_head"


def data_of(measure, **changes) -> plans.MeasureData:
    fields = {
        name: getattr(measure, name)
        for name in (
            "title",
            "category",
            "planned_start",
            "planned_end",
            "actual_start",
            "actual_end",
            "status",
            "abort_reason",
            "result",
            "conduct_note",
            "client_view",
        )
    }
    return plans.MeasureData(**{**fields, **changes})


def test_i5_entering_the_result_closes_the_task_and_turns_the_light_green(
    world, django_capture_on_commit_callbacks
):
    plan = plan_of(world)
    measure = pf.measure(
        plan,
        world.worker.user,
        status=MeasureStatus.COMPLETED,
        actual_start=TODAY - days(100),
        actual_end=TODAY - days(45),
    )
    run_nightly_rules(as_of=TODAY)
    task = Task.objects.get(case=world.case, kind="measure_result")
    assert KeptLight.objects.get(case=world.case).level == Level.RED
    with django_capture_on_commit_callbacks(execute=True):
        plans.do_update_measure(
            actor=world.worker.actor,
            measure=measure,
            version=measure.version,
            data=data_of(measure, result="certificate"),
        )
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.closed_at is not None
    light = KeptLight.objects.get(case=world.case)
    assert light.level == Level.GREEN and light.findings == [] and light.as_of == TODAY
    # the nightly run does not bring it back
    assert run_nightly_rules(as_of=TODAY).created_total == 0


def test_i5_a_measure_write_updates_the_kept_light_on_commit(
    world, django_capture_on_commit_callbacks
):
    plan = plan_of(world)
    run_nightly_rules(as_of=TODAY)
    assert KeptLight.objects.get(case=world.case).level == Level.GREEN
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        measure = plans.do_create_measure(
            actor=world.worker.actor,
            plan=plan,
            data=plans.MeasureData(
                title="Cours intensif", category="language_course", planned_start=TODAY + days(5)
            ),
        )
        # forgotten in the writing transaction: nothing shows the old light
        assert not KeptLight.objects.filter(case=world.case).exists()
    assert len(callbacks) == 1
    light = KeptLight.objects.get(case=world.case)
    assert light.level == Level.ORANGE
    assert [f["code"] for f in light.findings] == ["measure_starts_soon"]
    assert light.next_due == TODAY + days(5)
    # the reminder's task is made with the write, once
    task = Task.objects.get(case=world.case, kind="measure_start")
    assert task.assigned_to == world.worker.user and task.due_on == TODAY + days(5)
    assert run_nightly_rules(as_of=TODAY).created_total == 0
    # starting the measure ends the reminder and its task
    with django_capture_on_commit_callbacks(execute=True):
        plans.do_update_measure(
            actor=world.worker.actor,
            measure=measure,
            version=measure.version,
            data=data_of(measure, status=MeasureStatus.RUNNING, actual_start=TODAY),
        )
    assert KeptLight.objects.get(case=world.case).level == Level.GREEN
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    fresh = kept.lights_of([world.case.pk], TODAY)[world.case.pk]
    assert fresh.level == Level.GREEN


# --- CII dossiers are not steered by the social-assistance rules ------------------------------


def test_i5_x4_a_cii_dossier_gets_no_intake_time_limit_nor_segment_norm(world):
    opened = TODAY - days(200)
    economic = factories.CaseFactory(
        owner=world.service_org,
        responsible=world.worker.user,
        opened_on=opened,
        short_term_advance=True,
    )
    cii = factories.CaseFactory(
        owner=world.service_org,
        responsible=world.worker.user,
        domain="cii",
        opened_on=opened,
        short_term_advance=True,
    )
    counselling_cii = factories.CaseFactory(
        owner=world.service_org,
        responsible=world.worker.user,
        domain="cii",
        opened_on=opened,
        stage="counselling",
        received_on=opened,
    )
    evaluations = evaluate_cases([economic.pk, cii.pk, counselling_cii.pk], as_of=TODAY)
    assert [f.code for f in evaluations[economic.pk].findings] == ["intake_overdue"]
    assert evaluations[cii.pk].findings == () and evaluations[cii.pk].level == Level.GREEN
    assert evaluations[counselling_cii.pk].findings == ()
    run_nightly_rules(as_of=TODAY)
    assert Task.objects.filter(case=economic, kind="intake_overdue").count() == 1
    assert not Task.objects.filter(case__in=[cii, counselling_cii]).exists()
    assert KeptLight.objects.get(case=cii).level == Level.GREEN


def test_i5_x4_a_cii_dossier_still_gets_its_measure_reminders(world):
    cii = factories.CaseFactory(
        owner=world.service_org,
        responsible=world.worker.user,
        domain="cii",
        opened_on=TODAY - days(200),
        short_term_advance=True,
    )
    plan = plan_of(world, cii)
    pf.measure(plan, world.worker.user, planned_start=TODAY - days(3))
    evaluation = evaluate_cases([cii.pk], as_of=TODAY)[cii.pk]
    assert [f.code for f in evaluation.findings] == ["measure_start_overdue"]
    run_nightly_rules(as_of=TODAY)
    assert Task.objects.get(case=cii).kind == "measure_start"
