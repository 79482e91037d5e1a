"""The one door to a task. A task belongs to one organisation (``Task.owner``): the dossier's
owner for the tasks the rules make, the creating organisation for tasks made by hand. Only
that organisation sees and acts on it, and only while it may manage tasks on the dossier
(``task.manage``: owners, or a partner with an active write share). Missing and forbidden
both answer 404 (R12); a refused existing task leaves a security event (R14)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404

from filum.cases.models import SegmentCriterion, SegmentProposal, Share
from filum.cases.permissions import CaseAccess, case_access, record_reads
from filum.followup.models import Task, TaskQuerySet
from filum.records.services import refuse
from filum.tenancy.policy import SECTIONS, Actor, ActorRequest, Section


@dataclass(frozen=True)
class TaskAccess:
    task: Task
    case_access: CaseAccess


def may_manage_tasks(access: CaseAccess) -> bool:
    """``task.manage`` under the strongest relation the actor has to any section: owners have
    the same relation everywhere; a partner needs a write share of some section."""
    return any(access.may("task.manage", section) for section in SECTIONS)


def get_task_for_actor(
    *, request: ActorRequest, task_id: int, reads: Iterable[str] = ()
) -> TaskAccess:
    """A task of the actor's organisation on a dossier where they may manage tasks; the
    dossier sections in ``reads`` that the actor may read are logged as read."""
    actor = request.actor
    task = (
        Task.objects.select_related(
            "case", "case__owner", "case__client", "assigned_to", "created_by", "closed_by"
        )
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise Http404
    access = case_access(actor=actor, case=task.case)
    if task.owner_id != actor.organisation_id or not may_manage_tasks(access):
        refuse(request, "task", task.pk, owner_id=task.case.owner_id)
    record_reads(request, access, reads)
    return TaskAccess(task=task, case_access=access)


def get_proposal_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    proposal_id: int,
    action: str = "segment.decide",
) -> SegmentProposal:
    """A segment proposal the actor may act on: write access to the dossier's core data and
    ``action`` on it (deciding by default; answering an assistant's request is
    ``segment.propose``). The decision page shows the dossier's stage and segment,
    so fetching it logs a core read."""
    criteria = Prefetch(
        "criteria", queryset=SegmentCriterion.objects.order_by("segment", "position")
    )
    proposal = (
        SegmentProposal.objects.filter(pk=proposal_id, case_id=case_id)
        .select_related(
            "case",
            "case__owner",
            "case__client",
            "case__responsible",
            "case__team",
            "case__assistance_unit",
            "proposed_by",
            "decided_by",
        )
        .prefetch_related(criteria)
        .first()
    )
    if proposal is None:
        raise Http404
    access = case_access(actor=request.actor, case=proposal.case)
    if not (access.can_write(Section.CORE) and access.may(action)):
        refuse(request, "proposal", proposal.pk, owner_id=proposal.case.owner_id)
    record_reads(request, access, [Section.CORE])
    return proposal


def tasks_visible_to(actor: Actor) -> TaskQuerySet:
    """Tasks addressed to the actor in their organisation, on dossiers where they may still
    manage tasks: their organisation's, or dossiers with an active write share to it (a
    revoked share hides the task again)."""
    shared = Share.objects.active().filter(
        case=OuterRef("case_id"), organisation_id=actor.organisation_id, access=Share.Access.WRITE
    )
    reachable = Q(case__owner_id=actor.organisation_id) | Q(Exists(shared))
    return Task.objects.for_actor(actor).filter(reachable)
