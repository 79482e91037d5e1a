"""The one access path to a task: through its dossier (``get_case_access``) and the
``task.manage`` row of the policy. Missing and forbidden both answer 404 (R12)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from filum.cases.models import Share
from filum.cases.permissions import CaseAccess, get_case_access
from filum.followup.models import Task, TaskQuerySet
from filum.tenancy.policy import SECTIONS, Actor


@dataclass(frozen=True)
class TaskAccess:
    task: Task
    case_access: CaseAccess


def may_manage_tasks(access: CaseAccess) -> bool:
    """``task.manage`` under the strongest relation the actor has to any section: owners have
    the same relation everywhere; a partner needs a write share of some section."""
    return any(access.may("task.manage", section) for section in SECTIONS)


def get_task_access(*, actor: Actor, task_id: int) -> TaskAccess:
    task = (
        Task.objects.select_related("assigned_to", "created_by", "closed_by")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise Http404
    access = get_case_access(actor=actor, case_id=task.case_id)
    if not may_manage_tasks(access):
        raise Http404
    task.case = access.case
    return TaskAccess(task=task, case_access=access)


def tasks_visible_to(actor: Actor) -> TaskQuerySet:
    """Tasks addressed to the actor on dossiers they can still reach: their organisation's, or
    dossiers with an active share to it (a revoked share hides the task again)."""
    shared = Share.objects.active().filter(
        case=OuterRef("case_id"), organisation_id=actor.organisation_id
    )
    reachable = Q(case__owner_id=actor.organisation_id) | Q(Exists(shared))
    return Task.objects.for_actor(actor).filter(reachable)
