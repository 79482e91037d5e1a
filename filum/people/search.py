"""Finding a person before creating one (P8): fuzzy names, birth date, AHV number.

Names are compared accent- and case-insensitively with trigram similarity (``pg_trgm``), on
indexed ``filum_fold(...)`` expressions. A hit on the AHV number always wins; otherwise name
similarity is weighed with the birth date. Candidates that the actor may not see are still
reported (to keep one record per person across organisations) but only as a hint without
personal details.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import Exists, F, FloatField, OuterRef, Q, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest

from filum.people.models import Folded, Person, PersonReach, UnitMember, person_reach
from filum.tenancy.policy import Actor

MAX_CANDIDATES = 10
NAME_THRESHOLD = 0.3  # pg_trgm's default similarity threshold (the ``%`` operator)
FIRST_NAME_THRESHOLD = 0.5
AHV_BONUS = 2.0
BIRTH_DATE_BONUS = 1.0


class Similarity(models.Func):
    """pg_trgm ``similarity(a, b)`` (0..1). As a function call it uses no trigram index,
    which is what the birth-date branch wants: scoring the few persons born that day is
    cheaper than scanning a common name's trigram postings."""

    function = "similarity"
    output_field = FloatField()


@dataclass(frozen=True)
class Candidate:
    person: Person
    score: float
    same_ahv: bool
    same_birth_date: bool
    visible: bool


def _bonus(condition: Q, points: float) -> models.Case:
    return models.Case(models.When(condition, then=Value(points)), default=Value(0.0))


def find_candidates(
    *,
    actor: Actor,
    last_name: str = "",
    first_name: str = "",
    birth_date: datetime.date | None = None,
    ahv_number: str = "",
) -> list[Candidate]:
    """Persons who may be the one being registered, best first.

    Which persons are considered, each branch served by an index:

    - the same AHV number;
    - with a birth date: everyone born that day whose last name is similar, or whose first
      name is (a typo that trigrams rate low, a name changed by marriage); also the same
      folded full name whatever the birth date (a mistyped birth date);
    - without a birth date: similar last name and, when given, similar first name.

    The score (name similarity, +2 for the same AHV number, +1 for the same birth date) is
    computed in SQL, so the limit keeps the best candidates even for very common names."""
    last_name, first_name = last_name.strip(), first_name.strip()
    if not (last_name or ahv_number):
        return []
    typed_last, typed_first = Folded(Value(last_name)), Folded(Value(first_name))
    last_similarity = Similarity(Folded("last_name"), typed_last)
    first_similarity = Similarity(Folded("first_name"), typed_first)
    match = Q(pk__in=[])
    if ahv_number:
        match |= Q(ahv_number=ahv_number)
    if last_name:
        if birth_date:
            match |= Q(birth_date=birth_date) & (
                Q(last_similarity__gte=NAME_THRESHOLD)
                | Q(first_similarity__gte=FIRST_NAME_THRESHOLD)
            )
            if first_name:
                match |= Q(folded_last=typed_last, folded_first=typed_first)
        elif first_name:
            match |= Q(folded_last__trigram_similar=typed_last) & Q(
                folded_first__trigram_similar=typed_first
            )
        else:
            match |= Q(folded_last__trigram_similar=typed_last)
    same_ahv = Q(ahv_number=ahv_number) if ahv_number else Q(pk__in=[])
    same_birth = Q(birth_date=birth_date) if birth_date else Q(pk__in=[])
    name_score = Coalesce(
        last_similarity + first_similarity / 2, Value(0.0), output_field=FloatField()
    )
    qs = (
        Person.objects.alias(
            folded_last=Folded("last_name"),
            folded_first=Folded("first_name"),
            last_similarity=last_similarity,
            first_similarity=first_similarity,
        )
        .filter(match)
        .annotate(
            score=name_score + _bonus(same_ahv, AHV_BONUS) + _bonus(same_birth, BIRTH_DATE_BONUS),
            visible=Exists(Person.objects.visible_to(actor).filter(pk=OuterRef("pk"))),
        )
        .order_by("-score", "last_name", "first_name", "id")
    )
    results = []
    for person in qs[:MAX_CANDIDATES]:
        found: Any = person
        results.append(
            Candidate(
                person=person,
                score=float(found.score),
                same_ahv=bool(ahv_number) and person.ahv_number == ahv_number,
                same_birth_date=birth_date is not None and person.birth_date == birth_date,
                visible=bool(found.visible),
            )
        )
    return results


class EqualsAny(models.Func):
    """``lhs = ANY(rhs)``, an index condition on ``lhs`` (``lhs IN (subquery)`` under an
    ``OR`` is not: it becomes a filter on every row)."""

    template = "%(expressions)s"
    arg_joiner = " = ANY"
    output_field = models.BooleanField()
    conditional = True


def _similar_names(word: str) -> RawSQL:
    """The folded names that match a typed word as the search's condition does (similar by
    trigrams, or starting with it): ``people_similar_names`` looks them up among all names
    (``FoldedName``, migration people 0005), a few hundred at most among a few thousand.
    Looked up once, in a query of its own, and given to the search as a constant array: as
    a sub-query it was computed again for each name column and each branch (four times)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT people_similar_names(%s)", [word])
        names = list(cursor.fetchone()[0] or [])
    return RawSQL("(%s::text[])", [names], output_field=TextField())


def search_visible(*, actor: Actor, text: str, limit: int = 50) -> list[Person]:
    """The person search of the UI: only persons the actor may see, by folded name, best
    match first (the sum over the typed words of the better similarity of last and first
    name; ties by folded last name, first name, id).

    Visibility first (U4): the candidates are the reach rows of the actor's organisation
    (``PersonReach``, with the folded names) whose last or first name is among the names
    similar to each word (``FoldedName``), found through the (organisation, name) indexes;
    the best ``limit`` of them, plus the matching persons of dossiers the actor sees beyond
    the organisation (shares: few). Matching the names of all 1.5 M persons first and then
    checking visibility row by row took seconds for a common name."""
    words = text.split()
    reach = person_reach(actor) if words else None
    if reach is None:
        return []
    matches = Q()
    relevance: Any = Value(0.0)
    similar = {word: _similar_names(word) for word in set(words)}
    for word in words:
        folded = Folded(Value(word))
        names = similar[word]
        matches &= EqualsAny(F("last_name"), names) | EqualsAny(F("first_name"), names)
        relevance += Greatest(Similarity("last_name", folded), Similarity("first_name", folded))
    best_own = (
        reach.own.filter(matches)
        .alias(relevance=relevance)
        .order_by("-relevance", "last_name", "first_name", "person_id")
        .values("person_id")[:limit]
    )
    beyond = reach.beyond.order_by()
    beyond_persons = beyond.values("client_id").union(
        UnitMember.objects.filter(unit_id__in=beyond.values("assistance_unit_id")).values(
            "person_id"
        )
    )
    shared = PersonReach.objects.filter(person_id__in=beyond_persons).filter(matches)
    candidates = best_own.union(shared.values("person_id"))
    folded_last, folded_first = Folded("last_name"), Folded("first_name")
    relevance_again: Any = Value(0.0)
    for word in words:
        folded = Folded(Value(word))
        relevance_again += Greatest(
            Similarity(folded_last, folded), Similarity(folded_first, folded)
        )
    return list(
        Person.objects.filter(pk__in=candidates)
        .alias(relevance=relevance_again, folded_last=folded_last, folded_first=folded_first)
        .order_by("-relevance", "folded_last", "folded_first", "id")[:limit]
    )
