"""Tasks and reminders (I5): made by hand or by the rules, done or cancelled with who and when."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases.models import Case, SegmentProposal
from filum.dates import check_dates
from filum.followup.models import Task, TaskKind, TaskStatus, TaskText, UserPreference
from filum.tenancy.models import Membership, Role, User
from filum.tenancy.policy import Actor


def check_assignee(*, organisation_id: int, assigned_to: User | None, assigned_role: str) -> None:
    if (assigned_to is None) == (not assigned_role):
        raise ValidationError(
            {"assigned_to": _("Assign the task either to a person or to a role.")}, code="assignee"
        )
    if assigned_role and assigned_role not in Role.values:
        raise ValidationError({"assigned_role": _("Choose a role.")}, code="role")
    if (
        assigned_to is not None
        and not Membership.objects.active()
        .filter(user=assigned_to, organisation_id=organisation_id)
        .exists()
    ):
        raise ValidationError(
            {"assigned_to": _("Choose a member of your organisation.")}, code="not_member"
        )


@transaction.atomic
def do_create_task(
    *,
    actor: Actor,
    case: Case,
    title: str,
    due_on: datetime.date,
    assigned_to: User | None = None,
    assigned_role: str = "",
    description: str = "",
) -> Task:
    """A task made by hand. It belongs to the actor's organisation (a partner's task on a
    shared dossier is the partner's) and is for a person or a role there."""
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the task a title.")}, code="required")
    if not case.is_open:
        raise ValidationError(_("This dossier is closed and can no longer be changed."))
    check_assignee(
        organisation_id=actor.organisation_id, assigned_to=assigned_to, assigned_role=assigned_role
    )
    check_dates({"due_on": due_on}, today=timezone.localdate(), opened_on=case.opened_on)
    return Task.objects.create(
        case=case,
        owner_id=actor.organisation_id,
        kind=TaskKind.MANUAL,
        title=title,
        description=description.strip(),
        due_on=due_on,
        assigned_to=assigned_to,
        assigned_role=assigned_role if assigned_to is None else "",
        created_by=actor.user,
    )


def _close(*, actor: Actor, task: Task, status: str, note: str) -> Task:
    updated = Task.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=status, closed_by=actor.user, closed_at=timezone.now(), closing_note=note.strip()
    )
    if not updated:
        raise ValidationError(_("This task is already done or cancelled."), code="closed")
    task.refresh_from_db()
    return task


@transaction.atomic
def do_complete_task(*, actor: Actor, task: Task, note: str = "") -> Task:
    return _close(actor=actor, task=task, status=TaskStatus.DONE, note=note)


@transaction.atomic
def do_cancel_task(*, actor: Actor, task: Task, note: str = "") -> Task:
    return _close(actor=actor, task=task, status=TaskStatus.CANCELLED, note=note)


def cancel_open_tasks(*, actor: Actor, case: Case, note: str) -> int:
    """Used when a dossier closes."""
    return Task.objects.filter(case=case, status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED,
        closed_by=actor.user,
        closed_at=timezone.now(),
        closing_note=note,
    )


def resolve_rule_tasks(
    *, case: Case, kinds: Sequence[str], user_id: int | None, key: str | None = None
) -> int:
    """Mark done the open rule tasks a decision has answered (e.g. the review reminder once
    the review is decided)."""
    tasks = Task.objects.filter(case=case, status=TaskStatus.OPEN, kind__in=list(kinds)).exclude(
        rule_key=""
    )
    if key is not None:
        tasks = tasks.filter(rule_key=key)
    return tasks.update(
        status=TaskStatus.DONE,
        closed_by_id=user_id,
        closed_at=timezone.now(),
        closing_note=_("Done by the decision"),
    )


def decision_task(
    *, proposal: SegmentProposal, responsible_id: int | None, today: datetime.date
) -> Task:
    """The task (not saved) that a pending four-eyes decision is: for the section heads of the
    organisation, or, for an assistant's request, for the responsible worker. Its title is a
    key and parameters (rendered in the reader's language), so it can be made in bulk."""
    to_worker = proposal.kind == SegmentProposal.Kind.REQUEST and responsible_id is not None
    return Task(
        case_id=proposal.case_id,
        owner_id=proposal.owner_id,
        kind=TaskKind.SEGMENT_DECISION,
        title_key=TaskText.PROPOSAL_DECIDE,
        title_params={"segment": proposal.segment, "proposal": proposal.kind},
        due_on=today + datetime.timedelta(days=7),
        assigned_to_id=responsible_id if to_worker else None,
        assigned_role="" if to_worker else Role.SECTION_HEAD,
        rule_key=f"proposal:{proposal.pk}",
    )


def create_decision_task(*, proposal: SegmentProposal) -> Task:
    """A pending four-eyes decision becomes a task (see ``decision_task``)."""
    task = decision_task(
        proposal=proposal,
        responsible_id=proposal.case.responsible_id,
        today=timezone.localdate(),
    )
    existing = Task.objects.filter(case_id=task.case_id, rule_key=task.rule_key).first()
    if existing is not None:
        return existing
    task.save()
    return task


@transaction.atomic
def do_set_task_digest(*, user: User, enabled: bool) -> UserPreference:
    preference, _created = UserPreference.objects.update_or_create(
        user=user, defaults={"task_digest": enabled}
    )
    return preference
