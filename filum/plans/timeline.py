"""The AIS timeline's reads (I4, I5; decision 0021): the milestone facts of a dossier's
persons as one JSON array in the dossier query (for the rules, without a query of their
own), and the data of one person's timeline page."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.db.models import Exists, Func, JSONField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.assessments.models import Assessment, AssessmentAnswer
from filum.cases.models import Case
from filum.dates import add_months
from filum.people.models import Person
from filum.plans import milestones
from filum.plans.labels import milestone_label
from filum.plans.models import Measure, MilestoneRule, Plan, SituationEntry

# CEFR ranks as the assessments store them (pre-A1 = 0 ... C2 = 6).
RANKS = ("pre-A1", "A1", "A2", "B1", "B2", "C1", "C2")
STATE_LABELS = {
    milestones.MET: _("met"),
    milestones.AT_RISK: _("at risk"),
    milestones.MISSED: _("missed"),
    milestones.PENDING: _("pending"),
}

NATIONAL_LANGUAGES = ("de", "fr", "it")
LANGUAGE_FIELD = "language_levels"


def oral_national_levels(person_id: Any, case_id: Any) -> QuerySet[AssessmentAnswer]:
    """The oral levels in a national language of the person's final assessments in the
    dossier (``answer_person_history``)."""
    return AssessmentAnswer.objects.filter(
        person_id=person_id,
        case_id=case_id,
        field_key=LANGUAGE_FIELD,
        item__in=NATIONAL_LANGUAGES,
        dimension="oral",
        rank__isnull=False,
    )


def with_milestone_facts(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate each dossier with ``milestone_persons``: if it has an integration plan, its
    client and the members of its assistance unit with an arrival date, each with its oral
    national-language levels and situation entries in the dossier (not those recorded in
    error); and ``milestone_rules``:
    the milestone rules its canton sees."""
    case = OuterRef(OuterRef("pk"))
    levels = (
        oral_national_levels(OuterRef("pk"), case)
        .order_by()
        .values(data=JSONObject(a="assessment_id", on="assessed_on", rank="rank"))
    )
    situations = (
        SituationEntry.objects.filter(person_id=OuterRef("pk"), case_id=case, error_at__isnull=True)
        .order_by("since", "id")
        .values(data=JSONObject(on="since", kind="kind", value="value"))
    )
    facts = JSONObject(
        id="id",
        first_name="first_name",
        last_name="last_name",
        birth_date="birth_date",
        arrival_date="arrival_date",
        residence_status="residence_status",
        levels=ArraySubquery(levels),
        situations=ArraySubquery(situations),
    )
    has_plan = Exists(Plan.objects.filter(case_id=case))
    # the client, and the members of the unit (by ``unit_member_unique``): two index lookups,
    # never an OR that would read the whole person table
    client = (
        Person.objects.filter(pk=OuterRef("client_id"), arrival_date__isnull=False)
        .filter(has_plan)
        .values(data=facts)
    )
    members = (
        Person.objects.filter(
            unit_memberships__unit_id=OuterRef("assistance_unit_id"), arrival_date__isnull=False
        )
        .exclude(pk=OuterRef("client_id"))
        .filter(has_plan)
        .order_by("birth_date", "pk")
        .values(data=facts)
    )
    rules = (
        MilestoneRule.objects.filter(Q(canton="") | Q(canton=OuterRef("owner__canton")))
        .order_by("valid_from", "pk")
        .values(
            data=JSONObject(
                valid_from="valid_from",
                canton="canton",
                key="key",
                years="years",
                min_age="min_age",
                max_age="max_age",
                warning_months="warning_months",
            )
        )
    )
    persons = Func(
        ArraySubquery(client),
        ArraySubquery(members),
        function="",
        arg_joiner=" || ",
        output_field=ArrayField(JSONField()),
    )
    return cases.annotate(milestone_persons=persons, milestone_rules=ArraySubquery(rules))


# --- one person's timeline page ---------------------------------------------------------------

# The drawing's coordinates (the SVG's viewBox); rows of LANE pixels.
WIDTH, LEFT, RIGHT, LANE, TOP = 1000, 150, 20, 18, 34


@dataclass
class Mark:
    """One thing on the timeline and in its table."""

    kind: str  # measure, assessment, situation, milestone
    label: str
    start: datetime.date
    end: datetime.date | None = None
    state: str = ""
    detail: str = ""
    url: str = ""
    # a situation entry: the page to mark it recorded in error, or who marked it, when and why
    action_url: str = ""
    in_error: str = ""
    x: int = 0
    x2: int = 0
    y: int = 0

    @property
    def width(self) -> int:
        return max(self.x2 - self.x, 4)


@dataclass
class Timeline:
    person: Person
    start: datetime.date
    end: datetime.date
    years: int
    in_ais: bool
    today: datetime.date
    measures: list[Mark] = field(default_factory=list)
    assessments: list[Mark] = field(default_factory=list)
    situations: list[Mark] = field(default_factory=list)
    milestones: list[Mark] = field(default_factory=list)
    ticks: list[tuple[int, int]] = field(default_factory=list)
    today_x: int | None = None
    height: int = 0
    lanes: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> list[Mark]:
        """Everything in the table, by date."""
        marks = [*self.milestones, *self.measures, *self.assessments, *self.situations]
        return sorted(marks, key=lambda m: (m.start, m.kind))


def _measures(case: Case, person: Person) -> list[Measure]:
    mine = Q(person_id=person.pk)
    if person.pk == case.client_id:
        mine |= Q(person__isnull=True)
    return list(
        Measure.objects.filter(mine, case_id=case.pk)
        .select_related("provider")
        .order_by("planned_start", "id")
    )


def _assessments(case: Case, person: Person) -> list[Assessment]:
    """The person's assessments of record in the dossier, with the best oral level in a
    national language of the final ones (one query)."""
    best = (
        oral_national_levels(person.pk, case.pk)
        .filter(assessment_id=OuterRef("pk"))
        .order_by("-rank")
        .values("rank")[:1]
    )
    return list(
        Assessment.objects.of_record()
        .filter(case_id=case.pk, person_id=person.pk)
        .annotate(oral_rank=Subquery(best))
        .order_by("assessed_on", "created_at")
    )


def build_timeline(case: Case, person: Person, as_of: datetime.date) -> Timeline:
    """The person's timeline from the arrival over the AIS period (5 or 7 years): four more
    queries (measures, assessments, situation entries, milestone rules)."""
    measures = _measures(case, person)
    assessments = _assessments(case, person)
    entries = list(
        SituationEntry.objects.filter(case_id=case.pk, person_id=person.pk)
        .select_related("error_by")
        .order_by("since", "id")
    )
    rules = milestones.rules_from_json(
        MilestoneRule.objects.filter(Q(canton="") | Q(canton=case.owner.canton)).values(
            "valid_from", "canton", "key", "years", "min_age", "max_age", "warning_months"
        )
    )
    facts = milestones.PersonFacts(
        id=str(person.pk),
        name=f"{person.first_name} {person.last_name}",
        birth_date=person.birth_date,
        arrival_date=person.arrival_date,
        residence_status=person.residence_status,
        language_levels=tuple(
            (a.assessed_on, rank) for a in assessments if (rank := oral_rank(a)) is not None
        ),
        # an entry recorded in error is shown struck through but no longer counts
        situations=tuple(
            milestones.Situation(e.since, e.kind, e.value) for e in entries if not e.in_error
        ),
    )
    end = milestones.horizon_end(facts, as_of)
    years = milestones.horizon_years(milestones.residence_on(facts, as_of)) or 5
    start = person.arrival_date or case.opened_on
    timeline = Timeline(
        person=person,
        start=start,
        end=end or add_months(start, 12 * years),
        years=years,
        in_ais=end is not None,
        today=as_of,
    )
    timeline.measures = [_measure_mark(case, m) for m in measures]
    timeline.assessments = [_assessment_mark(case, a) for a in assessments]
    timeline.situations = [_situation_mark(case, e) for e in entries]
    timeline.milestones = [
        Mark(
            "milestone",
            milestone_label(state.key),
            state.due,
            state=state.state,
            detail=str(STATE_LABELS[state.state]),
        )
        for state in milestones.milestone_states(facts, milestones.norms_on(rules, as_of), as_of)
    ]
    _place(timeline)
    return timeline


def oral_rank(assessment: Assessment) -> int | None:
    """The best oral level in a national language of a final assessment (annotated)."""
    rank: int | None = getattr(assessment, "oral_rank", None)
    return rank


def _assessment_mark(case: Case, assessment: Assessment) -> Mark:
    rank = oral_rank(assessment)
    detail = ""
    if rank is not None and 0 <= rank < len(RANKS):
        detail = str(_("oral %(level)s in a national language") % {"level": RANKS[rank]})
    return Mark(
        "assessment",
        str(_("Assessment")),
        assessment.assessed_on,
        detail=detail,
        state=assessment.status,
        url=reverse("assessment_detail", args=[case.pk, assessment.pk]),
    )


def _situation_mark(case: Case, entry: SituationEntry) -> Mark:
    mark = Mark("situation", str(entry.get_kind_display()), entry.since, detail=entry.label)
    if entry.error_at is not None:
        mark.state = "in_error"
        mark.in_error = str(
            _("recorded in error (%(who)s, %(date)s): %(reason)s")
            % {
                "who": entry.error_by,
                "date": f"{timezone.localtime(entry.error_at):%d.%m.%Y}",
                "reason": entry.error_reason,
            }
        )
    else:
        mark.action_url = reverse("situation_in_error", args=[case.pk, entry.person_id, entry.pk])
    return mark


def _measure_mark(case: Case, measure: Measure) -> Mark:
    start = measure.actual_start or measure.planned_start
    end = measure.actual_end or measure.planned_end
    return Mark(
        "measure",
        measure.title,
        start or datetime.date.max,
        end=end,
        state=measure.get_status_display(),
        detail=measure.provider_label,
        url=reverse("measure_detail", args=[case.pk, measure.pk]),
    )


def _place(timeline: Timeline) -> None:
    """Coordinates: x from the day, clamped to the drawing; one lane per measure, one for
    the assessments, one for the situation entries."""
    span = max((timeline.end - timeline.start).days, 1)
    inner = WIDTH - LEFT - RIGHT

    def x_of(day: datetime.date) -> int:
        days = min(max((day - timeline.start).days, 0), span)
        return round(LEFT + inner * days / span)

    timeline.ticks = [
        (x_of(add_months(timeline.start, 12 * year)), year) for year in range(timeline.years + 1)
    ]
    if timeline.start <= timeline.today <= timeline.end:
        timeline.today_x = x_of(timeline.today)
    y = TOP
    timeline.lanes["milestones"] = y
    for mark in timeline.milestones:
        mark.x, mark.y = x_of(mark.start), y
    y += LANE + LANE // 2
    timeline.lanes["assessments"] = y
    for mark in timeline.assessments:
        mark.x, mark.y = x_of(mark.start), y
    y += LANE
    timeline.lanes["situations"] = y
    for mark in timeline.situations:
        mark.x, mark.y = x_of(mark.start), y
    y += LANE
    timeline.lanes["measures"] = y
    placed = []
    for mark in timeline.measures:
        if mark.start == datetime.date.max:
            continue
        mark.x = x_of(mark.start)
        mark.x2 = x_of(mark.end) if mark.end else x_of(max(mark.start, timeline.today))
        mark.y = y
        y += LANE
        placed.append(mark)
    timeline.measures = [m for m in timeline.measures if m.start != datetime.date.max] + [
        m for m in timeline.measures if m.start == datetime.date.max
    ]
    timeline.height = y + LANE
