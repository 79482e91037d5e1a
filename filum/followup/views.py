"""The worker's cockpit (I5, I7), the section head's team view (S8, S11, S12, D5) and tasks (I8)."""

from __future__ import annotations

import datetime
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.cases.models import Stage
from filum.cases.permissions import get_case_for_actor
from filum.documents.forms import UploadForm
from filum.documents.models import Document
from filum.followup import cockpit as data
from filum.followup import services, team_tables
from filum.followup.forms import CloseTaskForm, TaskForm
from filum.followup.integration import build_integration_cockpit
from filum.followup.models import TaskStatus
from filum.followup.permissions import (
    get_task_for_actor,
    may_manage_tasks,
    tasks_visible_to,
)
from filum.records.services import refuse
from filum.tenancy.policy import ActorRequest, Relation, Section, requires
from filum.web.once import once_per_token

TASK_PAGE_SIZE = 100
# The task page shows the dossier's reference and client, and the documents of the task.
TASK_PAGE = (Section.CORE, Section.DOCUMENTS)


@requires("case.list")
def cockpit(request: ActorRequest) -> HttpResponse:
    """The start page of caseworkers: their open dossiers with light, segment, stage, next step
    and due tasks; sortable and filterable."""
    actor = request.actor
    today = timezone.localdate()
    view = data.build_cockpit(
        actor=actor,
        as_of=today,
        light=request.GET.get("light", ""),
        segment=request.GET.get("segment", ""),
        stage=request.GET.get("stage", ""),
        sort=request.GET.get("sort", "light"),
    )
    chart = data.my_portfolio_chart(view)
    filter_query = {k: v for k, v in view.filters.items() if v}
    headers = {}
    for key in data.SORTS:
        descending = view.sort == key and not view.descending
        headers[key] = {
            "url": "?" + urlencode({**filter_query, "sort": f"-{key}" if descending else key}),
            "current": view.sort == key,
            "descending": view.sort == key and view.descending,
        }
    context = {
        "view": view,
        "headers": headers,
        "today": today,
        "soon": today + datetime.timedelta(days=7),
        "chart": chart,
        "portfolio_rows": list(zip(chart["labels"], chart["series"][0]["data"], strict=True)),
        "sorts": data.SORTS,
        "stages": [(s.value, s.label) for s in Stage if s != Stage.CLOSED],
        "assistant": actor.role == "admin_assistant",
        # Labels used in every row, translated once.
        "labels": {
            "red": _("Red"),
            "orange": _("Orange"),
            "green": _("Green"),
            "responsible": _("Responsible"),
        },
        "filtered": any(view.filters.values()),
    }
    return render(request, "followup/cockpit.html", context)


@requires("cockpit.team")
def cockpit_team(request: ActorRequest) -> HttpResponse:
    """The section head's view of their team: portfolios against the guide values (S8), red
    dossiers, pending four-eyes decisions, the contact-frequency check (S11), the distribution
    of dossiers and the workload (D5, S12)."""
    actor = request.actor
    actor.require("cockpit.team", Relation.OWN_ORG)
    view = data.build_team_view(
        actor=actor,
        as_of=timezone.localdate(),
        whole_organisation=request.GET.get("scope") == "org",
    )
    context = {
        "view": view,
        "tables": {
            "portfolio": team_tables.portfolio_rows(view.workers),
            "workload": team_tables.workload_rows(view.workers),
            "contacts": team_tables.contact_rows(view.workers),
        },
        "portfolio_chart": data.portfolio_chart(view),
        "workload_chart": data.workload_chart(view),
        "weights": data.WORKLOAD_WEIGHTS,
        "guide": {
            "a_min": data.GUIDE_A_MIN,
            "b_target": data.GUIDE_B_TARGET,
            "c_max": data.GUIDE_C_MAX,
        },
    }
    return render(request, "followup/team.html", context)


@requires("integration.cockpit")
def cockpit_integration(request: ActorRequest) -> HttpResponse:
    """The integration cockpit across dossiers (I7): ongoing measures, next steps, persons per
    residence status and milestone state; filterable by worker, team and provider. The canton
    office sees the figures of its canton only (decision 0022)."""
    actor = request.actor
    actor.require("integration.cockpit", Relation.OWN_ORG)
    view = build_integration_cockpit(
        actor=actor, as_of=timezone.localdate(), params=request.GET, path=request.path
    )
    return render(request, "followup/integration.html", {"view": view})


# --- tasks ----------------------------------------------------------------------------------


@requires("task.manage")
def task_list(request: ActorRequest) -> HttpResponse:
    """Tasks addressed to the actor (personally or to their role), open or closed."""
    actor = request.actor
    status = request.GET.get("status", "open")
    tasks = tasks_visible_to(actor)
    if status in TaskStatus.values:
        tasks = tasks.filter(status=status)
    order = ("due_on", "id") if status == TaskStatus.OPEN else ("-due_on", "-id")
    rows = list(
        tasks.select_related("case", "case__client", "assigned_to", "closed_by").order_by(*order)[
            : TASK_PAGE_SIZE + 1
        ]
    )
    truncated = len(rows) > TASK_PAGE_SIZE
    rows = rows[:TASK_PAGE_SIZE]
    today = timezone.localdate()
    groups: list[tuple[str, list[object]]] = []
    if status == TaskStatus.OPEN:
        buckets: dict[str, list[object]] = {"overdue": [], "today": [], "week": [], "later": []}
        for task in rows:
            if task.due_on < today:
                buckets["overdue"].append(task)
            elif task.due_on == today:
                buckets["today"].append(task)
            elif task.due_on <= today + datetime.timedelta(days=7):
                buckets["week"].append(task)
            else:
                buckets["later"].append(task)
        labels = {
            "overdue": _("Overdue"),
            "today": _("Due today"),
            "week": _("Within 7 days"),
            "later": _("Later"),
        }
        groups = [(labels[k], v) for k, v in buckets.items() if v]
    else:
        groups = [("", list(rows))] if rows else []
    context = {"groups": groups, "status": status, "truncated": truncated, "today": today}
    return render(request, "followup/task_list.html", context)


@requires("task.manage")
@once_per_token
def task_create(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = get_case_for_actor(request=request, case_id=case_id)
    if not may_manage_tasks(access):
        refuse(request, "case", case_id, owner_id=access.case.owner_id)
    case = access.case
    form = TaskForm(
        request.POST or None,
        case=case,
        actor_user=actor.user,
        organisation_id=actor.organisation_id,
    )
    if request.method == "POST" and form.is_valid():
        assigned_to, assigned_role = form.assigned()
        try:
            task = services.do_create_task(
                actor=actor,
                case=case,
                title=form.cleaned_data["title"],
                due_on=form.cleaned_data["due_on"],
                assigned_to=assigned_to,
                assigned_role=assigned_role,
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(
                        "assignee"
                        if name.startswith("assigned")
                        else (name if name in form.fields else None),
                        errors,
                    )
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, _("The task was created."))
            return redirect("task_detail", task_id=task.pk)
    return render(request, "followup/task_form.html", {"case": case, "form": form})


@requires("task.manage")
def task_detail(request: ActorRequest, task_id: int) -> HttpResponse:
    task_access = get_task_for_actor(request=request, task_id=task_id, reads=TASK_PAGE)
    task = task_access.task
    access = task_access.case_access
    documents: list[Document] = []
    if access.can_read(Section.DOCUMENTS):
        documents = list(
            Document.objects.filter(task=task).select_related("uploaded_by", "uploaded_by_org")
        )
    proposal_id = None
    if task.rule_key.startswith("proposal:") and task.is_open:
        proposal_id = task.rule_key.removeprefix("proposal:")
    context = {
        "task": task,
        "case": access.case,
        "access": access,
        "documents": documents,
        "upload_form": UploadForm()
        if task.is_open and access.can_write(Section.DOCUMENTS)
        else None,
        "close_form": CloseTaskForm(),
        "proposal_id": int(proposal_id) if proposal_id and proposal_id.isdigit() else None,
        "today": timezone.localdate(),
    }
    return render(request, "followup/task_detail.html", context)


def _close_task(request: ActorRequest, task_id: int, *, done: bool) -> HttpResponse:
    actor = request.actor
    task = get_task_for_actor(request=request, task_id=task_id).task
    form = CloseTaskForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        if done:
            services.do_complete_task(actor=actor, task=task, note=note)
        else:
            services.do_cancel_task(actor=actor, task=task, note=note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The task is done.") if done else _("The task was cancelled."))
    target = request.POST.get("next", "")
    if target == "cockpit":
        return redirect("cockpit")
    if target == "tasks":
        return redirect("task_list")
    return redirect("task_detail", task_id=task.pk)


@requires("task.manage")
@require_POST
def task_done(request: ActorRequest, task_id: int) -> HttpResponse:
    return _close_task(request, task_id, done=True)


@requires("task.manage")
@require_POST
def task_cancel(request: ActorRequest, task_id: int) -> HttpResponse:
    return _close_task(request, task_id, done=False)
