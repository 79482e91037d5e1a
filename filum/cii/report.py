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


# A figure in a table: its value (None where a share has no base) and whether it is a share.
Cell = tuple[int | None, bool]


@dataclass(frozen=True)
class Part:
    """One part of the page: the data of its chart and its table (headers; rows of a label,
    the figures, and whether the row is an "of which" line)."""

    chart: dict[str, Any]
    headers: list[str]
    rows: list[tuple[str, list[Cell], bool]]


def _bars(labels: list[str], unit: str, *series: tuple[str, Promise, list[int]]) -> dict[str, Any]:
    """A horizontal bar chart for ``followup/steering.js``: one series per (colour key,
    label, values)."""
    return {
        "type": "bar",
        "horizontal": True,
        "unit": unit,
        "labels": labels,
        "series": [{"key": key, "label": str(label), "data": data} for key, label, data in series],
    }


def parts(report: MonitoringReport) -> dict[str, Part]:
    """The three parts of the page: the profile, the states at exit, the goals."""
    profile, exits, goals = report.profile, report.exit_states, report.goals
    return {
        "profile": Part(
            chart=_bars(
                [f.label for f in profile],
                "%",
                ("load", _("Share of the cases"), [f.percent or 0 for f in profile]),
            ),
            headers=[str(h) for h in (_("Figure"), _("Count"), _("Of"), _("Percent"))],
            rows=[
                (f.label, [(f.count, False), (f.base, False), (f.percent, True)], f.of_which)
                for f in profile
            ],
        ),
        "exits": Part(
            chart=_bars(
                [f.label for f in exits],
                "%",
                ("B", _("Share of the exits"), [f.percent or 0 for f in exits]),
            ),
            headers=[str(h) for h in (_("State at exit"), _("Count"), _("Percent"))],
            rows=[(f.label, [(f.count, False), (f.percent, True)], False) for f in exits],
        ),
        "goals": Part(
            chart=_bars(
                [g.label for g in goals],
                "",
                ("none", _("Aimed at"), [g.aimed for g in goals]),
                ("green", _("Reached"), [g.reached for g in goals]),
            ),
            headers=[
                str(h)
                for h in (
                    _("Intermediate goal"),
                    _("Aimed at"),
                    _("Share of the exits"),
                    _("Reached"),
                    _("Share of those aimed at"),
                )
            ],
            rows=[
                (
                    g.label,
                    [
                        (g.aimed, False),
                        (g.aimed_percent, True),
                        (g.reached, False),
                        (g.reached_percent, True),
                    ],
                    False,
                )
                for g in goals
            ],
        ),
    }


def report_rows(report: MonitoringReport) -> list[list[str]]:
    """The report as rows for the CSV download, the same figures as the page: part, figure,
    count, of how many, percent (empty where there is no base)."""

    def line(
        part: Promise, label: str, count: int, base: int | str, share: int | None
    ) -> list[str]:
        return [str(part), label, str(count), str(base), "" if share is None else str(share)]

    rows = [[str(h) for h in (_("part"), _("figure"), _("count"), _("of"), _("percent"))]]
    rows.append(line(_("cases"), str(_("CII cases running in the year")), report.cases, "", None))
    rows.append(line(_("cases"), str(_("CII cases ended in the year")), report.exits, "", None))
    rows += [line(_("profile"), f.label, f.count, f.base, f.percent) for f in report.profile]
    rows += [line(_("exit"), f.label, f.count, f.base, f.percent) for f in report.exit_states]
    for g in report.goals:
        rows.append(line(_("goal aimed at"), g.label, g.aimed, g.exits, g.aimed_percent))
        rows.append(line(_("goal reached"), g.label, g.reached, g.aimed, g.reached_percent))
    return rows
