"""Kept traffic lights: each open dossier's light as the rules last found it (U4, issue 7).

The cockpit and the team view read the lights from ``followup_caselight`` (``KeptLight``)
instead of evaluating every dossier per request. The rows are kept current in three ways:

1. **After a write.** The services that change what the rules read (contacts, segment
   proposals and decisions, stage steps, opening, editing and closing a dossier) announce it
   through ``filum.cases.changes.facts_changed``. ``forget`` deletes the dossier's row in the
   same transaction, and once the transaction has committed one callback per transaction
   (coalescing all the dossiers it touched) evaluates them again with ``refresh``: a fixed
   number of queries for any number of dossiers. If the callback fails, the row stays missing
   and the next page computes it.
2. **Every night.** ``run_nightly_rules`` writes the rows of each chunk as of the day (one
   ``INSERT ... ON CONFLICT`` per chunk) and removes those of dossiers no longer open.
3. **On the page.** A light that is missing, or evaluated for another day than today, is not
   shown as if it were today's: the cockpit (at most ``COCKPIT_LIMIT`` dossiers) evaluates
   those dossiers again and stores them. The team view does the same for at most
   ``REFRESH_LIMIT`` of them per request; beyond that (the nightly run has not run yet today
   and the organisation is large) it shows the remaining lights as of their last evaluation
   and says how many date from an earlier day.

The newest evaluation wins: ``evaluated_at`` is the start of the transaction that read the
facts (``now()``), and a row is only replaced by one read later, so a slow page cannot put
back what a write has just corrected. Findings are stored language-neutral (codes and
parameters, dates as ISO text) and rebuilt into ``Finding`` objects, so the reasons are
rendered in the reader's language by ``lights.describe``, exactly as from a fresh evaluation.
A change of the norm rules (``NormRule``) reaches the kept lights with the next nightly run.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from filum.followup.evaluation import CaseRow, evaluate_rows, load_case_rows_of, load_rules
from filum.followup.lights import CaseLight
from filum.followup.models import KeptLight
from filum.followup.rule_tasks import MEASURE_KINDS, sync_rule_tasks
from filum.followup.rules import INFO_CODES, Evaluation, Finding, Level, RuleSet
from filum.followup.texts import json_params, stored_params

# The team view evaluates at most this many missing or stale lights per request.
REFRESH_LIMIT = 1000
NORM_MISSED = frozenset({"norm_missed", "norm_face_to_face_missed"})


# --- stored form ----------------------------------------------------------------------------


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "level": int(finding.level),
        "params": json_params(finding.params),
        "task_kind": finding.task_kind,
        "due": finding.due.isoformat() if finding.due else None,
        "rule_key": finding.rule_key,
    }


def finding_from_json(data: Mapping[str, Any]) -> Finding:
    due = data.get("due")
    return Finding(
        code=data["code"],
        level=Level(data["level"]),
        params=stored_params(data.get("params") or {}),
        task_kind=data.get("task_kind", ""),
        due=datetime.date.fromisoformat(due) if due else None,
        rule_key=data.get("rule_key", ""),
    )


def light_from_kept(kept: KeptLight) -> CaseLight:
    """The light of a kept row, with the same findings (and so the same reasons) as the
    evaluation it was stored from. The norm plan and tally are not kept: pages that show
    them (the dossier's steering block) evaluate the dossier itself."""
    evaluation = Evaluation(
        as_of=kept.as_of,
        level=Level(kept.level),
        findings=tuple(finding_from_json(f) for f in kept.findings),
    )
    return CaseLight(kept.case_id, evaluation)


def is_current(kept: KeptLight | None, as_of: datetime.date) -> bool:
    return kept is not None and kept.as_of == as_of


_UPSERT_SQL = """
INSERT INTO followup_caselight AS kept
       (case_id, owner_id, level, findings, next_due, has_norm, norm_missed, info, as_of,
        evaluated_at)
SELECT k.case_id, k.owner_id, k.level, k.findings::jsonb, k.next_due, k.has_norm,
       k.norm_missed, k.info, %s, now()
  FROM unnest(%s::uuid[], %s::bigint[], %s::smallint[], %s::text[], %s::date[], %s::bool[],
              %s::bool[], %s::bool[])
       AS k(case_id, owner_id, level, findings, next_due, has_norm, norm_missed, info)
    ON CONFLICT (case_id) DO UPDATE
   SET owner_id = EXCLUDED.owner_id, level = EXCLUDED.level, findings = EXCLUDED.findings,
       next_due = EXCLUDED.next_due, has_norm = EXCLUDED.has_norm,
       norm_missed = EXCLUDED.norm_missed, info = EXCLUDED.info, as_of = EXCLUDED.as_of,
       evaluated_at = EXCLUDED.evaluated_at
 WHERE kept.evaluated_at <= EXCLUDED.evaluated_at
"""


def store(
    rows: Iterable[CaseRow], evaluations: Mapping[uuid.UUID, Evaluation], as_of: datetime.date
) -> None:
    """Upsert the lights of evaluated dossiers in one statement (ordered by dossier, so two
    concurrent writers lock the rows in the same order). Call it inside the transaction that
    read the facts: ``now()`` is then the moment before they were read."""
    columns: list[list[Any]] = [[] for _ in range(8)]
    for row in sorted(rows, key=lambda r: r.id):
        evaluation = evaluations[row.id]
        codes = {f.code for f in evaluation.findings}
        tasks = evaluation.tasks
        values = (
            row.id,
            row.owner_id,
            int(evaluation.level),
            json.dumps([finding_json(f) for f in evaluation.findings]),
            tasks[0].due if tasks else None,
            evaluation.plan is not None,
            bool(codes & NORM_MISSED),
            bool(codes & INFO_CODES),
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    if not columns[0]:
        return
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_SQL, [as_of, *columns])


def refresh(
    case_ids: Iterable[uuid.UUID],
    as_of: datetime.date | None = None,
    *,
    rules: RuleSet | None = None,
    task_kinds: Iterable[str] = (),
) -> dict[uuid.UUID, Evaluation]:
    """Evaluate the given dossiers again and keep their lights; the rows of those no longer
    open are removed. Returns the evaluations of the open ones. Five queries (six when some
    dossier is not open any more) whatever their number; with ``task_kinds``, one or two more
    to create and close the rule tasks of those kinds (``rule_tasks.sync_rule_tasks``)."""
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        return {}
    as_of = as_of or timezone.localdate()
    with transaction.atomic(savepoint=False):
        rules = rules or load_rules(as_of)
        rows = load_case_rows_of(ids, open_only=True)
        evaluations = evaluate_rows(rows, as_of=as_of, rules=rules)
        store(rows, evaluations, as_of)
        kinds = list(task_kinds)
        if kinds:
            with connection.cursor() as cursor:
                sync_rule_tasks(cursor, rows, evaluations, kinds=kinds)
        if len(rows) < len(ids):
            gone = set(ids) - {row.id for row in rows}
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM followup_caselight WHERE case_id = ANY(%s::uuid[])", [list(gone)]
                )
    return evaluations


def lights_of(case_ids: Iterable[uuid.UUID], as_of: datetime.date) -> dict[uuid.UUID, CaseLight]:
    """The lights of a page of open dossiers (the cockpit's): read from the kept rows, the
    missing or stale ones evaluated and stored. One query when all are current."""
    ids = list(case_ids)
    kept = {k.case_id: k for k in KeptLight.objects.filter(case_id__in=ids)}
    lights: dict[uuid.UUID, CaseLight] = {}
    stale = []
    for case_id in ids:
        row = kept.get(case_id)
        if row is not None and is_current(row, as_of):
            lights[case_id] = light_from_kept(row)
        else:
            stale.append(case_id)
    for case_id, evaluation in refresh(stale, as_of).items():
        lights[case_id] = CaseLight(case_id, evaluation)
    return lights


# --- after a write --------------------------------------------------------------------------


class _Batch:
    """The dossiers one transaction changed, and the callback that evaluates them again once
    it has committed (once: later writes start a new batch). The measure reminders' tasks are
    made and closed with it (decision 0022); the steering tasks wait for the nightly run."""

    def __init__(self) -> None:
        self.ids: set[uuid.UUID] = set()
        self.done = False

        def refresh_changed() -> None:
            self.done = True
            refresh(self.ids, task_kinds=MEASURE_KINDS)

        self.callback = refresh_changed

    def waiting(self) -> bool:
        """Not run yet and still to run on this transaction's commit (a rolled-back savepoint
        drops it)."""
        return not self.done and any(
            entry[1] is self.callback for entry in connection.run_on_commit
        )


def forget(case_ids: Iterable[uuid.UUID]) -> None:
    """The facts of these dossiers are changing in the current transaction: drop their kept
    lights now (so nothing shows the old light once the write is committed) and evaluate them
    again after the commit, in one batch per transaction."""
    ids = list(case_ids)
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM followup_caselight WHERE case_id = ANY(%s::uuid[])", [ids])
    batch: _Batch | None = getattr(connection, "_filum_kept_lights", None)
    if batch is not None and batch.waiting():
        batch.ids.update(ids)
        return
    batch = _Batch()
    batch.ids.update(ids)
    connection._filum_kept_lights = batch  # type: ignore[attr-defined]
    # robust: a failure is logged, the write stays committed and the page computes the light
    transaction.on_commit(batch.callback, robust=True)


def on_facts_changed(sender: object, *, case_ids: list[uuid.UUID], **kwargs: object) -> None:
    forget(case_ids)
