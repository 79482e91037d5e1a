"""What the cockpit and the team view show, assembled with a fixed number of queries.

The lights are the kept ones (``filum.followup.kept``, decision 0015): the cockpit reads the
rows of its dossiers (about 80) and evaluates only those missing or not of today; the counts of
the tiles come from the same rows, and the filters of the table are applied to them afterwards.
The team view counts in SQL (per worker, segment and light) and loads the details of the red
and "for your information" dossiers it lists only. Which dossiers are listed is decided in SQL
from ``Case.objects.visible_to``.
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Value
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filum.cases.models import Case, SegmentProposal, Stage
from filum.cases.transfers import OffersPanel, offers_panel
from filum.followup import kept
from filum.followup.lights import CaseLight
from filum.followup.models import Task
from filum.followup.permissions import tasks_visible_to
from filum.followup.rules import Level
from filum.followup.texts import finding_title, task_title
from filum.tenancy.models import Membership, Role, User
from filum.tenancy.policy import Actor

# More than this many open dossiers on one cockpit means something is wrong with the
# assignment; the page then shows the first ones and says so.
COCKPIT_LIMIT = 400
TEAM_RED_LIMIT = 60

# Guide values of the portfolio of a social worker (S8), in percent of segmented dossiers:
# at least 10 % in A, at most 40 % in C; B's 50 % follows from them and has no band of its own.
GUIDE_A_MIN = 10
GUIDE_B_TARGET = 50
GUIDE_C_MAX = 40

# Workload points per open dossier (S12): a simple, explainable weighting by need. Intake
# dossiers weigh like B (clarification takes time); a dossier in counselling still without
# a segment also counts 2 until it is decided.
WORKLOAD_WEIGHTS: dict[str, int] = {"A": 3, "B": 2, "C": 1, "intake": 2, "none": 2}

LIGHT_FILTERS = {
    "red": Level.RED,
    "orange": Level.ORANGE,
    "green": Level.GREEN,
}
SEGMENT_FILTERS = ("A", "B", "C", "intake", "none")
STAGE_FILTERS = (Stage.INTAKE_1, Stage.INTAKE_2, Stage.COUNSELLING)
SORTS = {
    "light": gettext_lazy("Light"),
    "client": gettext_lazy("Client"),
    "segment": gettext_lazy("Segment"),
    "stage": gettext_lazy("Stage"),
    "due": gettext_lazy("Next step"),
    "opened": gettext_lazy("Opened"),
}
STAGE_ORDER = {Stage.INTAKE_1: 0, Stage.INTAKE_2: 1, Stage.COUNSELLING: 2, Stage.CLOSED: 3}


def segment_key(case: Case) -> str:
    """A, B, C; "intake" for the intake stages; "none" for counselling without a segment."""
    return _segment_key(case.stage, case.segment)


def _segment_key(stage: str, segment: str | None) -> str:
    if stage in (Stage.INTAKE_1, Stage.INTAKE_2):
        return "intake"
    return segment or "none"


@dataclass
class Row:
    case: Case
    light: CaseLight | None
    next_task: Task | None
    open_tasks: int
    due_tasks: int

    @property
    def level(self) -> int:
        return int(self.light.level) if self.light else 0

    @property
    def css(self) -> str:
        return self.light.css if self.light else "green"

    @cached_property
    def reasons(self) -> list[str]:
        """The light's reasons in words, worst first (computed once per row)."""
        return self.light.reasons if self.light else []

    @cached_property
    def next_step(self) -> str:
        if self.next_task is not None:
            return task_title(self.next_task)
        if self.light is not None:
            for finding in self.light.evaluation.tasks:
                return finding_title(finding)
        return ""

    @cached_property
    def next_due(self) -> datetime.date | None:
        if self.next_task is not None:
            return self.next_task.due_on
        if self.light is not None:
            for finding in self.light.evaluation.tasks:
                return finding.due
        return None


def cockpit_cases(actor: Actor) -> QuerySet[Case]:
    """The open dossiers on the actor's desk. Administrative assistants manage the segment C
    dossiers of their team (S10; the responsible worker stays visible); everyone else sees
    the dossiers they are responsible for; other organisations, the dossiers shared with them
    where they are named."""
    visible = Case.objects.visible_to(actor).open()
    if actor.role == Role.ADMIN_ASSISTANT:
        qs = visible.filter(owner_id=actor.organisation_id, segment="C", stage=Stage.COUNSELLING)
        team_id = actor.membership.team_id
        if team_id:
            # The team of the dossier, or of its responsible worker when the dossier has none.
            members = Membership.objects.active().filter(team_id=team_id).values("user_id")
            qs = qs.filter(Q(team_id=team_id) | Q(team__isnull=True, responsible_id__in=members))
        return qs
    return visible.filter(responsible_id=actor.user.pk)


@dataclass
class Cockpit:
    rows: list[Row]
    total: int
    truncated: bool
    by_light: Counter[str]
    by_segment: Counter[str]
    my_tasks: list[Task]
    overdue_tasks: int
    today_tasks: int
    pending_decisions: int
    as_of: datetime.date
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "light"
    descending: bool = False
    # Dossiers other services offer to the actor's (section heads, decision 0026).
    offers: OffersPanel | None = None


def _sort_key(sort: str) -> Any:
    far = datetime.date.max
    keys: dict[str, Any] = {
        "light": lambda r: (-r.level, r.next_due or far, r.case.number),
        "client": lambda r: (r.case.client.last_name.lower(), r.case.client.first_name.lower()),
        "segment": lambda r: (r.case.segment or "Z", -r.level),
        "stage": lambda r: (STAGE_ORDER.get(r.case.stage, 9), -r.level),
        "due": lambda r: (r.next_due or far, -r.level),
        "opened": lambda r: (r.case.opened_on, r.case.number),
    }
    return keys[sort]


def build_cockpit(
    *,
    actor: Actor,
    as_of: datetime.date,
    light: str = "",
    segment: str = "",
    stage: str = "",
    sort: str = "light",
) -> Cockpit:
    cases = list(
        cockpit_cases(actor)
        .select_related("client", "responsible")
        .order_by("-opened_on", "-number")[: COCKPIT_LIMIT + 1]
    )
    truncated = len(cases) > COCKPIT_LIMIT
    cases = cases[:COCKPIT_LIMIT]
    ids = [c.pk for c in cases]
    lights = kept.lights_of(ids, as_of)
    next_tasks: dict[uuid.UUID, Task] = {}
    open_counts: Counter[uuid.UUID] = Counter()
    due_counts: Counter[uuid.UUID] = Counter()
    if ids:
        # Only the tasks of the actor's organisation (a partner's tasks are the partner's).
        own_tasks = Task.objects.open().filter(case_id__in=ids, owner_id=actor.organisation_id)
        for task in own_tasks.order_by("due_on", "id"):
            next_tasks.setdefault(task.case_id, task)
            open_counts[task.case_id] += 1
            if task.due_on <= as_of:
                due_counts[task.case_id] += 1
    rows = [
        Row(
            case=c,
            light=lights.get(c.pk),
            next_task=next_tasks.get(c.pk),
            open_tasks=open_counts[c.pk],
            due_tasks=due_counts[c.pk],
        )
        for c in cases
    ]
    by_light = Counter(r.css for r in rows)
    by_segment = Counter(segment_key(r.case) for r in rows)

    shown = rows
    if light in LIGHT_FILTERS:
        shown = [r for r in shown if r.css == light]
    if segment in SEGMENT_FILTERS:
        shown = [r for r in shown if segment_key(r.case) == segment]
    if stage in STAGE_FILTERS:
        shown = [r for r in shown if r.case.stage == stage]
    descending = sort.startswith("-")
    sort_name = sort.lstrip("-")
    if sort_name not in SORTS:
        sort_name, descending = "light", False
    shown.sort(key=_sort_key(sort_name), reverse=descending)

    my_tasks = list(
        tasks_visible_to(actor)
        .open()
        .filter(due_on__lte=as_of + datetime.timedelta(days=14))
        .select_related("case", "case__client", "assigned_to")
        .order_by("due_on", "id")[:40]
    )
    pending = 0
    if actor.may("segment.decide"):
        pending = SegmentProposal.objects.awaiting_head(actor).count()
    return Cockpit(
        rows=shown,
        total=len(rows),
        truncated=truncated,
        by_light=by_light,
        by_segment=by_segment,
        my_tasks=my_tasks,
        overdue_tasks=sum(1 for t in my_tasks if t.due_on < as_of),
        today_tasks=sum(1 for t in my_tasks if t.due_on == as_of),
        pending_decisions=pending,
        as_of=as_of,
        filters={"light": light, "segment": segment, "stage": stage},
        sort=sort_name,
        descending=descending,
        offers=offers_panel(actor),
    )


# --- the section head's team view ----------------------------------------------------------


@dataclass
class WorkerLine:
    user: User
    role: str
    counts: Counter[str] = field(default_factory=Counter)
    lights: Counter[str] = field(default_factory=Counter)
    with_norm: int = 0
    norm_missed: int = 0

    @cached_property
    def name(self) -> str:
        return str(self.user)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def segmented(self) -> int:
        return self.counts["A"] + self.counts["B"] + self.counts["C"]

    def share(self, key: str) -> int:
        return round(100 * self.counts[key] / self.segmented) if self.segmented else 0

    @property
    def share_a(self) -> int:
        return self.share("A")

    @property
    def share_b(self) -> int:
        return self.share("B")

    @property
    def share_c(self) -> int:
        return self.share("C")

    @property
    def workload(self) -> int:
        return sum(WORKLOAD_WEIGHTS[key] * n for key, n in self.counts.items())

    @property
    def norm_met_percent(self) -> int | None:
        if not self.with_norm:
            return None
        return round(100 * (self.with_norm - self.norm_missed) / self.with_norm)

    @property
    def guide_flags(self) -> list[str]:
        """Where the portfolio is off the guide values (S8); empty when it is within them.
        The shares are compared unrounded (2 of 21 dossiers in A is 9.5 %, below 10 %)."""
        if not self.segmented:
            return []
        flags = []
        if 100 * self.counts["A"] < GUIDE_A_MIN * self.segmented:
            flags.append(_("A below %(min)d %%") % {"min": GUIDE_A_MIN})
        if 100 * self.counts["C"] > GUIDE_C_MAX * self.segmented:
            flags.append(_("C above %(max)d %%") % {"max": GUIDE_C_MAX})
        return flags


@dataclass
class TeamView:
    team_name: str
    has_team: bool
    whole_organisation: bool
    workers: list[WorkerLine]
    red_rows: list[Row]
    red_total: int
    pending: list[SegmentProposal]
    as_of: datetime.date
    average_workload: float
    # For the section head's information (not red): above the upper contact bound, segment
    # A past its 6 months (with or without an exception); and the assistants' requests the
    # workers decide (S4, the head controls).
    info_rows: list[Row] = field(default_factory=list)
    requests: list[SegmentProposal] = field(default_factory=list)
    # Lights not evaluated for ``as_of`` (beyond what the page evaluates itself, decision
    # 0015): shown as of their last evaluation, the oldest of which is ``stale_since``.
    stale_lights: int = 0
    stale_since: datetime.date | None = None


TEAM_ROLES = (Role.SOCIAL_WORKER, Role.INTAKE_WORKER, Role.SECTION_HEAD)


def team_members(actor: Actor, *, whole_organisation: bool = False) -> QuerySet[Membership]:
    """The caseworkers the section head steers: their team, or the whole organisation when the
    head belongs to no team or asks for it."""
    qs = Membership.objects.active().filter(
        organisation_id=actor.organisation_id, role__in=TEAM_ROLES
    )
    if actor.membership.team_id and not whole_organisation:
        qs = qs.filter(Q(team_id=actor.membership.team_id) | Q(user_id=actor.user.pk))
    return qs.select_related("user").order_by("user__last_name", "user__first_name", "role")


def _team_counts(cases: QuerySet[Case], as_of: datetime.date) -> list[dict[str, Any]]:
    """Open dossiers per worker, stage, segment and kept light, with the contact check and
    how many lights are missing or not of ``as_of``: one GROUP BY."""
    current = Q(kept_light__as_of=as_of)
    return list(
        cases.order_by()
        .values("responsible_id", "stage", "segment", "kept_light__level")
        .annotate(
            n=Count("pk"),
            with_norm=Count("pk", filter=Q(kept_light__has_norm=True)),
            norm_missed=Count("pk", filter=Q(kept_light__norm_missed=True)),
            stale=Count("pk", filter=Q(kept_light__isnull=True) | ~current),
            oldest=Min("kept_light__as_of", filter=~current),
        )
    )


def _team_rows(cases: QuerySet[Case], organisation_id: int) -> tuple[list[Row], list[Row]]:
    """The first ``TEAM_RED_LIMIT`` red dossiers and the first ``TEAM_RED_LIMIT`` "for your
    information" ones (a dossier may be both), by caseworker and number: one lean query picks
    both, each part ordered and limited in SQL (a service has hundreds of red dossiers), one
    loads the details and kept lights of the rows shown only."""
    order = ("responsible__last_name", "responsible_id", "number")
    columns = (*order, "pk", "which")
    # Read from the kept lights' partial indexes (caselight_owner_red, caselight_owner_info).
    lean = cases.filter(kept_light__owner_id=organisation_id).order_by(*order)
    red = lean.filter(kept_light__level=Level.RED).annotate(which=Value(0))
    info = lean.filter(kept_light__info=True).annotate(which=Value(1))
    picked = sorted(
        red.values_list(*columns)[:TEAM_RED_LIMIT].union(
            info.values_list(*columns)[:TEAM_RED_LIMIT], all=True
        ),
        key=lambda row: (row[4], row[0] or "", row[1] or 0, row[2]),
    )
    shown: dict[uuid.UUID, Case] = {}
    if picked:
        details = Case.objects.filter(pk__in={row[3] for row in picked})
        shown = {c.pk: c for c in details.select_related("client", "responsible", "kept_light")}

    def rows(which: int) -> list[Row]:
        return [
            Row(
                case=shown[row[3]],
                light=kept.light_from_kept(shown[row[3]].kept_light),
                next_task=None,
                open_tasks=0,
                due_tasks=0,
            )
            for row in picked
            if row[4] == which
        ]

    return rows(0), rows(1)


def build_team_view(
    *, actor: Actor, as_of: datetime.date, whole_organisation: bool = False
) -> TeamView:
    workers: dict[int, WorkerLine] = {}
    caseworkers: set[int] = set()
    for membership in team_members(actor, whole_organisation=whole_organisation):
        workers.setdefault(
            membership.user_id, WorkerLine(user=membership.user, role=membership.role)
        )
        if membership.role != Role.SECTION_HEAD:
            caseworkers.add(membership.user_id)
    # The organisation's own dossiers only (shared ones have no caseworker here): the owner's
    # part of ``visible_to``, which reads the owner's list index without the shares' branch.
    cases = (
        Case.objects.owned_visible_to(actor)
        .open()
        .filter(owner_id=actor.organisation_id, responsible_id__in=list(workers))
    )
    counts = _team_counts(cases, as_of)
    if any(group["stale"] for group in counts):
        # Lights missing or of another day (decision 0015): evaluate a bounded number now.
        stale = cases.filter(Q(kept_light__isnull=True) | ~Q(kept_light__as_of=as_of))
        kept.refresh(stale.order_by().values_list("pk", flat=True)[: kept.REFRESH_LIMIT], as_of)
        counts = _team_counts(cases, as_of)
    red_total = stale_total = 0
    oldest: datetime.date | None = None
    for group in counts:
        line = workers[group["responsible_id"]]
        n, level = group["n"], group["kept_light__level"]
        line.counts[_segment_key(group["stage"], group["segment"])] += n
        if group["stale"]:
            stale_total += group["stale"]
            if group["oldest"] is not None and (oldest is None or group["oldest"] < oldest):
                oldest = group["oldest"]
        if level is None:
            continue
        line.lights[Level(level).css] += n
        line.with_norm += group["with_norm"]
        line.norm_missed += group["norm_missed"]
        if level == Level.RED:
            red_total += n

    red_rows, info_rows = _team_rows(cases, actor.organisation_id)
    pending = list(SegmentProposal.objects.awaiting_head(actor)[:50])
    # One population for the headcount, the tables, the charts and the average (S12): everyone
    # who does casework here, with or without open dossiers; a section head only while holding
    # dossiers (otherwise they steer the team and carry no portfolio).
    lines = [w for w in workers.values() if w.total or w.user.pk in caseworkers]
    loads = [w.workload for w in lines]
    team = None if whole_organisation else actor.membership.team
    return TeamView(
        team_name=str(team) if team else str(actor.organisation),
        has_team=actor.membership.team_id is not None,
        whole_organisation=team is None,
        workers=lines,
        red_rows=red_rows,
        red_total=red_total,
        pending=pending,
        as_of=as_of,
        average_workload=round(sum(loads) / len(loads), 1) if loads else 0.0,
        info_rows=info_rows,
        requests=list(SegmentProposal.objects.requests_to_control(actor)[:50]),
        stale_lights=stale_total,
        stale_since=oldest,
    )


def portfolio_chart(view: TeamView) -> dict[str, Any]:
    """Data for the stacked bar chart of the portfolios (S8), in percent of segmented dossiers."""
    lines = [w for w in view.workers if w.segmented]
    return {
        "type": "bar",
        "horizontal": True,
        "stack": True,
        "unit": "%",
        "labels": [str(w.user) for w in lines],
        "series": [
            {
                "key": key,
                "label": _("Segment %(segment)s") % {"segment": key},
                "data": [w.share(key) for w in lines],
            }
            for key in ("A", "B", "C")
        ],
    }


def workload_chart(view: TeamView) -> dict[str, Any]:
    """Data for the bar chart of the distribution of dossiers and the workload (D5, S12)."""
    lines = view.workers
    return {
        "type": "bar",
        "unit": "",
        "stack": False,
        "labels": [str(w.user) for w in lines],
        "series": [
            {"key": "load", "label": _("Workload points"), "data": [w.workload for w in lines]},
            {"key": "none", "label": _("Open dossiers"), "data": [w.total for w in lines]},
            {
                "key": "guide",
                "type": "line",
                "label": _("Team average (points)"),
                "data": [view.average_workload for _w in lines],
            },
        ],
    }


def my_portfolio_chart(cockpit: Cockpit) -> dict[str, Any]:
    keys = [k for k in ("A", "B", "C", "intake", "none") if cockpit.by_segment[k]]
    labels = {
        "A": _("Segment A"),
        "B": _("Segment B"),
        "C": _("Segment C"),
        "intake": _("Intake"),
        "none": _("No segment yet"),
    }
    return {
        "type": "doughnut",
        "unit": "",
        "keys": keys,
        "labels": [labels[k] for k in keys],
        "series": [
            {
                "key": "portfolio",
                "label": _("Dossiers"),
                "data": [cockpit.by_segment[k] for k in keys],
            }
        ],
    }
