"""Person-level lists (D2, D4; decision 0034): persons, also household members, with
combinable filters, one keyset page at a time or all of them for an export.

Visibility comes first: the list starts from the dossiers whose core the actor may read
(``Case.objects.visible_to`` and its owned/shared parts), narrowed by the dossier filters
(competence, dossier status, stage, segment). The persons are their clients and the members of
their assistance units; the person filters (residence status, age, duration of stay) and the
filters on what dossiers hold (measures, resources, language level) narrow that set. A measure
counts only from a dossier whose plan the actor reads, a resource or language level only from
one whose assessment the actor reads. Each person is listed once, with the matching dossiers
it belongs to; the page logs the read of each dossier it shows, and of the plan or assessment
section where a filter or column drew on it.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import EmptyResultSet
from django.db.models import (
    BooleanField,
    Exists,
    Expression,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from filum.assessments.models import CEFR_LEVELS, CEFR_RANK, AssessmentAnswer
from filum.cases.models import Case, CaseQuerySet, CaseStatus, Segment, Stage
from filum.people.models import Person, PersonReach, UnitMember
from filum.plans.models import Measure
from filum.records.models import ReadKind
from filum.records.services import log_list_reads
from filum.tenancy.policy import Actor, Section

PAGE_SIZE = 50
# The most rows an export writes; a larger result is refused with a message (decision 0034).
EXPORT_LIMIT = 20_000
# Export batches: one keyset page of this size per round trip.
EXPORT_BATCH = 2_000
# Up to this many matching own dossiers the list reads their persons as a set and sorts them;
# beyond, it walks the organisation's reach in name order (decision 0034, *Query shape*).
FEW_DOSSIERS = 1_000

COMPETENCES = ("", "mine", "own", "shared")
CASE_STATUSES = ("open", "closed", "all")
NATIONAL_LANGUAGES = ("de", "fr", "it")
LANGUAGE_FIELD = "language_levels"

# Resources (AIS rec. 21): conditions on the person's latest final assessment, by field key
# and the codes that count (the canton's default template, assessments migration 0002).
RESOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "work_capacity": ("work_capacity", ("over_half", "full")),
    "availability": ("availability", ("part_time", "full_time")),
    "work_in_switzerland": ("work_in_switzerland", ("yes",)),
    "driving_licence": ("driving_licence", ("yes",)),
    "social_network": ("social_network", ("medium", "high")),
}


@dataclass(frozen=True)
class PersonFilter:
    """A list's filter, every part optional (empty: no condition)."""

    competence: str = ""
    case_status: str = "open"
    residence_statuses: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    stay_min: int | None = None  # whole years since arrival in Switzerland
    stay_max: int | None = None
    stages: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    measure_categories: tuple[str, ...] = ()
    measure_programme: int | None = None
    measure_statuses: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    language: str = ""  # a language code; empty: the best national language (de, fr, it)
    dimension: str = "oral"
    level_min: str = ""  # a CEFR code (pre_a1 ... c2)
    level_max: str = ""

    @property
    def uses_measures(self) -> bool:
        return bool(self.measure_categories or self.measure_programme or self.measure_statuses)

    @property
    def uses_level(self) -> bool:
        return bool(self.level_min or self.level_max)


@dataclass
class ListedDossier:
    case_id: uuid.UUID
    reference: str
    owner: str
    stage: str
    segment: str
    status: str
    own: bool

    @property
    def stage_label(self) -> str:
        return str(Stage(self.stage).label)

    @property
    def segment_label(self) -> str:
        return str(Segment(self.segment).label) if self.segment else ""


@dataclass
class PersonRow:
    person: Person
    age: int | None
    stay_years: int | None
    level: str  # CEFR code of the latest level, "" when none is known
    dossiers: list[ListedDossier] = field(default_factory=list)


@dataclass
class PersonPage:
    rows: list[PersonRow]
    next_cursor: uuid.UUID | None


def years_before(day: datetime.date, years: int) -> datetime.date:
    """The same day ``years`` years earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def whole_years(since: datetime.date | None, day: datetime.date) -> int | None:
    if since is None:
        return None
    return day.year - since.year - ((day.month, day.day) < (since.month, since.day))


def _case_sources(actor: Actor, f: PersonFilter, section: str) -> list[tuple[str, CaseQuerySet]]:
    """The dossiers whose ``section`` the actor may read, as the sources of decision 0015:
    the organisation's own (read along the owner's index) and those shared with it (read from
    the share side), narrowed by the filter's dossier conditions. One ``owner = X OR EXISTS
    (share)`` query can use neither index and reads every open dossier of the canton."""
    own = Case.objects.owned_visible_to(actor, section=section)
    if f.competence == "mine":
        own = own.filter(responsible_id=actor.user.pk)
    shared = Case.objects.shared_visible_to(actor, section=section)
    sources = {
        "": [("own", own), ("shared", shared)],
        "mine": [("own", own)],
        "own": [("own", own)],
        "shared": [("shared", shared)],
    }[f.competence if f.competence in COMPETENCES else ""]
    narrowed = []
    for source, cases in sources:
        if f.case_status in CaseStatus.values:
            cases = cases.filter(status=f.case_status)
        if f.stages:
            cases = cases.filter(stage__in=f.stages)
        if f.segments:
            cases = cases.filter(segment__in=f.segments)
        narrowed.append((source, cases))
    return narrowed


def matching_cases(actor: Actor, f: PersonFilter, section: str = Section.CORE) -> CaseQuerySet:
    """The dossiers the list draws on: those whose ``section`` the actor may read, narrowed by
    the filter's dossier conditions (one query set, for lookups by dossier or person)."""
    sources = [cases for _, cases in _case_sources(actor, f, section)]
    if len(sources) == 1:
        return sources[0]
    # the sources' conditions ORed: used with a condition on a few persons or dossiers, or
    # probed by dossier key (``_readable``), never walked as a whole
    return sources[0] | sources[1]


def _readable(cases: CaseQuerySet, column: str = "case_id") -> Exists:
    """The outer row's dossier (its ``column``) is one of ``cases``: a probe by the dossier's
    key. ``case_id IN (cases)`` would first collect every dossier the actor reads."""
    return Exists(cases.filter(pk=OuterRef(column)))


class AnyExists(Expression):
    """``EXISTS (a UNION ALL b ...)``: true when one of the correlated subqueries finds a row.
    Written as one EXISTS so that PostgreSQL probes both per outer row along their indexes;
    ``EXISTS a OR EXISTS b`` is planned as two hashed sets of every matching row, computed
    before the first outer row (the whole service's dossiers for one page)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, *querysets: QuerySet[Any]) -> None:
        super().__init__(output_field=BooleanField())
        self.subqueries = [Subquery(qs.order_by().values("pk")) for qs in querysets]

    def get_source_expressions(self) -> list[Any]:
        return list(self.subqueries)

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.subqueries = list(exprs)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        parts, params = [], []
        for subquery in self.subqueries:
            sql, values = compiler.compile(subquery)
            parts.append(sql)
            params.extend(values)
        return f"EXISTS ({' UNION ALL '.join(parts)})", params


def _fold(column: str) -> Func:
    return Func(F(column), function="filum_fold", output_field=TextField())


def _persons_of(cases: CaseQuerySet) -> QuerySet[Any]:
    """The clients and household members of a few dossiers, as a set: the persons are then
    found by their key (a probe per person of the canton would walk all of them)."""
    cases = cases.order_by()  # a set: the dossiers' default order would sort each part
    units = cases.filter(assistance_unit__isnull=False).values("assistance_unit_id")
    members = UnitMember.objects.filter(unit_id__in=units).values("person_id")
    return cases.values("client_id").union(members)


def _in_cases(cases: CaseQuerySet, key: str) -> AnyExists:
    """The person (the outer query's ``key``) is the client or a household member of one of
    these dossiers, probed along the client's and the member's indexes."""
    cases = cases.order_by()
    return AnyExists(
        cases.filter(client_id=OuterRef(key)),
        cases.filter(
            assistance_unit_id__in=UnitMember.objects.filter(
                person_id=OuterRef(OuterRef(key))
            ).values("unit_id")
        ),
    )


def _latest(answers: QuerySet[AssessmentAnswer], column: str, key: str) -> Subquery:
    """The value of the person's latest answer (by assessment date, best rank that day); the
    person is the outer query's ``key``."""
    latest = answers.filter(person_id=OuterRef(key)).order_by("-assessed_on", "-rank", "-id")
    return Subquery(latest.values(column)[:1])


def _language_answers(actor: Actor, f: PersonFilter) -> QuerySet[AssessmentAnswer]:
    readable = Case.objects.visible_to(actor, section=Section.ASSESSMENT)
    languages = (f.language,) if f.language else NATIONAL_LANGUAGES
    return AssessmentAnswer.objects.filter(
        _readable(readable),
        field_key=LANGUAGE_FIELD,
        item__in=languages,
        dimension=f.dimension or "oral",
    )


def _narrowed(
    actor: Actor, f: PersonFilter, persons: QuerySet[Any], key: str, on: datetime.date
) -> QuerySet[Any]:
    """``persons`` (persons or reach rows, whose person is ``key``) narrowed by the filter's
    person conditions: their own columns first, then what their dossiers hold."""
    if f.residence_statuses:
        persons = persons.filter(residence_status__in=f.residence_statuses)
    if f.age_min is not None:
        persons = persons.filter(birth_date__lte=years_before(on, f.age_min))
    if f.age_max is not None:
        persons = persons.filter(birth_date__gt=years_before(on, f.age_max + 1))
    if f.stay_min is not None:
        persons = persons.filter(arrival_date__lte=years_before(on, f.stay_min))
    if f.stay_max is not None:
        persons = persons.filter(arrival_date__gt=years_before(on, f.stay_max + 1))
    if f.uses_measures:
        measures = measures_of(actor, f)
        persons = persons.filter(
            Exists(measures.filter(person_id=OuterRef(key)))
            | Exists(measures.filter(person__isnull=True, case__client_id=OuterRef(key)))
        )
    if f.resources:
        answers = resource_answers(actor)
        for name in f.resources:
            field_key, codes = RESOURCES[name]
            persons = persons.alias(
                **{f"res_{name}": _latest(answers.filter(field_key=field_key), "code", key)}
            ).filter(**{f"res_{name}__in": codes})
    if f.uses_level:
        persons = persons.alias(level_rank=_latest(_language_answers(actor, f), "rank", key))
    if f.level_min:
        persons = persons.filter(level_rank__gte=CEFR_RANK[f.level_min])
    if f.level_max:
        persons = persons.filter(level_rank__lte=CEFR_RANK[f.level_max])
    return persons


def _after(persons: QuerySet[Any], names: tuple[str, str, str], cursor: uuid.UUID) -> QuerySet[Any]:
    """The rows after the cursor person in the list's order (folded name, first name, id): the
    cursor is an id; its names are folded in the same query and never leave the server. The
    first condition repeats the order's first column, so that the walk starts at the cursor."""
    at = Person.objects.filter(pk=cursor)
    last = Subquery(at.annotate(n=_fold("last_name")).values("n")[:1])
    first = Subquery(at.annotate(n=_fold("first_name")).values("n")[:1])
    ln, fn, pk = names
    return persons.filter(
        Q(**{f"{ln}__gte": last}),
        Q(**{f"{ln}__gt": last})
        | Q(**{ln: last, f"{fn}__gt": first})
        | Q(**{ln: last, fn: first, f"{pk}__gt": cursor}),
    )


REACH_ORDER = ("last_name", "first_name", "person_id")
PERSON_ORDER = ("sort_last", "sort_first", "id")


def _ordered(
    actor: Actor,
    f: PersonFilter,
    *,
    on: datetime.date,
    limit: int,
    cursor: uuid.UUID | None = None,
) -> QuerySet[Any]:
    """The first ``limit`` persons of the list after ``cursor``, in the list's order (folded
    last name, folded first name, id: Müller next to Muller), as rows of those three values.

    One ordered part per source of decision 0015, each limited, merged. Where the filter
    leaves more than ``FEW_DOSSIERS`` of the organisation's own dossiers (counted up to that,
    one bounded query), their persons are reached from its reach (``PersonReach``): the walk
    goes along ``person_reach_last`` in name order, drops the persons whose copied columns fail
    the filter, probes the dossiers of the others and stops after ``limit`` rows, whatever the
    size of the service. Fewer dossiers (a rare stage, a worker's own), and the dossiers shared
    with the organisation: their persons are found from the dossiers and sorted, which a walk
    of the whole reach in search of a rare match would not beat."""
    parts: list[QuerySet[Any]] = []
    first: tuple[str, ...] = REACH_ORDER  # a union is ordered by its first part's names
    for source, cases in _case_sources(actor, f, Section.CORE):
        if cases.query.is_empty():
            continue
        rows: QuerySet[Any]
        if source == "own" and _many(cases):
            rows = PersonReach.objects.filter(organisation_id=actor.organisation_id)
            rows = _narrowed(actor, f, rows, "person_id", on)
            rows = rows.filter(_in_cases(cases, "person_id"))
            names = REACH_ORDER
        else:
            rows = Person.objects.annotate(
                sort_last=_fold("last_name"), sort_first=_fold("first_name")
            )
            rows = _narrowed(actor, f, rows.filter(pk__in=_persons_of(cases)), "pk", on)
            names = PERSON_ORDER
        if cursor is not None:
            rows = _after(rows, names, cursor)
        parts.append(rows.order_by(*names).values_list(*names)[:limit])
        first = first if len(parts) > 1 else names
    if not parts:
        return PersonReach.objects.none().values_list(*REACH_ORDER)
    if len(parts) == 1:
        return parts[0]
    return parts[0].union(*parts[1:]).order_by(*first)[:limit]


def _many(cases: CaseQuerySet) -> bool:
    """More than ``FEW_DOSSIERS`` dossiers: whether one lies past that many, along the owner's
    index (nothing is sent back but the answer)."""
    return cases.order_by()[FEW_DOSSIERS : FEW_DOSSIERS + 1].exists()


def ordered_ids(
    actor: Actor,
    f: PersonFilter,
    *,
    on: datetime.date,
    limit: int,
    cursor: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """The ids of the first ``limit`` persons of the list after ``cursor``, in its order."""
    return [row[2] for row in _ordered(actor, f, on=on, limit=limit, cursor=cursor)]


def _annotated(actor: Actor, f: PersonFilter) -> QuerySet[Person]:
    """Persons with their latest language level (``level_rank``), the dossier it comes from
    (``level_case``) and their households (``unit_ids``)."""
    language = _language_answers(actor, f)
    units = UnitMember.objects.filter(person_id=OuterRef("pk")).order_by().values("unit_id")
    return Person.objects.annotate(
        level_rank=_latest(language, "rank", "pk"),
        level_case=_latest(language, "case_id", "pk"),
        unit_ids=ArraySubquery(units),
    )


def page_persons(
    actor: Actor,
    f: PersonFilter,
    *,
    on: datetime.date,
    limit: int,
    cursor: uuid.UUID | None = None,
) -> list[Person]:
    """The first ``limit`` persons of the list after ``cursor``, annotated, in one query: the
    ordered ids (``_ordered``) are its subquery, the page sorted again by the same keys."""
    ordered = _ordered(actor, f, on=on, limit=limit, cursor=cursor)
    try:
        sql, params = ordered.query.sql_with_params()
    except EmptyResultSet:
        return []
    # the inner SQL is the ORM's own compilation, every value in ``params``
    wrapped = f"SELECT x.person FROM ({sql}) AS x(last, first, person)"  # noqa: S608
    ids = RawSQL(wrapped, params)  # noqa: S611
    return list(
        _annotated(actor, f)
        .annotate(sort_last=_fold("last_name"), sort_first=_fold("first_name"))
        .filter(pk__in=ids)
        .order_by("sort_last", "sort_first", "id")
    )


def persons_by_id(actor: Actor, f: PersonFilter, ids: list[uuid.UUID]) -> list[Person]:
    """The persons of ``ids``, annotated (``_annotated``), in that order."""
    found = _annotated(actor, f).filter(pk__in=ids)
    by_id = {p.pk: p for p in found}
    return [by_id[pk] for pk in ids if pk in by_id]


def measures_of(actor: Actor, f: PersonFilter) -> QuerySet[Measure]:
    """The measures the filter asks for, in matching dossiers whose plan the actor reads."""
    readable = matching_cases(actor, f, section=Section.PLAN)
    measures = Measure.objects.filter(_readable(readable))
    if f.measure_categories:
        measures = measures.filter(category__in=f.measure_categories)
    if f.measure_programme:
        measures = measures.filter(programme_id=f.measure_programme)
    if f.measure_statuses:
        measures = measures.filter(status__in=f.measure_statuses)
    return measures


def resource_answers(actor: Actor) -> QuerySet[AssessmentAnswer]:
    readable = Case.objects.visible_to(actor, section=Section.ASSESSMENT)
    return AssessmentAnswer.objects.filter(_readable(readable))


def _dossiers(
    actor: Actor, f: PersonFilter, persons: list[Person]
) -> tuple[dict[uuid.UUID, list[ListedDossier]], set[uuid.UUID]]:
    """The matching dossiers of the page's persons (one query), and those among them whose
    plan holds a measure the filter asked for (the plan section was read for them). Two parts,
    the dossiers of the persons as clients and those of their households (``unit_ids``, read
    with the persons), each found along its index; one ``client OR household`` condition is
    read by walking every dossier."""
    person_ids = [p.pk for p in persons]
    unit_ids = sorted({unit for p in persons for unit in getattr(p, "unit_ids", None) or ()})
    cases = matching_cases(actor, f)
    if f.uses_measures:
        cases = cases.annotate(
            measure_hit=Exists(measures_of(actor, f).filter(case=OuterRef("pk")))
        )
    columns = [
        "pk",
        "number",
        "opened_on",
        "client_id",
        "assistance_unit__members__person_id",
        "owner_id",
        "owner__name",
        "stage",
        "segment",
        "status",
        *(["measure_hit"] if f.uses_measures else []),
    ]
    as_client = cases.filter(client_id__in=person_ids).order_by().values(*columns)
    in_household = cases.filter(assistance_unit_id__in=unit_ids).order_by().values(*columns)
    rows = as_client.union(in_household, all=True).order_by("-opened_on", "-number")
    wanted = set(person_ids)
    found: dict[uuid.UUID, list[ListedDossier]] = {}
    plan_read: set[uuid.UUID] = set()
    for row in rows:
        for person_id in (row["client_id"], row["assistance_unit__members__person_id"]):
            if person_id not in wanted:
                continue
            listed = found.setdefault(person_id, [])
            if any(d.case_id == row["pk"] for d in listed):
                continue
            listed.append(
                ListedDossier(
                    case_id=row["pk"],
                    reference=Case(number=row["number"]).reference,
                    owner=row["owner__name"],
                    stage=row["stage"],
                    segment=row["segment"],
                    status=row["status"],
                    own=row["owner_id"] == actor.organisation_id,
                )
            )
        if row.get("measure_hit"):
            plan_read.add(row["pk"])
    return found, plan_read


def _rows(
    actor: Actor, f: PersonFilter, persons: list[Person], on: datetime.date
) -> tuple[list[PersonRow], dict[str, set[uuid.UUID]]]:
    """The page's rows and, per section, the dossiers it read."""
    dossiers, plan_read = _dossiers(actor, f, persons)
    rows = []
    reads: dict[str, set[uuid.UUID]] = {
        Section.CORE: set(),
        Section.PLAN: plan_read,
        Section.ASSESSMENT: set(),
    }
    for person in persons:
        rank = getattr(person, "level_rank", None)
        row = PersonRow(
            person=person,
            age=whole_years(person.birth_date, on),
            stay_years=whole_years(person.arrival_date, on),
            level=CEFR_LEVELS[rank] if rank is not None else "",
            dossiers=dossiers.get(person.pk, []),
        )
        rows.append(row)
        reads[Section.CORE].update(d.case_id for d in row.dossiers)
        level_case = getattr(person, "level_case", None)
        if level_case is not None:
            reads[Section.ASSESSMENT].add(level_case)
    if f.resources:
        # the resources were read from the listed persons' assessments in these dossiers
        reads[Section.ASSESSMENT] |= reads[Section.CORE]
    return rows, reads


def log_reads(
    actor: Actor, reads: dict[str, set[uuid.UUID]], *, kind: str = ReadKind.VIEW, path: str = ""
) -> None:
    for section, case_ids in reads.items():
        log_list_reads(
            actor=actor, case_ids=sorted(case_ids), section=section, kind=kind, path=path
        )


def person_page(
    actor: Actor,
    f: PersonFilter,
    *,
    cursor: uuid.UUID | None,
    path: str = "",
    size: int | None = None,
) -> PersonPage:
    """One page of the list after ``cursor``, its reads logged. A fixed number of queries:
    the persons of the page, their dossiers, and the read log (one insert per section)."""
    on = timezone.localdate()
    size = size or PAGE_SIZE
    found = page_persons(actor, f, on=on, limit=size + 1, cursor=cursor)
    more = len(found) > size
    found = found[:size]
    rows, reads = _rows(actor, f, found, on)
    log_reads(actor, reads, path=path)
    return PersonPage(rows=rows, next_cursor=found[-1].pk if more and found else None)


def count_up_to(actor: Actor, f: PersonFilter, limit: int) -> int:
    """How many persons the filter matches, counted up to ``limit + 1`` (an export checks it
    stays within its limit without counting a million rows)."""
    return len(ordered_ids(actor, f, on=timezone.localdate(), limit=limit + 1))


def export_ids(actor: Actor, f: PersonFilter) -> list[uuid.UUID]:
    """The matching persons' ids in the list's order, at most ``EXPORT_LIMIT`` + 1 (which the
    export refuses): the filter is applied once, here."""
    return ordered_ids(actor, f, on=timezone.localdate(), limit=EXPORT_LIMIT + 1)


def export_batches(
    actor: Actor,
    f: PersonFilter,
    ids: list[uuid.UUID],
    *,
    path: str = "",
    batch: int = EXPORT_BATCH,
) -> Iterator[list[PersonRow]]:
    """The rows of ``ids`` (from ``export_ids``) by batches; each batch's reads are logged as
    an export when it is read. Each batch reads its persons by id: applying the filter again
    for each keyset batch read every matching dossier and person of the service again (a
    10,000-row export took 12 s)."""
    on = timezone.localdate()
    for start in range(0, len(ids), batch):
        found = persons_by_id(actor, f, ids[start : start + batch])
        rows, reads = _rows(actor, f, found, on)
        log_reads(actor, reads, kind=ReadKind.EXPORT, path=path)
        yield rows


def describe(f: PersonFilter) -> dict[str, Any]:
    """The filter's set parts (for the files' filter block), by field name."""
    return {
        name: value
        for name, value in f.__dict__.items()
        if value not in ("", (), None) and not (name == "dimension" and not f.uses_level)
    }
