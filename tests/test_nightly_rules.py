"""The nightly rule run: tasks for every open dossier, idempotent, counted in SQL like in Python."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from filum.cases.models import Case, SegmentAssignment
from filum.followup.evaluation import evaluate_cases, load_case_rows, load_rules, load_tallies
from filum.followup.models import Task, TaskStatus
from filum.followup.nightly import run_nightly_rules
from filum.followup.rules import ContactRecord, plan_norm, tally_contacts
from filum.followup.texts import task_description, task_title
from filum.journal import services as journal
from filum.journal.models import Contact, Topic
from tests import factories
from tests.conftest import make_persona

TODAY = datetime.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False):
        yield


def counselling_case(org, worker, segment, since, *, received=None, final=True) -> Case:
    case = factories.CaseFactory(
        owner=org,
        responsible=worker,
        opened_on=since - datetime.timedelta(days=90),
        stage="counselling",
        stage_since=received or since,
        received_on=received or since,
        segment=segment,
        segment_since=since,
    )
    SegmentAssignment.objects.create(
        case=case,
        owner=org,
        segment=segment,
        since=since,
        kind="final" if final else "initial",
        justification="Critères",
        decided_by=worker,
    )
    return case


@pytest.fixture
def portfolio(world):
    org, worker = world.service_org, world.worker.user
    return {
        # norm missed: B without face-to-face interview for 13 months
        "silent_b": counselling_case(org, worker, "B", datetime.date(2024, 10, 1)),
        # time limit of A reached today
        "a_expiring": counselling_case(org, worker, "A", datetime.date(2025, 9, 16)),
        # final decision overdue
        "undecided": counselling_case(
            org,
            worker,
            "C",
            datetime.date(2025, 11, 1),
            received=datetime.date(2025, 11, 1),
            final=False,
        ),
        # short-term advance too long in Intake 1, nobody responsible: goes to the section heads
        "advance": factories.CaseFactory(
            owner=org, opened_on=datetime.date(2025, 11, 1), short_term_advance=True
        ),
        # on track
        "fine_c": counselling_case(org, worker, "C", datetime.date(2024, 10, 1)),
    }


def add_contact(world, case, day, kind="interview"):
    journal.do_record_contact(
        actor=world.worker.actor,
        case=case,
        kind=kind,
        date=day,
        topic=Topic.objects.get(code="health"),
        duration_minutes=30 if kind == "interview" else None,
    )


def test_i5_nightly_creates_the_due_tasks_and_a_second_run_creates_none(world, portfolio):
    add_contact(world, portfolio["fine_c"], datetime.date(2026, 1, 10))
    for month in (10, 11, 12):
        add_contact(world, portfolio["a_expiring"], datetime.date(2025, month, 1))
    add_contact(world, portfolio["a_expiring"], datetime.date(2026, 2, 1))
    first = run_nightly_rules(as_of=TODAY, chunk_size=2)  # several chunks
    assert first.cases == 7  # the portfolio plus the two dossiers of the world fixture
    by_case = {
        name: sorted(Task.objects.filter(case=case).values_list("kind", flat=True))
        for name, case in portfolio.items()
    }
    assert by_case["silent_b"] == ["no_contact"]
    assert "review_due" in by_case["a_expiring"]
    assert "decision_due" in by_case["undecided"]
    assert by_case["advance"] == ["intake_overdue"]
    assert by_case["fine_c"] == []
    advance_task = Task.objects.get(case=portfolio["advance"])
    assert (advance_task.assigned_to, advance_task.assigned_role) == (None, "section_head")
    silent = Task.objects.get(case=portfolio["silent_b"])
    assert silent.assigned_to == world.worker.user and silent.created_by is None
    # stored as a key and parameters; the counts are in the rendered words
    description = task_description(silent)
    assert silent.title_key == "rule.no_contact" and task_title(silent)
    assert "0" in description and "3" in description

    second = run_nightly_rules(as_of=TODAY)
    assert second.created_total == 0 and second.resolved == 0
    assert Task.objects.count() == first.created_total


def test_i5_cancelled_rule_task_does_not_come_back_for_the_same_deadline(world, portfolio):
    run_nightly_rules(as_of=TODAY)
    task = Task.objects.get(case=portfolio["advance"])
    Task.objects.filter(pk=task.pk).update(
        status=TaskStatus.CANCELLED, closed_at=datetime.datetime.now(datetime.UTC)
    )
    assert run_nightly_rules(as_of=TODAY).created_total == 0


def test_i5_rule_task_resolved_when_the_condition_goes(world, portfolio):
    run_nightly_rules(as_of=TODAY)
    case = portfolio["silent_b"]
    for day in (datetime.date(2025, 6, 1), datetime.date(2025, 10, 1), datetime.date(2026, 3, 1)):
        add_contact(world, case, day)
    summary = run_nightly_rules(as_of=TODAY)
    task = Task.objects.get(case=case)
    assert task.status == TaskStatus.DONE and summary.resolved >= 1


def test_i5_closed_dossiers_are_not_evaluated(world, portfolio):
    Case.objects.filter(pk=portfolio["silent_b"].pk).update(
        status="closed", stage="closed", closed_on=TODAY, closure_reason="moved"
    )
    summary = run_nightly_rules(as_of=TODAY)
    assert summary.cases == 6
    assert not Task.objects.filter(case=portfolio["silent_b"]).exists()


def test_i5_command_prints_a_summary_and_states_its_rules(world, portfolio):
    out = io.StringIO()
    call_command("nightly_rules", "--as-of", "2026-03-16", stdout=out)
    text = out.getvalue()
    assert "7 open dossiers evaluated" in text and "tasks created: 6" in text
    # no contacts at all in this test: silent_b, a_expiring and fine_c miss their norm
    assert "no_contact 3" in text and "intake_overdue 1" in text and "review_due 1" in text
    out = io.StringIO()
    call_command("nightly_rules", "--as-of", "2026-03-16", stdout=out)
    assert "tasks created: 0" in out.getvalue()
    from filum.followup.management.commands.nightly_rules import Command

    assert "Idempotent" in Command.help and "36 months" in Command.help


def test_i5_nightly_as_of_a_past_date(world, portfolio):
    summary = run_nightly_rules(as_of=datetime.date(2025, 6, 30))
    # before the A and C dossiers entered their segments: no review or decision tasks yet
    assert "review_due" not in summary.created and "decision_due" not in summary.created


def test_i5_steering_demo_data_fill_open_dossiers_once(world):
    from filum.cases.services import rows_before_opening
    from filum.demo.steering import seed_steering_demo

    org = world.service_org
    for _ in range(6):
        factories.CaseFactory(
            owner=org,
            responsible=world.worker.user,
            opened_on=datetime.date(2024, 5, 1),
            stage="counselling",
        )
    factories.CaseFactory(
        owner=org,
        responsible=world.worker.user,
        opened_on=datetime.date(2026, 1, 5),
        stage="intake_2",
    )
    counts = seed_steering_demo(today=TODAY, seed=3)
    assert counts["cases_segmentassignment"] >= 6 and counts["journal_contact"] > 10
    assert Case.objects.filter(stage="counselling").exclude(segment="").count() == 6
    assert not Contact.objects.filter(date__gt=TODAY).exists()
    assert rows_before_opening() == {}
    again = seed_steering_demo(today=TODAY, seed=3)
    assert again["journal_contact"] == 0 and again["cases_segmentassignment"] == 0


class TestSqlTallyMatchesPython(HypothesisTestCase):
    """The nightly run counts contacts in SQL; the result equals the pure Python count."""

    @classmethod
    def setUpTestData(cls):
        org = factories.OrganisationFactory()
        cls.persona = make_persona(org, "social_worker", "tally_worker")
        cls.case = counselling_case(org, cls.persona.user, "B", datetime.date(2025, 2, 27))
        cls.topics = {t.code: t for t in Topic.objects.all()}

    @settings(max_examples=40, deadline=None)
    @given(
        entries=st.lists(
            st.tuples(
                st.integers(0, 450),
                st.sampled_from(["interview", "phone", "document_drop", "home_visit"]),
                st.sampled_from(["health", "documents"]),
            ),
            max_size=12,
        ),
        as_of_offset=st.integers(0, 60),
    )
    def test_s6_property_sql_tally_equals_python(self, entries, as_of_offset):
        Contact.objects.filter(case=self.case).delete()
        for offset, kind, topic in entries:
            journal.do_record_contact(
                actor=self.persona.actor,
                case=self.case,
                kind=kind,
                date=TODAY - datetime.timedelta(days=offset),
                topic=self.topics[topic],
                duration_minutes=15 if kind in ("interview", "home_visit") else None,
            )
        as_of = TODAY - datetime.timedelta(days=as_of_offset)
        rules = load_rules(as_of)
        (row,) = load_case_rows(Case.objects.filter(pk=self.case.pk))
        plan = plan_norm(row.facts, rules, as_of)
        assert plan is not None
        sql = load_tallies({self.case.pk: plan}, as_of)[self.case.pk]
        python = tally_contacts(
            plan,
            [
                ContactRecord(c.date, c.counts, c.is_face_to_face)
                for c in Contact.objects.filter(case=self.case).visible()
            ],
        )
        assert sql == python
        assert evaluate_cases([self.case.pk], as_of=as_of)[self.case.pk].tally == python
