"""The tasks the rules call for, written in bulk: one ``INSERT ... ON CONFLICT DO NOTHING``
for the due ones (keyed on ``(case, rule_key)``, so a task is never made twice) and one
``UPDATE`` marking done the open ones whose finding has gone.

The nightly run syncs every rule kind for each chunk of dossiers. After a write of a measure
the kept-light callback syncs the measure kinds only (decision 0022), so the reminder's task
appears, and closes when the result is entered, without waiting for the night.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.db.backends.utils import CursorWrapper
from django.utils.translation import gettext, override

from filum.followup.evaluation import CaseRow
from filum.followup.models import TaskKind
from filum.followup.rules import Evaluation, Finding
from filum.followup.texts import finding_params, rule_task_key
from filum.tenancy.models import Role

# Tasks of the case steering rules.
STEERING_KINDS = (
    TaskKind.REVIEW_DUE,
    TaskKind.DECISION_DUE,
    TaskKind.NO_CONTACT,
    TaskKind.INTAKE_OVERDUE,
)
# Tasks of the measure reminders (I5, decision 0022).
# and of the AIS milestones (I5, decision 0021): made and closed with them after a write.
MEASURE_KINDS = (TaskKind.MEASURE_START, TaskKind.MEASURE_RESULT, TaskKind.MILESTONE)
RULE_KINDS = STEERING_KINDS + MEASURE_KINDS

_INSERT_SQL = """
INSERT INTO followup_task
       (case_id, owner_id, kind, title, title_key, title_params, description, due_on,
        assigned_to_id, assigned_role, status, closing_note, created_at, rule_key)
SELECT t.case_id, t.owner_id, t.kind, '', t.title_key, t.title_params::jsonb, '', t.due_on,
       t.assigned_to_id, t.assigned_role, 'open', '', now(), t.rule_key
  FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::date[],
              %s::bigint[], %s::text[], %s::text[])
       AS t(case_id, owner_id, kind, title_key, title_params, due_on, assigned_to_id,
            assigned_role, rule_key)
    ON CONFLICT (case_id, rule_key) WHERE NOT (rule_key = '') DO NOTHING
RETURNING kind
"""

_RESOLVE_SQL = """
UPDATE followup_task AS task
   SET status = 'done', closed_at = now(), closing_note = %s
 WHERE task.case_id = ANY(%s::uuid[])
   AND task.status = 'open'
   AND task.kind = ANY(%s::text[])
   AND NOT EXISTS (
       SELECT 1 FROM unnest(%s::uuid[], %s::text[]) AS k(case_id, rule_key)
        WHERE k.case_id = task.case_id AND k.rule_key = task.rule_key)
"""


def resolved_note() -> str:
    with override(settings.LANGUAGE_CODE):
        return gettext("The rule no longer applies")


def _task_rows(findings: list[tuple[uuid.UUID, int, int | None, Finding]]) -> list[tuple]:
    """One row per task: the title as a key and parameters (rendered in the reader's
    language when shown), so no per-row translation or query here. The task goes to the
    dossier's responsible worker, or to the section heads when it has none."""
    return [
        (
            case_id,
            owner_id,
            finding.task_kind,
            rule_task_key(finding),
            json.dumps(finding_params(finding)),
            finding.due,
            responsible_id,
            "" if responsible_id else Role.SECTION_HEAD,
            finding.rule_key,
        )
        for case_id, owner_id, responsible_id, finding in findings
    ]


def sync_rule_tasks(
    cursor: CursorWrapper,
    rows: Iterable[CaseRow],
    evaluations: Mapping[uuid.UUID, Evaluation],
    *,
    kinds: Iterable[str] = RULE_KINDS,
    note: str | None = None,
) -> tuple[list[str], int]:
    """Create the due tasks of ``kinds`` for the evaluated dossiers and close their open tasks
    of ``kinds`` that no finding calls for any more (two queries, one when nothing is due).
    Returns the kinds of the tasks created and the number closed."""
    kinds = [str(kind) for kind in kinds]
    rows = list(rows)
    due = [
        (row.id, row.owner_id, row.responsible_id, finding)
        for row in rows
        for finding in evaluations[row.id].tasks
        if finding.task_kind in kinds
    ]
    task_rows = _task_rows(due)
    created: list[str] = []
    if task_rows:
        columns = list(zip(*task_rows, strict=True))
        cursor.execute(_INSERT_SQL, [list(c) for c in columns])
        created = [kind for (kind,) in cursor.fetchall()]
    cursor.execute(
        _RESOLVE_SQL,
        [
            note if note is not None else resolved_note(),
            [row.id for row in rows],
            kinds,
            [r[0] for r in task_rows],
            [r[8] for r in task_rows],
        ],
    )
    return created, cursor.rowcount
