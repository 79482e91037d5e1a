"""The integration cockpit across dossiers (I7, issue 8 item 9, decision 0022).

What it counts: the *integration dossiers* the reader may count, open, of the asylum and
refugee domain or CII, or with an integration plan. A section head or social worker counts
the dossiers whose plan they may read (``Case.objects.visible_to(section=plan)``: their
organisation's and those shared with it); the canton's integration office counts every
integration dossier of the organisations in its canton, as figures only (no list, no name),
like the CII monitoring (decision 0020).

Built for ten years of a canton: every figure is one aggregate query (persons per residence
status with the milestone states read from the kept lights; the measures by state; the open
reminder tasks), every list is limited (``LIST_LIMIT``, the total is in the figures), the
filter choices are three small queries. The page costs the same number of queries whatever
the volume (pinned in tests/test_integration_cockpit.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from filum.cases.models import Case, Domain
from filum.followup.evaluation import load_rules
from filum.followup.models import Task
from filum.followup.rule_tasks import MEASURE_KINDS
from filum.followup.rules import DEFAULT_RULES, MEASURE_START
from filum.people.models import ResidenceStatus
from filum.plans.models import Measure, MeasureStatus, Plan, Provider
from filum.records.services import log_list_reads
from filum.tenancy.models import Membership, Organisation, OrganisationKind, Team
from filum.tenancy.policy import Actor, Section, dossier_holding_roles

LIST_LIMIT = 25
# The keys of the AIS milestone findings (``rules``, issue 8 item 7) counted from the kept
# lights' reasons.
MILESTONE_AT_RISK, MILESTONE_MISSED = "milestone_at_risk", "milestone_missed"
INTEGRATION_DOMAINS = (Domain.ASYLUM_AID, Domain.CII)
NOT_STARTED = (MeasureStatus.PLANNED, MeasureStatus.REGISTERED)
STARTED = (MeasureStatus.RUNNING, MeasureStatus.COMPLETED)


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


@dataclass
class Filters:
    worker: int | None = None
    team: int | None = None
    provider: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.worker, self.team, self.provider))

    def query(self) -> dict[str, int]:
        return {
            key: value
            for key, value in (
                ("worker", self.worker),
                ("team", self.team),
                ("provider", self.provider),
            )
            if value is not None
        }


@dataclass
class StatusRow:
    code: str
    label: str
    persons: int
    at_risk: int
    missed: int


@dataclass
class IntegrationCockpit:
    as_of: datetime.date
    canton_wide: bool
    start_days: int
    filters: Filters
    workers: list[Choice]
    teams: list[Choice]
    providers: list[Choice]
    statuses: list[StatusRow]
    figures: dict[str, int]
    running: list[Measure]
    starting: list[Measure]
    results: list[Measure]
    tasks: list[Task]

    @property
    def persons(self) -> int:
        return sum(row.persons for row in self.statuses)

    @property
    def at_risk(self) -> int:
        return sum(row.at_risk for row in self.statuses)

    @property
    def missed(self) -> int:
        return sum(row.missed for row in self.statuses)


def is_canton_wide(actor: Actor) -> bool:
    return actor.organisation.kind == OrganisationKind.CANTON_OFFICE


def integration_cases(actor: Actor, *, canton_wide: bool) -> QuerySet[Case]:
    """The open integration dossiers the actor may count (see the module's docstring)."""
    if canton_wide:
        in_canton = Organisation.objects.filter(canton=actor.organisation.canton)
        cases = Case.objects.filter(owner_id__in=in_canton.values("pk"))
    else:
        cases = Case.objects.visible_to(actor, section=Section.PLAN)
    has_plan = Exists(Plan.objects.filter(case_id=OuterRef("pk")))
    return cases.open().filter(Q(domain__in=INTEGRATION_DOMAINS) | has_plan)


def _choices(actor: Actor, canton_wide: bool) -> tuple[list[Choice], list[Choice], list[Choice]]:
    """The filter choices: the organisation's caseworkers and teams (none for the canton
    office, which sees no worker), the active providers of the canton's catalogue."""
    workers: list[Choice] = []
    teams: list[Choice] = []
    if not canton_wide:
        seen: set[int] = set()
        members = (
            Membership.objects.active()
            .filter(organisation_id=actor.organisation_id, role__in=dossier_holding_roles())
            .order_by("user__last_name", "user__first_name", "user_id")
            .values_list("user_id", "user__first_name", "user__last_name", "user__username")
        )
        for user_id, first, last, username in members:
            if user_id not in seen:
                seen.add(user_id)
                workers.append(Choice(user_id, f"{first} {last}".strip() or username))
        teams = [
            Choice(pk, name)
            for pk, name in Team.objects.filter(organisation_id=actor.organisation_id)
            .order_by("name", "pk")
            .values_list("pk", "name")
        ]
    providers = [
        Choice(pk, name)
        for pk, name in Provider.objects.filter(canton=actor.organisation.canton, is_active=True)
        .order_by("name", "id")
        .values_list("pk", "name")
    ]
    return workers, teams, providers


def _pick(raw: str, choices: list[Choice], notice: str, notices: list[str]) -> int | None:
    """The chosen id if it is one of the choices; anything else is ignored with a notice."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value not in {c.id for c in choices}:
        notices.append(notice)
        return None
    return value


def parse_filters(
    params: Any, workers: list[Choice], teams: list[Choice], providers: list[Choice]
) -> Filters:
    notices: list[str] = []
    return Filters(
        worker=_pick(
            params.get("worker", ""),
            workers,
            _("The chosen worker is not one of the list: the filter by worker was ignored."),
            notices,
        ),
        team=_pick(
            params.get("team", ""),
            teams,
            _("The chosen team is not one of the list: the filter by team was ignored."),
            notices,
        ),
        provider=_pick(
            params.get("provider", ""),
            providers,
            _("The chosen provider is not one of the list: the filter by provider was ignored."),
            notices,
        ),
        notices=notices,
    )


def _filtered(cases: QuerySet[Case], filters: Filters) -> QuerySet[Case]:
    if filters.worker is not None:
        cases = cases.filter(responsible_id=filters.worker)
    if filters.team is not None:
        cases = cases.filter(team_id=filters.team)
    if filters.provider is not None:
        open_measures = Measure.objects.filter(
            case_id=OuterRef("pk"),
            provider_id=filters.provider,
            status__in=(*NOT_STARTED, MeasureStatus.RUNNING),
        )
        cases = cases.filter(Exists(open_measures))
    return cases


def _statuses(cases: QuerySet[Case]) -> list[StatusRow]:
    """Persons per residence status, and the dossiers whose kept light holds a milestone at
    risk or missed: one aggregate query."""
    at_risk = Q(kept_light__findings__contains=[{"code": MILESTONE_AT_RISK}])
    missed = Q(kept_light__findings__contains=[{"code": MILESTONE_MISSED}])
    counted = {
        row["client__residence_status"]: row
        for row in cases.order_by()
        .values("client__residence_status")
        .annotate(
            persons=Count("client_id", distinct=True),
            at_risk=Count("pk", filter=at_risk),
            missed=Count("pk", filter=missed),
        )
    }
    labels = dict(ResidenceStatus.choices)
    order = [*ResidenceStatus.values, ""]
    rows = []
    for code in order:
        row = counted.pop(code, None)
        if row is None:
            continue
        label = str(labels.get(code, "")) or _("not recorded")
        rows.append(StatusRow(code, label, row["persons"], row["at_risk"], row["missed"]))
    for code, row in sorted(counted.items()):  # a code no longer in the list
        rows.append(StatusRow(code, code, row["persons"], row["at_risk"], row["missed"]))
    return rows


def _measures(cases: QuerySet[Case], filters: Filters) -> QuerySet[Measure]:
    measures = Measure.objects.filter(case__in=cases.values("pk"))
    if filters.provider is not None:
        measures = measures.filter(provider_id=filters.provider)
    return measures


def _measure_figures(
    measures: QuerySet[Measure], as_of: datetime.date, start_days: int
) -> dict[str, int]:
    """The measures by state in one aggregate over the open ones and those awaiting a
    result."""
    soon_until = as_of + datetime.timedelta(days=start_days)
    ended = Q(status__in=STARTED, result="", ends_on__lt=as_of)
    return (
        measures.annotate(ends_on=Coalesce("actual_end", "planned_end"))
        .filter(Q(status__in=(*NOT_STARTED, MeasureStatus.RUNNING)) | ended)
        .aggregate(
            running=Count("pk", filter=Q(status=MeasureStatus.RUNNING)),
            starting=Count(
                "pk",
                filter=Q(
                    status__in=NOT_STARTED,
                    planned_start__gte=as_of,
                    planned_start__lte=soon_until,
                ),
            ),
            start_overdue=Count("pk", filter=Q(status__in=NOT_STARTED, planned_start__lt=as_of)),
            results=Count("pk", filter=ended),
        )
    )


def build_integration_cockpit(
    *, actor: Actor, as_of: datetime.date, params: Any, path: str = ""
) -> IntegrationCockpit:
    canton_wide = is_canton_wide(actor)
    workers, teams, providers = _choices(actor, canton_wide)
    filters = parse_filters(params, workers, teams, providers)
    rules = load_rules(as_of)
    start_norm = rules.get(MEASURE_START) or DEFAULT_RULES.norms[MEASURE_START]
    cases = _filtered(integration_cases(actor, canton_wide=canton_wide), filters)
    measures = _measures(cases, filters)
    figures = _measure_figures(measures, as_of, start_norm.warning_days)
    tasks = Task.objects.open().filter(kind__in=MEASURE_KINDS, case__in=cases.values("pk"))
    if not canton_wide:
        # the reminder tasks of the actor's organisation (a partner's tasks are the partner's)
        tasks = tasks.filter(owner_id=actor.organisation_id)
    figures["tasks"] = tasks.count()
    view = IntegrationCockpit(
        as_of=as_of,
        canton_wide=canton_wide,
        start_days=start_norm.warning_days,
        filters=filters,
        workers=workers,
        teams=teams,
        providers=providers,
        statuses=_statuses(cases),
        figures=figures,
        running=[],
        starting=[],
        results=[],
        tasks=[],
    )
    if canton_wide:
        return view  # figures only
    listed = measures.select_related("case", "case__client", "provider")
    view.running = list(
        listed.filter(status=MeasureStatus.RUNNING).order_by("planned_end", "id")[:LIST_LIMIT]
    )
    soon_until = as_of + datetime.timedelta(days=start_norm.warning_days)
    view.starting = list(
        listed.filter(status__in=NOT_STARTED, planned_start__lte=soon_until).order_by(
            "planned_start", "id"
        )[:LIST_LIMIT]
    )
    view.results = list(
        listed.annotate(ends_on=Coalesce("actual_end", "planned_end"))
        .filter(status__in=STARTED, result="", ends_on__lt=as_of)
        .order_by("ends_on", "id")[:LIST_LIMIT]
    )
    view.tasks = list(
        tasks.select_related("case", "case__client", "assigned_to").order_by("due_on", "id")[
            :LIST_LIMIT
        ]
    )
    _log_plan_reads(actor, view, path)
    return view


def _log_plan_reads(actor: Actor, view: IntegrationCockpit, path: str) -> None:
    """The lists show measures of the plan section: one read of it per dossier shown, in one
    insert (X6)."""
    shown = {m.case_id for m in (*view.running, *view.starting, *view.results)}
    shown |= {t.case_id for t in view.tasks}
    log_list_reads(actor=actor, case_ids=sorted(shown), section=Section.PLAN, path=path)
