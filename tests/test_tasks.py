"""Tasks and reminders (I5): by hand or by rule, for a person or a role, done or cancelled
with who and when; the optional e-mail digest goes through the task worker on commit."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from filum.followup import services
from filum.followup.digest import enqueue_task_digests
from filum.followup.models import Task, TaskStatus, UserPreference

TODAY = datetime.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False):
        yield


def make_task(world, **kwargs) -> Task:
    data = {"title": "Appeler le bailleur", "due_on": TODAY + datetime.timedelta(days=3)}
    data.update(kwargs)
    if "assigned_role" not in data and "assigned_to" not in data:
        data["assigned_to"] = world.worker.user
    return services.do_create_task(actor=world.worker.actor, case=world.case, **data)


def test_i5_manual_task_for_a_person(world):
    task = make_task(world)
    assert (task.kind, task.status, task.created_by, task.owner) == (
        "manual",
        "open",
        world.worker.user,
        world.service_org,
    )
    assert list(Task.objects.open().for_actor(world.worker.actor)) == [task]
    assert list(Task.objects.open().for_actor(world.colleague.actor)) == []


def test_i5_task_for_a_role_in_the_organisation(world):
    task = make_task(world, assigned_role="admin_assistant")
    assert list(Task.objects.for_actor(world.assistant.actor)) == [task]
    assert list(Task.objects.for_actor(world.worker.actor)) == []


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"title": " "}, "title"),
        ({"assigned_to": None, "assigned_role": ""}, "assigned_to"),
        ({"assigned_role": "section_head", "assigned_to": "worker"}, "assigned_to"),
        ({"assigned_role": "pope", "assigned_to": None}, "assigned_role"),
        ({"assigned_to": "outsider"}, "assigned_to"),
    ],
)
def test_i5_bad_task_input_is_refused(world, kwargs, field):
    for key in ("assigned_to",):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = getattr(world, kwargs[key]).user
    with pytest.raises(ValidationError) as exc:
        make_task(world, **kwargs)
    assert field in exc.value.message_dict
    assert not Task.objects.exists()


def test_i5_task_assignment_enforced_by_the_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            case=world.case,
            owner=world.service_org,
            title="x",
            due_on=TODAY,
            assigned_to=world.worker.user,
            assigned_role="section_head",
        )


def test_i5_complete_and_cancel_record_who_and_when(world):
    done = services.do_complete_task(actor=world.worker.actor, task=make_task(world), note="Fait")
    assert (done.status, done.closed_by, done.closing_note) == ("done", world.worker.user, "Fait")
    assert done.closed_at is not None
    cancelled = services.do_cancel_task(actor=world.head.actor, task=make_task(world))
    assert (cancelled.status, cancelled.closed_by) == ("cancelled", world.head.user)
    with pytest.raises(ValidationError):
        services.do_complete_task(actor=world.worker.actor, task=cancelled)
    cancelled.refresh_from_db()
    assert cancelled.status == TaskStatus.CANCELLED


def test_i5_rule_key_is_unique_per_dossier(world):
    Task.objects.create(
        case=world.case,
        owner=world.service_org,
        kind="review_due",
        title="Revue",
        due_on=TODAY,
        assigned_to=world.worker.user,
        rule_key="review_due:B:2026-03-16",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            case=world.case,
            owner=world.service_org,
            kind="review_due",
            title="Revue",
            due_on=TODAY,
            assigned_to=world.worker.user,
            rule_key="review_due:B:2026-03-16",
        )
    # manual tasks carry no key and may repeat
    make_task(world)
    make_task(world)
    assert Task.objects.count() == 3


def test_i5_digest_is_off_by_default_and_sent_on_commit_when_enabled(
    world, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # a name that no other text of the e-mail (user names, titles) can contain
    world.case.client.last_name = "Zyclientwq"
    world.case.client.save()
    make_task(world)
    make_task(world, assigned_role="social_worker", title="Pour tous les AS")
    with django_capture_on_commit_callbacks(execute=True):
        assert enqueue_task_digests(as_of=TODAY) == 0
    assert mail.outbox == []
    assert not UserPreference.objects.filter(task_digest=True).exists()

    services.do_set_task_digest(user=world.worker.user, enabled=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert enqueue_task_digests(as_of=TODAY) == 1
    assert mail.outbox == []  # nothing is sent before the commit
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Appeler le bailleur" in body and "Pour tous les AS" in body
    assert world.case.reference in body
    assert world.case.client.last_name not in body  # no client data by e-mail
