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
from filum.disclosure import MIN_CELL_SIZE, hidden_in_partition, is_small
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


# A figure in a table: its value (None where a share has no base), whether it is a share, and
# whether it is hidden as a small cell (filum.disclosure).
Cell = tuple[int | None, bool, bool]


@dataclass(frozen=True)
class Part:
    """One part of the page: the data of its chart and its table (headers; rows of a label,
    the figures, and whether the row is an "of which" line)."""

    chart: dict[str, Any]
    headers: list[str]
    rows: list[tuple[str, list[Cell], bool]]


class Shown:
    """Which figures of a report may be shown. A canton-wide report covers organisations the
    reader does not work for: there, counts of 1 to 4 cases and the shares made from them or
    over them are hidden (decision 0020). An organisation's own report shows everything: its
    section head reads the named records anyway."""

    def __init__(self, report: MonitoringReport) -> None:
        self.protect = report.canton_wide
        states = [f.count for f in report.exit_states]
        self.hidden_states = hidden_in_partition(states) if self.protect else set()

    def small(self, count: int) -> bool:
        return self.protect and is_small(count)

    def count(self, count: int, *, hidden: bool = False) -> Cell:
        hidden = hidden or self.small(count)
        return (None if hidden else count, False, hidden)

    def share(self, count: int, base: int, *, hidden: bool = False) -> Cell:
        hidden = hidden or self.small(count) or self.small(base)
        return (None if hidden else percent(count, base), True, hidden)

    def figure(self, f: Figure, *, hidden: bool = False, with_base: bool = True) -> list[Cell]:
        cells = [self.count(f.count, hidden=hidden)]
        if with_base:
            cells.append(self.count(f.base))
        return [*cells, self.share(f.count, f.base, hidden=hidden)]

    def exit_state(self, index: int) -> bool:
        return index in self.hidden_states

    def goal(self, g: GoalFigure) -> list[Cell]:
        return [
            self.count(g.aimed),
            self.share(g.aimed, g.exits),
            self.count(g.reached),
            self.share(g.reached, g.aimed),
        ]


def _chart_value(cell: Cell) -> int | None:
    """A bar's value: a hidden cell has no bar (null), a share without a base is 0."""
    value, _share, hidden = cell
    return None if hidden else (value or 0)


def _bars(
    labels: list[str], unit: str, *series: tuple[str, Promise, list[int | None]]
) -> dict[str, Any]:
    """A horizontal bar chart for ``followup/steering.js``: one series per (colour key,
    label, values)."""
    return {
        "type": "bar",
        "horizontal": True,
        "unit": unit,
        "labels": labels,
        "series": [{"key": key, "label": str(label), "data": data} for key, label, data in series],
    }


def kpis(report: MonitoringReport) -> dict[str, Cell]:
    """The two totals at the top of the page."""
    shown = Shown(report)
    return {"cases": shown.count(report.cases), "exits": shown.count(report.exits)}


def parts(report: MonitoringReport) -> dict[str, Part]:
    """The three parts of the page: the profile, the states at exit, the goals."""
    shown = Shown(report)
    profile = [(f, shown.figure(f)) for f in report.profile]
    exits = [
        (f, shown.figure(f, hidden=shown.exit_state(i), with_base=False))
        for i, f in enumerate(report.exit_states)
    ]
    goals = [(g, shown.goal(g)) for g in report.goals]
    return {
        "profile": Part(
            chart=_bars(
                [f.label for f, _cells in profile],
                "%",
                ("load", _("Share of the cases"), [_chart_value(c[-1]) for _f, c in profile]),
            ),
            headers=[str(h) for h in (_("Figure"), _("Count"), _("Of"), _("Percent"))],
            rows=[(f.label, cells, f.of_which) for f, cells in profile],
        ),
        "exits": Part(
            chart=_bars(
                [f.label for f, _cells in exits],
                "%",
                ("B", _("Share of the exits"), [_chart_value(c[-1]) for _f, c in exits]),
            ),
            headers=[str(h) for h in (_("State at exit"), _("Count"), _("Percent"))],
            rows=[(f.label, cells, False) for f, cells in exits],
        ),
        "goals": Part(
            chart=_bars(
                [g.label for g, _cells in goals],
                "",
                ("none", _("Aimed at"), [_chart_value(c[0]) for _g, c in goals]),
                ("green", _("Reached"), [_chart_value(c[2]) for _g, c in goals]),
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
            rows=[(g.label, cells, False) for g, cells in goals],
        ),
    }


def report_rows(report: MonitoringReport) -> list[list[str]]:
    """The report as rows for the CSV download, the same figures as the page: part, figure,
    count, of how many, percent (empty where there is no base; "<5" where hidden)."""
    shown = Shown(report)

    def text(cell: Cell) -> str:
        value, _share, hidden = cell
        return f"<{MIN_CELL_SIZE}" if hidden else ("" if value is None else str(value))

    def line(part: Promise, label: str, *cells: Cell) -> list[str]:
        return [str(part), label, *(text(c) for c in cells)]

    none: Cell = (None, False, False)
    totals = kpis(report)
    rows = [[str(h) for h in (_("part"), _("figure"), _("count"), _("of"), _("percent"))]]
    rows.append(
        line(_("cases"), str(_("CII cases running in the year")), totals["cases"], none, none)
    )
    rows.append(
        line(_("cases"), str(_("CII cases ended in the year")), totals["exits"], none, none)
    )
    rows += [line(_("profile"), f.label, *shown.figure(f)) for f in report.profile]
    for i, f in enumerate(report.exit_states):
        count, share = shown.figure(f, hidden=shown.exit_state(i), with_base=False)
        rows.append(line(_("exit"), f.label, count, totals["exits"], share))
    for g in report.goals:
        aimed, aimed_share, reached, reached_share = shown.goal(g)
        rows.append(line(_("goal aimed at"), g.label, aimed, totals["exits"], aimed_share))
        rows.append(line(_("goal reached"), g.label, reached, aimed, reached_share))
    return rows
