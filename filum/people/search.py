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

from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Exists, F, FloatField, OuterRef, Q, Value
from django.db.models.functions import Coalesce, Greatest

from filum.people.models import Folded, Person
from filum.tenancy.policy import Actor

MAX_CANDIDATES = 10
NAME_THRESHOLD = 0.3


@dataclass(frozen=True)
class Candidate:
    person: Person
    score: float
    same_ahv: bool
    same_birth_date: bool
    visible: bool


def find_candidates(
    *,
    actor: Actor,
    last_name: str = "",
    first_name: str = "",
    birth_date: datetime.date | None = None,
    ahv_number: str = "",
) -> list[Candidate]:
    last_name, first_name = last_name.strip(), first_name.strip()
    if not (last_name or ahv_number):
        return []
    match = Q(pk__in=[])
    if ahv_number:
        match |= Q(ahv_number=ahv_number)
    if last_name:
        name_match = Q(folded_last__trigram_similar=Folded(Value(last_name)))
        if birth_date:
            # Same birth date and a similar name, or an almost identical full name.
            match |= (name_match & Q(birth_date=birth_date)) | Q(
                folded_last=Folded(Value(last_name)), folded_first=Folded(Value(first_name))
            )
        else:
            match |= name_match
    qs = (
        Person.objects.annotate(
            folded_last=Folded("last_name"),
            folded_first=Folded("first_name"),
        )
        .filter(match)
        .annotate(
            name_score=Coalesce(
                TrigramSimilarity(Folded("last_name"), Folded(Value(last_name)))
                + TrigramSimilarity(Folded("first_name"), Folded(Value(first_name))) / 2,
                Value(0.0),
                output_field=FloatField(),
            ),
            visible=Exists(Person.objects.visible_to(actor).filter(pk=OuterRef("pk"))),
        )
        .annotate(score=Greatest(F("name_score"), Value(0.0)))
        .order_by("-score", "last_name", "first_name", "id")
    )
    results = []
    for person in qs[: MAX_CANDIDATES * 3]:
        same_ahv = bool(ahv_number) and person.ahv_number == ahv_number
        same_birth = birth_date is not None and person.birth_date == birth_date
        score = float(person.score) + (2.0 if same_ahv else 0.0) + (1.0 if same_birth else 0.0)
        results.append(
            Candidate(
                person=person,
                score=score,
                same_ahv=same_ahv,
                same_birth_date=same_birth,
                visible=bool(person.visible),
            )
        )
    results.sort(key=lambda c: (-c.score, c.person.last_name, c.person.first_name))
    return results[:MAX_CANDIDATES]


def search_visible(*, actor: Actor, text: str, limit: int = 50) -> list[Person]:
    """The person search of the UI: only persons the actor may see, by folded name."""
    text = text.strip()
    if not text:
        return []
    parts = text.split()
    qs = Person.objects.visible_to(actor).annotate(
        folded_last=Folded("last_name"), folded_first=Folded("first_name")
    )
    condition = Q()
    for part in parts:
        folded = Folded(Value(part))
        condition &= (
            Q(folded_last__trigram_similar=folded)
            | Q(folded_first__trigram_similar=folded)
            | Q(folded_last__startswith=folded)
            | Q(folded_first__startswith=folded)
        )
    return list(qs.filter(condition).order_by("last_name", "first_name", "id")[:limit])
