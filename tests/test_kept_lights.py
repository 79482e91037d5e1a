"""The kept traffic lights (U4, issue 7, decision 0015) equal a fresh evaluation after every
kind of write and after the nightly run; stale or missing ones are never shown as today's."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from filum.cases.models import Case, ClosureReason
from filum.followup import kept, lifecycle, segments
from filum.followup.lights import lights_for_cases
from filum.followup.models import KeptLight
from filum.followup.nightly import run_nightly_rules
from filum.followup.rules import INFO_CODES, add_months
from filum.journal import services as journal
from filum.journal.models import ContactKind
from tests import factories
from tests.test_steering_views import criterion, in_counselling, in_intake_2, topic


def finding_tuples(evaluation):
    return [
        (f.code, int(f.level), dict(f.params), f.task_kind, f.due, f.rule_key)
        for f in evaluation.findings
    ]


def assert_kept_is_fresh(*cases: Case) -> None:
    """Each dossier's kept row says what a fresh evaluation says: level, findings (with their
    parameters), the reasons in French and German, and the team view's flags."""
    today = timezone.localdate()
    fresh = lights_for_cases([c.pk for c in cases], today)
    rows = {k.case_id: k for k in KeptLight.objects.filter(case_id__in=[c.pk for c in cases])}
    for case in cases:
        row, light = rows[case.pk], fresh[case.pk]
        assert row.as_of == today
        stored = kept.light_from_kept(row)
        assert stored.level == light.level
        assert finding_tuples(stored.evaluation) == finding_tuples(light.evaluation)
        for language in ("fr", "de"):
            with override(language):
                assert stored.reasons == light.reasons
        codes = {f.code for f in light.evaluation.findings}
        assert row.has_norm == (light.evaluation.plan is not None)
        assert row.norm_missed == bool(codes & kept.NORM_MISSED)
        assert row.info == bool(codes & INFO_CODES)
        tasks = light.evaluation.tasks
        assert row.next_due == (tasks[0].due if tasks else None)


def contact(world, case: Case, day: datetime.date, kind: str = ContactKind.INTERVIEW):
    return journal.do_record_contact(
        actor=world.worker.actor,
        case=case,
        kind=kind,
        date=day,
        topic=topic(),
        duration_minutes=30,
    )


def test_u4_kept_light_equals_a_fresh_evaluation_after_each_kind_of_write(
    world, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    case = world.case
    Case.objects.filter(pk=case.pk).update(opened_on=today - datetime.timedelta(days=800))
    other = factories.CaseFactory(
        owner=world.service_org, responsible=world.worker.user, team=case.team
    )
    run_nightly_rules(as_of=today)
    assert_kept_is_fresh(case, other)

    def write(step):
        with django_capture_on_commit_callbacks(execute=True):
            result = step()
        return result

    # stage change
    other = write(lambda: in_intake_2(world, other))
    assert_kept_is_fresh(other)
    # stage change, segment proposal and decision, transfer to counselling
    case = write(lambda: in_counselling(world, case=case, segment="B"))
    assert_kept_is_fresh(case)
    # contacts: recorded, corrected, retracted
    first = write(lambda: contact(world, case, add_months(today, -13)))
    assert_kept_is_fresh(case)
    recent = write(lambda: contact(world, case, today - datetime.timedelta(days=3)))
    assert_kept_is_fresh(case)
    write(
        lambda: journal.do_correct_contact(
            actor=world.worker.actor,
            contact=recent,
            reason="Date",
            kind=ContactKind.PHONE,
            date=today - datetime.timedelta(days=2),
            topic=topic(),
        )
    )
    assert_kept_is_fresh(case)
    write(lambda: journal.do_retract_contact(actor=world.worker.actor, contact=first, reason="x"))
    assert_kept_is_fresh(case)
    # a section head's change of segment
    write(
        lambda: segments.do_change_segment(
            actor=world.head.actor,
            case=case,
            segment="A",
            criteria=[criterion("A")],
            justification="Crise",
        )
    )
    assert_kept_is_fresh(case)
    # the nightly run, as of the day
    run_nightly_rules(as_of=today)
    assert_kept_is_fresh(case, other)
    # closing: the row goes
    write(
        lambda: lifecycle.do_close(
            actor=world.worker.actor,
            case=Case.objects.get(pk=case.pk),
            closed_on=today,
            reason=ClosureReason.OTHER,
        )
    )
    assert not KeptLight.objects.filter(case=case).exists()
    assert_kept_is_fresh(other)


def test_u4_a_write_forgets_the_kept_light_in_its_own_transaction(world):
    """Even when the refresh after the commit does not run (it fails, or a test's transaction
    never commits), no page shows the light from before the write."""
    today = timezone.localdate()
    run_nightly_rules(as_of=today)
    assert KeptLight.objects.filter(case=world.case).exists()
    contact(world, world.case, today)
    assert not KeptLight.objects.filter(case=world.case).exists()
    response = world.worker.client().get(reverse("cockpit"))
    assert [r.case.pk for r in response.context["view"].rows] == [world.case.pk]
    assert_kept_is_fresh(world.case)  # the cockpit evaluated and kept it


def test_u4_writes_of_one_transaction_are_evaluated_in_one_batch(
    world, django_capture_on_commit_callbacks
):
    second = factories.CaseFactory(
        owner=world.service_org, responsible=world.worker.user, team=world.case.team
    )
    today = timezone.localdate()
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        contact(world, world.case, today)
        contact(world, second, today)
        lifecycle.do_accept_intake(actor=world.worker.actor, case=second, reason="Compétent")
    assert len(callbacks) == 1
    callbacks[0]()
    assert_kept_is_fresh(world.case, second)


def test_u4_stale_lights_are_evaluated_again_or_shown_with_their_date(world, monkeypatch):
    cases = [
        factories.CaseFactory(
            owner=world.service_org, responsible=world.worker.user, team=world.case.team
        )
        for _n in range(3)
    ]
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    run_nightly_rules(as_of=yesterday)
    assert set(KeptLight.objects.values_list("as_of", flat=True)) == {yesterday}
    # the team view evaluates at most REFRESH_LIMIT of them and dates the rest
    monkeypatch.setattr(kept, "REFRESH_LIMIT", 2)
    response = world.head.client().get(reverse("cockpit_team"))
    view = response.context["view"]
    open_dossiers = Case.objects.open().filter(owner=world.service_org).count()
    assert view.stale_lights == open_dossiers - 2 > 0
    assert view.stale_since == yesterday
    assert yesterday.strftime("%d.%m.%Y") in response.content.decode()
    # the cockpit evaluates all of its own
    world.worker.client().get(reverse("cockpit"))
    assert_kept_is_fresh(world.case, *cases)


@pytest.mark.parametrize("scope", ["", "org"])
def test_u4_team_view_counts_as_a_fresh_evaluation_would(world, scope):
    """The SQL counts of the team view equal counting fresh evaluations per worker."""
    today = timezone.localdate()
    for segment in ("A", "B", "C"):
        case = in_counselling(
            world,
            case=factories.CaseFactory(
                owner=world.service_org, responsible=world.worker.user, team=world.case.team
            ),
            segment=segment,
        )
        contact(world, case, today, kind=ContactKind.PHONE)
    run_nightly_rules(as_of=today)
    view = world.head.client().get(reverse("cockpit_team"), {"scope": scope}).context["view"]
    open_cases = list(
        Case.objects.open().filter(owner=world.service_org, responsible=world.worker.user)
    )
    fresh = lights_for_cases([c.pk for c in open_cases], today)
    [line] = [w for w in view.workers if w.user == world.worker.user]
    assert sum(line.lights.values()) == len(open_cases)
    for css in ("red", "orange", "green"):
        assert line.lights[css] == sum(1 for light in fresh.values() if light.css == css)
    assert line.with_norm == sum(1 for light in fresh.values() if light.evaluation.plan)
    red = {c for c, light in fresh.items() if light.css == "red"}
    assert {r.case.pk for r in view.red_rows} >= red
