"""The CII monitoring report (D8), as the CaseNet presentation shows it: for a year, the
profile of the situations in percent, the states at exit, and the intermediate goals aimed at
and reached. Aggregates only, never a name; one SQL query for any number of cases.

Who counts what (decision 0020): a canton office counts every CII case of the organisations in
its canton; anyone else with ``cii.report`` (a section head) counts their organisation's.

The population of each figure:
* the profile counts the cases running at some time in the year (``active_in``); each share
  is of the cases where the field is recorded, and an "of which" line is a share of the line
  above it (as "80 % out of work for more than 2 years, of which a quarter for more than 4");
* the exits, and the goals aimed at and reached, count the cases that ended in the year; a
  goal's "reached" is a share of the cases that aimed at it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from filum.cii.models import (
    LOW_OR_MEDIUM_LANGUAGE,
    CiiCaseQuerySet,
    Education,
    ExitState,
    Health,
    Nationality,
    OutOfWork,
)
from filum.plans.goals import IntermediateGoal


def percent(count: int, base: int) -> int | None:
    """A whole percentage rounded half up (as the seed shows them); None without a base."""
    if base <= 0:
        return None
    return (200 * count + base) // (2 * base)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    count: int
    base: int
    of_which: bool = False  # a share of the line above

    @property
    def percent(self) -> int | None:
        return percent(self.count, self.base)


@dataclass(frozen=True)
class GoalFigure:
    key: str
    label: str
    aimed: int
    reached: int
    exits: int

    @property
    def aimed_percent(self) -> int | None:
        return percent(self.aimed, self.exits)

    @property
    def reached_percent(self) -> int | None:
        return percent(self.reached, self.aimed)


@dataclass(frozen=True)
class MonitoringReport:
    year: int
    canton_wide: bool
    cases: int  # running at some time in the year
    exits: int  # ended in the year
    profile: list[Figure]
    exit_states: list[Figure]
    goals: list[GoalFigure]


# The profile lines: key, label, the recorded condition (the base), the counted condition, and
# for an "of which" line the key of its parent (whose count is its base).
_HEALTH_PROBLEM = [Health.PHYSICAL, Health.PSYCHOLOGICAL, Health.BOTH]
_PROFILE: list[tuple[str, Promise, Q, Q, str | None]] = [
    ("health_problem", _("Health problem"), ~Q(health=""), Q(health__in=_HEALTH_PROBLEM), None),
    (
        "health_both",
        _("of which physical and psychological combined"),
        Q(),
        Q(health=Health.BOTH),
        "health_problem",
    ),
    (
        "out_of_work_over_2",
        _("Out of work for more than 2 years"),
        ~Q(out_of_work=""),
        Q(out_of_work__in=[OutOfWork.YEARS_2_4, OutOfWork.OVER_4]),
        None,
    ),
    (
        "out_of_work_over_4",
        _("of which for more than 4 years"),
        Q(),
        Q(out_of_work=OutOfWork.OVER_4),
        "out_of_work_over_2",
    ),
    (
        "language_low",
        _("Low or medium language level (up to B2, below A1 included)"),
        ~Q(language_level=""),
        Q(language_level__in=LOW_OR_MEDIUM_LANGUAGE),
        None,
    ),
    (
        "no_education",
        _("No education"),
        ~Q(education=""),
        Q(education=Education.NONE),
        None,
    ),
    (
        "foreign",
        _("Foreign nationality"),
        ~Q(nationality=""),
        Q(nationality=Nationality.FOREIGN),
        None,
    ),
    (
        "debts",
        _("Debts (social-assistance debts not counted)"),
        Q(debts__isnull=False),
        Q(debts=True),
        None,
    ),
]


def _aggregates(year: int) -> dict[str, Any]:
    ended = Q(exit_on__gte=datetime.date(year, 1, 1), exit_on__lte=datetime.date(year, 12, 31))
    found: dict[str, Any] = {"cases": Count("pk"), "exits": Count("pk", filter=ended)}
    for key, _label, recorded, counted, parent in _PROFILE:
        if parent is None:
            found[f"{key}__base"] = Count("pk", filter=recorded)
        found[key] = Count("pk", filter=recorded & counted)
    for state in ExitState:
        found[f"exit_{state.value}"] = Count("pk", filter=ended & Q(exit_state=state))
    for goal in IntermediateGoal:
        found[f"aimed_{goal.value}"] = Count(
            "pk", filter=ended & Q(goals_aimed__contains=[goal.value])
        )
        found[f"reached_{goal.value}"] = Count(
            "pk", filter=ended & Q(goals_reached__contains=[goal.value])
        )
    return found


def monitoring_report(*, cases: CiiCaseQuerySet, year: int, canton_wide: bool) -> MonitoringReport:
    """The figures over ``cases`` (already limited to what the reader may count)."""
    row = cases.active_in(year).aggregate(**_aggregates(year))
    profile = [
        Figure(
            key=key,
            label=str(label),
            count=row[key],
            base=row[parent] if parent else row[f"{key}__base"],
            of_which=parent is not None,
        )
        for key, label, _recorded, _counted, parent in _PROFILE
    ]
    exit_states = [
        Figure(
            key=state.value,
            label=str(state.label),
            count=row[f"exit_{state.value}"],
            base=row["exits"],
        )
        for state in ExitState
    ]
    goals = [
        GoalFigure(
            key=goal.value,
            label=str(goal.label),
            aimed=row[f"aimed_{goal.value}"],
            reached=row[f"reached_{goal.value}"],
            exits=row["exits"],
        )
        for goal in IntermediateGoal
    ]
    return MonitoringReport(
        year=year,
        canton_wide=canton_wide,
        cases=row["cases"],
        exits=row["exits"],
        profile=profile,
        exit_states=exit_states,
        goals=goals,
    )


def report_rows(report: MonitoringReport) -> list[list[str]]:
    """The report as rows for the CSV download: the same figures as the page."""
    rows: list[list[str]] = [
        [str(_("part")), str(_("figure")), str(_("count")), str(_("of")), str(_("percent"))]
    ]

    def pct(value: int | None) -> str:
        return "" if value is None else str(value)

    rows.append(
        [str(_("cases")), str(_("CII cases running in the year")), str(report.cases), "", ""]
    )
    rows.append([str(_("cases")), str(_("CII cases ended in the year")), str(report.exits), "", ""])
    for figure in report.profile:
        rows.append(
            [
                str(_("profile")),
                figure.label,
                str(figure.count),
                str(figure.base),
                pct(figure.percent),
            ]
        )
    for figure in report.exit_states:
        rows.append(
            [str(_("exit")), figure.label, str(figure.count), str(figure.base), pct(figure.percent)]
        )
    for goal in report.goals:
        rows.append(
            [
                str(_("goal aimed at")),
                goal.label,
                str(goal.aimed),
                str(goal.exits),
                pct(goal.aimed_percent),
            ]
        )
        rows.append(
            [
                str(_("goal reached")),
                goal.label,
                str(goal.reached),
                str(goal.aimed),
                pct(goal.reached_percent),
            ]
        )
    return rows


def charts(report: MonitoringReport) -> dict[str, dict[str, Any]]:
    """Data for the three charts (``followup/steering.js`` draws them), in percent."""
    return {
        "profile": {
            "type": "bar",
            "horizontal": True,
            "unit": "%",
            "labels": [f.label for f in report.profile],
            "series": [
                {
                    "key": "load",
                    "label": str(_("Share of the cases")),
                    "data": [f.percent or 0 for f in report.profile],
                }
            ],
        },
        "exits": {
            "type": "bar",
            "horizontal": True,
            "unit": "%",
            "labels": [f.label for f in report.exit_states],
            "series": [
                {
                    "key": "B",
                    "label": str(_("Share of the exits")),
                    "data": [f.percent or 0 for f in report.exit_states],
                }
            ],
        },
        "goals": {
            "type": "bar",
            "horizontal": True,
            "unit": "",
            "labels": [g.label for g in report.goals],
            "series": [
                {
                    "key": "none",
                    "label": str(_("Aimed at")),
                    "data": [g.aimed for g in report.goals],
                },
                {
                    "key": "green",
                    "label": str(_("Reached")),
                    "data": [g.reached for g in report.goals],
                },
            ],
        },
    }
