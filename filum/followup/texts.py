"""Text the system stores, rendered in the reader's language.

Stored text is language-neutral: a task the nightly rules make, a decision task, or a reason
the lifecycle records keeps a key and parameters (codes, names, ISO dates), never a sentence,
so a German-speaking reader of a task made for a French-speaking colleague reads German.
``stored_text(key, params)`` is the one function that turns a key into words (gettext at
render time); text a person typed (a manual task's title, a reason written in a form) is
shown as typed. Templates use the ``task_title``, ``task_description`` and ``event_reason``
filters.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from filum.cases.models import CaseTransition, ClosureReason, Share, TransferKind, TransitionText
from filum.followup.lights import describe
from filum.followup.models import Task, TaskText
from filum.followup.rules import Finding, Level
from filum.plans.labels import milestone_label
from filum.tenancy.labels import section_labels

TEXTS: dict[str, Promise] = {
    TaskText.NO_CONTACT: _("Contact norm missed: plan a face-to-face interview"),
    TaskText.REVIEW_DUE: _("Segment %(segment)s time limit on %(due_text)s: propose keep or move"),
    TaskText.DECISION_DUE: _("Final segment decision due by %(due_text)s"),
    TaskText.INTAKE_OVERDUE: _("Intake time limit on %(due_text)s: decide, transfer or close"),
    TaskText.PROPOSAL_DECIDE: _("Segment %(segment)s proposed: decide"),
    TaskText.MEASURE_START: _(
        "Measure “%(measure)s” starts on %(due_text)s: confirm the place and the start"
    ),
    TaskText.MEASURE_RESULT: _(
        "Measure “%(measure)s” ended on %(end_text)s: record its result by %(due_text)s"
    ),
    TaskText.MILESTONE: _("AIS milestone of %(person)s due on %(due_text)s: %(milestone_text)s"),
    TransitionText.TRANSFERRED_TO_COUNSELLING: _("Segment %(segment)s, to %(worker)s"),
    TransitionText.TRANSFERRED: _("To %(worker)s"),
    TransitionText.SHARED: _("%(organisation)s: %(sections_text)s (%(access_text)s)"),
    TransitionText.CLOSED: _("Exit reason: %(reason_text)s"),
    TransitionText.HANDED_OVER: _(
        "From %(from_org)s to %(to_org)s on %(cut_over_text)s, to %(worker)s "
        "(%(transfer_kind_text)s)"
    ),
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as stored (JSON): dates as ISO text."""
    return {key: _json_value(value) for key, value in params.items()}


def _as_date(value: Any) -> Any:
    if isinstance(value, str) and _ISO_DATE.match(value):
        return datetime.date.fromisoformat(value)
    return value


def stored_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Stored parameters back as values: ISO text as dates (the inverse of ``json_params``)."""
    return {key: _as_date(value) for key, value in params.items()}


def _label(choices: Any, code: str) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return code


def _words(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with their readable forms: dates as dd.mm.yyyy (``<name>_text``),
    section and access codes as labels, closure reasons as their label."""
    words: dict[str, Any] = dict(params)
    for key, value in params.items():
        day = _as_date(value)
        if isinstance(day, datetime.date):
            words[f"{key}_text"] = f"{day:%d.%m.%Y}"
    if "sections" in params:
        words["sections_text"] = section_labels(params["sections"])
    if "access" in params:
        words["access_text"] = _label(Share.Access, params["access"])
    if "milestone" in params:
        words["milestone_text"] = milestone_label(params["milestone"])
    if "reason" in params:
        words["reason_text"] = _label(ClosureReason, params["reason"])
    if "transfer_kind" in params:
        words["transfer_kind_text"] = _label(TransferKind, params["transfer_kind"])
    return words


def stored_text(key: str, params: Mapping[str, Any]) -> str:
    """The words for a stored key in the active language; the key itself if unknown (a
    placeholder missing from old parameters shows the template rather than failing)."""
    template = TEXTS.get(key)
    if template is None:
        return key
    try:
        return str(template) % _words(params)
    except (KeyError, TypeError, ValueError):
        return str(template)


def finding_params(finding: Finding) -> dict[str, Any]:
    """What a rule task stores to render its title and description later: the due date,
    the finding's code and its parameters (JSON-safe)."""
    return json_params({**finding.params, "due": finding.due, "finding": finding.code})


def rule_task_key(finding: Finding) -> str:
    return f"rule.{finding.task_kind}"


def finding_title(finding: Finding) -> str:
    """The title of the task a finding calls for, in the active language."""
    return stored_text(rule_task_key(finding), finding_params(finding))


def task_title(task: Task) -> str:
    if task.title_key:
        return stored_text(task.title_key, task.title_params)
    return task.title


def task_description(task: Task) -> str:
    """A rule task's description is its finding's sentence; others as written."""
    params = task.title_params or {}
    code = params.get("finding")
    if not code:
        return task.description
    finding = Finding(
        code=code,
        level=Level.RED,
        params=stored_params({k: v for k, v in params.items() if k != "finding"}),
    )
    return describe(finding)


def transition_reason(event: CaseTransition) -> str:
    """The system's reason (rendered) followed by what a person typed, if both exist."""
    system = stored_text(event.reason_key, event.reason_params) if event.reason_key else ""
    typed = event.reason or ""
    return " – ".join(part for part in (system, typed) if part)
