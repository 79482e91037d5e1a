"""A plan as the plan page and its PDF show it: the goals by kind in the seed's order, the
measures grouped by the goals they serve, each with its booking. Four queries whatever the
size of the plan.

The labels of a measure's status, kind and result are looked up once per plan: Django's
``get_FOO_display`` hashes the field's whole list of lazy choices, translating each, on every
call, which made most of the page's time on a plan of 40 measures (issue 8's benchmark)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from filum.plans.booking import with_position
from filum.plans.models import (
    Booking,
    Category,
    GoalKind,
    Measure,
    MeasureGoal,
    MeasureResult,
    MeasureStatus,
    Plan,
    PlanGoal,
)
from filum.plans.models.catalogue import ACTIVE_BOOKING
from filum.plans.models.plan import GOAL_ORDER

PAGE_COLUMNS = (
    "plan_id",
    "case_id",
    "title",
    "category",
    "status",
    "result",
    "provider_name",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "programme__name",
    "provider__name",
)


@dataclass
class MeasureRow:
    measure: Measure
    booking: Booking | None = None
    goal_ids: list[int] = field(default_factory=list)
    status_label: str = ""
    category_label: str = ""
    result_label: str = ""


def _labels(choices: list[tuple[str, Any]]) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


@dataclass
class GoalRow:
    goal: PlanGoal
    measures: list[MeasureRow] = field(default_factory=list)


@dataclass
class GoalGroup:
    kind: str
    label: str
    rows: list[GoalRow]


@dataclass
class PlanOverview:
    plan: Plan
    groups: list[GoalGroup]
    measures: list[MeasureRow]
    without_goal: list[MeasureRow]

    @property
    def goals(self) -> list[PlanGoal]:
        return [row.goal for group in self.groups for row in group.rows]


def plan_overview(plan: Plan, *, with_notes: bool = False) -> PlanOverview:
    """The plan's goals by kind, each with its measures and their active bookings: four
    queries. The page leaves the measures' long notes and the catalogue's descriptions in the
    database; the PDF (``with_notes``) prints the notes."""
    measures_query = Measure.objects.filter(plan=plan).select_related("programme", "provider")
    if with_notes:
        measures_query = measures_query.defer(
            "programme__description", "provider__address", "provider__contact_name"
        )
    else:
        # the page's row (_measure_row.html) reads these columns only: fewer to build
        measures_query = measures_query.only(*PAGE_COLUMNS)
    goals = sorted(PlanGoal.objects.filter(plan=plan), key=lambda g: GOAL_ORDER[g.key])
    statuses = _labels(MeasureStatus.choices)
    categories = _labels(Category.choices)
    results = _labels(MeasureResult.choices)
    measures = [
        MeasureRow(
            measure,
            status_label=statuses.get(measure.status, measure.status),
            category_label=categories.get(measure.category, measure.category),
            result_label=results.get(measure.result, measure.result),
        )
        for measure in measures_query.order_by("planned_start", "pk")
    ]
    by_measure = {row.measure.pk: row for row in measures}
    for measure_id, goal_id in MeasureGoal.objects.filter(goal__plan=plan).values_list(
        "measure_id", "goal_id"
    ):
        by_measure[measure_id].goal_ids.append(goal_id)
    bookings = with_position(
        Booking.objects.filter(case_id=plan.case_id, status__in=ACTIVE_BOOKING)
    ).select_related("period")
    for booking in bookings:
        if booking.measure_id in by_measure:
            by_measure[booking.measure_id].booking = booking
    goal_rows = {goal.pk: GoalRow(goal) for goal in goals}
    without_goal = []
    for row in measures:
        for goal_id in row.goal_ids:
            goal_rows[goal_id].measures.append(row)
        if not row.goal_ids:
            without_goal.append(row)
    groups = []
    for kind, label in GoalKind.choices:
        rows = [r for r in goal_rows.values() if r.goal.kind == kind]
        if rows:
            groups.append(GoalGroup(kind=kind, label=str(label), rows=rows))
    return PlanOverview(plan=plan, groups=groups, measures=measures, without_goal=without_goal)
