"""Feeding the pure rules from the database, in bulk and with a fixed number of queries.

``evaluate_cases`` is used both by the cockpit (about 80 dossiers) and, chunk by chunk, by the
nightly run (all open dossiers of the canton): one query for the dossiers and their pending
proposals, one for their segment histories, one for the contact counts per window (conditional
aggregation in SQL), plus the rule set.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, JSONObject

from filum.cases.models import Case, CaseStatus, Domain, SegmentAssignment, SegmentProposal
from filum.followup.models import NormRule
from filum.followup.rules import (
    MEASURE_NOT_STARTED,
    MEASURE_STARTED,
    CaseFacts,
    ContactTally,
    Evaluation,
    MeasureFacts,
    Norm,
    NormPlan,
    RuleSet,
    SegmentPeriod,
    Tally,
    evaluate_case,
    plan_norm,
)
from filum.journal.models import Contact
from filum.plans.milestones import person_facts_from_json, rules_from_json
from filum.plans.models import Measure
from filum.plans.timeline import with_milestone_facts
from filum.prepared import IdsQuery, PreparedQuery
from filum.tenancy.models import OrganisationKind

# read after every recorded contact (the kept light's refresh): a prepared statement
_RULES_ON = PreparedQuery(lambda day: NormRule.objects.valid_on(day).order_by("key", "-valid_from"))


def load_rules(as_of: datetime.date) -> RuleSet:
    """The rule parameters valid on ``as_of`` (the latest start wins if periods overlap)."""
    norms: dict[str, Norm] = {}
    for rule in _RULES_ON.objects(as_of):
        if rule.key in norms:
            continue
        norms[rule.key] = Norm(
            key=rule.key,
            period_months=rule.period_months,
            min_interviews=rule.min_interviews,
            max_interviews=rule.max_interviews,
            face_to_face_share=(
                Fraction(rule.face_to_face_share) if rule.face_to_face_share is not None else None
            ),
            time_limit_months=rule.time_limit_months,
            warning_days=rule.warning_days,
            limit_is_maximum=rule.limit_is_maximum,
        )
    return RuleSet(norms=norms)


@dataclass(frozen=True)
class CaseRow:
    id: uuid.UUID
    owner_id: int
    responsible_id: int | None
    facts: CaseFacts


_FIELDS = (
    "id",
    "owner_id",
    "responsible_id",
    "stage",
    "opened_on",
    "stage_since",
    "received_on",
    "short_term_advance",
    "exit_expected_by",
    "pending_review",
    "pending_final",
    "owner__kind",
    "domain",
    "reminded_measures",
    "milestone_persons",
    "milestone_rules",
)


def with_pending(cases: QuerySet[Case]) -> QuerySet[Case]:
    pending = SegmentProposal.objects.filter(case=OuterRef("pk"), status="proposed")
    return cases.annotate(
        pending_review=Exists(pending.filter(kind="review")),
        pending_final=Exists(pending.filter(kind="final")),
    )


def with_reminded_measures(cases: QuerySet[Case]) -> QuerySet[Case]:
    """The measures the reminders look at (decision 0022), as one array per dossier in the
    dossier query itself (``measure_by_case``): those not started yet with a planned start,
    and those started without a result with an end. So the rules read measures without a
    query of their own."""
    measures = (
        Measure.objects.filter(case_id=OuterRef("pk"))
        .annotate(ends_on=Coalesce("actual_end", "planned_end"))
        .filter(
            Q(status__in=MEASURE_NOT_STARTED, planned_start__isnull=False)
            | Q(status__in=MEASURE_STARTED, result="", ends_on__isnull=False)
        )
        .order_by("planned_start", "id")
        .values(
            data=JSONObject(
                id="id",
                title="title",
                status="status",
                planned_start="planned_start",
                ends_on="ends_on",
            )
        )
    )
    return cases.annotate(reminded_measures=ArraySubquery(measures))


def _measure_facts(data: list[dict[str, Any]] | None) -> tuple[MeasureFacts, ...]:
    def day(value: str | None) -> datetime.date | None:
        return datetime.date.fromisoformat(value) if value else None

    return tuple(
        MeasureFacts(
            id=item["id"],
            title=item["title"],
            status=item["status"],
            planned_start=day(item["planned_start"]),
            ends_on=day(item["ends_on"]),
        )
        for item in data or ()
    )


def is_steered(owner_kind: str, domain: str) -> bool:
    """Case steering (Intake time limits, segment norms) is the social-assistance concept:
    dossiers of social services, except CII ones (decision 0022)."""
    return owner_kind == OrganisationKind.SOCIAL_SERVICE and domain != Domain.CII


def _with_facts(cases: QuerySet[Case]) -> QuerySet[Case]:
    return with_milestone_facts(with_reminded_measures(with_pending(cases)))


def load_case_rows(cases: QuerySet[Case]) -> list[CaseRow]:
    """Facts of the given dossiers as plain data: two queries whatever their number."""
    return _case_rows(list(_with_facts(cases).values_list(*_FIELDS)))


# The same query for given dossiers (all, or the open ones), compiled once per thread (U4):
# building and compiling its subqueries cost more CPU than everything else a recorded contact
# does (filum/prepared.py).
_ROWS_OF = IdsQuery(lambda ids: _with_facts(Case.objects.filter(pk__in=ids)).values_list(*_FIELDS))
_OPEN_ROWS_OF = IdsQuery(
    lambda ids: _with_facts(Case.objects.filter(pk__in=ids, status=CaseStatus.OPEN)).values_list(
        *_FIELDS
    )
)


_SEGMENTS_OF = IdsQuery(
    lambda ids: (
        SegmentAssignment.objects.filter(case_id__in=ids)
        .order_by("case_id", "since", "recorded_at")
        .values_list("case_id", "segment", "since", "until", "kind", "kept_until")
    )
)


def load_case_rows_of(case_ids: Iterable[uuid.UUID], *, open_only: bool = False) -> list[CaseRow]:
    """``load_case_rows`` of the dossiers with these ids (the open ones with ``open_only``),
    without building the query again."""
    return _case_rows((_OPEN_ROWS_OF if open_only else _ROWS_OF).rows(list(case_ids)))


def _case_rows(rows: list[Any]) -> list[CaseRow]:
    periods: dict[uuid.UUID, list[SegmentPeriod]] = defaultdict(list)
    if rows:
        ids = [row[0] for row in rows]
        for case_id, segment, since, until, kind, kept_until in _SEGMENTS_OF.rows(ids):
            periods[case_id].append(SegmentPeriod(segment, since, until, kind, kept_until))
    return [
        CaseRow(
            id=case_id,
            owner_id=owner_id,
            responsible_id=responsible_id,
            facts=CaseFacts(
                stage=stage,
                opened_on=opened_on,
                stage_since=stage_since,
                received_on=received_on,
                short_term_advance=short_term_advance,
                exit_expected_by=exit_expected_by,
                segments=tuple(periods.get(case_id, ())),
                pending_review=pending_review,
                pending_final=pending_final,
                steered=is_steered(owner_kind, domain),
                measures=_measure_facts(reminded),
                persons=tuple(person_facts_from_json(p) for p in persons or ()),
                milestone_rules=rules_from_json(milestone_rules or ()),
            ),
        )
        for (
            case_id,
            owner_id,
            responsible_id,
            stage,
            opened_on,
            stage_since,
            received_on,
            short_term_advance,
            exit_expected_by,
            pending_review,
            pending_final,
            owner_kind,
            domain,
            reminded,
            persons,
            milestone_rules,
        ) in rows
    ]


_TALLY_SQL = """
SELECT v.case_id,
       count(*) FILTER (WHERE c.date > v.now_start),
       count(*) FILTER (WHERE c.date > v.now_start AND c.is_face_to_face),
       count(*) FILTER (WHERE c.date > v.soon_start),
       count(*) FILTER (WHERE c.date > v.soon_start AND c.is_face_to_face),
       max(c.date) FILTER (WHERE c.date > v.now_start AND c.is_face_to_face)
  FROM unnest(%s::uuid[], %s::date[], %s::date[]) AS v(case_id, now_start, soon_start)
  JOIN ({counted}) c ON c.case_id = v.case_id
 WHERE c.date > v.now_start
   AND c.date <= %s
 GROUP BY v.case_id
"""


@functools.cache
def _counted_contacts_sql() -> tuple[str, tuple[Any, ...]]:
    """The counted contacts as SQL, generated from ``Contact.objects.counted()`` so that the
    definition of a counted contact lives in one place (``filum.journal.models.COUNTED``).
    PostgreSQL inlines the subquery, so the per-dossier index is still used."""
    queryset = Contact.objects.counted().order_by().values("case_id", "date", "is_face_to_face")
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def load_tallies(
    plans: dict[uuid.UUID, NormPlan], as_of: datetime.date
) -> dict[uuid.UUID, ContactTally]:
    """Contacts counted per dossier and window in one query (same definitions as
    ``rules.tally_contacts``). Dossiers without contacts in the window get an empty tally."""
    tallies = {case_id: ContactTally() for case_id in plans}
    if not plans:
        return tallies
    ids = list(plans)
    counted_sql, counted_params = _counted_contacts_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            _TALLY_SQL.format(counted=counted_sql),
            [
                ids,
                [plans[i].now.start for i in ids],
                [plans[i].soon.start for i in ids],
                *counted_params,
                as_of,
            ],
        )
        for case_id, now_total, now_f2f, soon_total, soon_f2f, last_f2f in cursor.fetchall():
            tallies[case_id] = ContactTally(
                now=Tally(now_total, now_f2f),
                soon=Tally(soon_total, soon_f2f),
                last_face_to_face=last_f2f,
            )
    return tallies


def evaluate_rows(
    rows: Iterable[CaseRow], *, as_of: datetime.date, rules: RuleSet
) -> dict[uuid.UUID, Evaluation]:
    rows = list(rows)
    plans = {}
    for row in rows:
        plan = plan_norm(row.facts, rules, as_of)
        if plan is not None:
            plans[row.id] = plan
    tallies = load_tallies(plans, as_of)
    return {
        row.id: evaluate_case(as_of=as_of, facts=row.facts, rules=rules, tally=tallies.get(row.id))
        for row in rows
    }


def evaluate_cases(
    case_ids: Iterable[uuid.UUID], *, as_of: datetime.date, rules: RuleSet | None = None
) -> dict[uuid.UUID, Evaluation]:
    """Evaluations of the given dossiers as of a date: four queries whatever their number."""
    rules = rules or load_rules(as_of)
    rows = load_case_rows_of(case_ids)
    return evaluate_rows(rows, as_of=as_of, rules=rules)
