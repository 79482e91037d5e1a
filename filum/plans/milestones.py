"""The AIS milestones of one person as pure functions: no database, no clock, no translation
(requirements I4, I5; decision 0021).

A person's AIS period starts on the arrival date and lasts 5 years for recognised refugees
(``B_FL``, ``F_FL``) and 7 years for provisionally admitted persons (``F``). The canton's
milestone rules (``MilestoneRule``, one row per key valid from a date) say when a milestone
falls due (``years`` after the arrival), for which ages on that day, and how long before it a
milestone not met is "at risk" (``warning_months``). Whether it is met is read from plain facts:

* ``language_a1``: the latest final assessment with an oral level in a national language
  (de, fr, it) on or before the day shows A1 or better (rank >= 1);
* ``education_16_25``: the latest education entry on or before the day is post-compulsory
  education;
* ``labour_market``: the latest work entry on or before the day is the first labour market.

The day is the due date, or today while it has not come. A milestone is *met* when that holds,
*missed* when its due date has passed without it, *at risk* from ``warning_months`` before the
due date up to and including that day, and *pending* before. A milestone whose due date lies
beyond the person's AIS period does not apply; nor do the age-bound milestones while the birth
date is unknown.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from filum.dates import add_months

LANGUAGE_A1, EDUCATION_16_25, LABOUR_MARKET = "language_a1", "education_16_25", "labour_market"
MILESTONE_KEYS = (LANGUAGE_A1, EDUCATION_16_25, LABOUR_MARKET)
MET, AT_RISK, MISSED, PENDING = "met", "at_risk", "missed", "pending"

# Residence status codes (``Person.residence_status``) and the length of the AIS period.
REFUGEE_STATUSES = frozenset({"B_FL", "F_FL"})
PROVISIONAL_STATUSES = frozenset({"F"})
REFUGEE_YEARS, PROVISIONAL_YEARS = 5, 7

# Situation entries (``SituationEntry.kind`` and ``value``).
EDUCATION, WORK, RESIDENCE = "education", "work", "residence"
POST_COMPULSORY = "post_compulsory"
FIRST_LABOUR_MARKET = "first_labour_market"
# A1 on the CEFR ranks of the assessments (pre-A1 = 0, A1 = 1 ... C2 = 6).
A1_RANK = 1


@dataclass(frozen=True)
class MilestoneNorm:
    key: str
    years: int
    min_age: int
    max_age: int | None = None
    warning_months: int = 12


# The rows the plans migration seeds (a test compares them).
DEFAULT_MILESTONES = (
    MilestoneNorm(LANGUAGE_A1, 3, 5),
    MilestoneNorm(EDUCATION_16_25, 5, 16, 25),
    MilestoneNorm(LABOUR_MARKET, 7, 18),
)


@dataclass(frozen=True)
class Situation:
    on: datetime.date
    kind: str
    value: str


@dataclass(frozen=True)
class PersonFacts:
    """What the milestones need of one person. ``language_levels``: per final assessment with
    an oral level in a national language, its date and the best such rank, by date."""

    id: str
    name: str
    birth_date: datetime.date | None
    arrival_date: datetime.date | None
    residence_status: str
    language_levels: tuple[tuple[datetime.date, int], ...] = ()
    situations: tuple[Situation, ...] = ()


@dataclass(frozen=True)
class MilestoneState:
    key: str
    due: datetime.date
    state: str
    at_risk_from: datetime.date

    @property
    def is_open(self) -> bool:
        return self.state in (AT_RISK, MISSED)


def horizon_years(residence_status: str) -> int | None:
    """The length of the AIS period: 5 years for refugees, 7 for provisionally admitted
    persons, None for anyone else."""
    if residence_status in REFUGEE_STATUSES:
        return REFUGEE_YEARS
    if residence_status in PROVISIONAL_STATUSES:
        return PROVISIONAL_YEARS
    return None


def residence_on(person: PersonFacts, day: datetime.date) -> str:
    """The residence status on a day: the latest residence entry on or before it, else the
    person's recorded status."""
    return _latest(sorted(person.situations, key=lambda s: s.on), RESIDENCE, day) or (
        person.residence_status
    )


def horizon_end(person: PersonFacts, as_of: datetime.date) -> datetime.date | None:
    """The end of the person's AIS period (None outside one)."""
    years = horizon_years(residence_on(person, as_of))
    if years is None or person.arrival_date is None:
        return None
    return add_months(person.arrival_date, 12 * years)


def age_on(birth: datetime.date, day: datetime.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _latest(situations: Iterable[Situation], kind: str, day: datetime.date) -> str:
    value = ""
    for entry in situations:
        if entry.kind == kind and entry.on <= day:
            value = entry.value
    return value


def is_met(key: str, person: PersonFacts, day: datetime.date) -> bool:
    if key == LANGUAGE_A1:
        ranks = [rank for on, rank in person.language_levels if on <= day]
        return bool(ranks) and ranks[-1] >= A1_RANK
    situations = sorted(person.situations, key=lambda s: s.on)
    if key == EDUCATION_16_25:
        return _latest(situations, EDUCATION, day) == POST_COMPULSORY
    if key == LABOUR_MARKET:
        return _latest(situations, WORK, day) == FIRST_LABOUR_MARKET
    return False


def applies(
    norm: MilestoneNorm, person: PersonFacts, due: datetime.date, as_of: datetime.date
) -> bool:
    end = horizon_end(person, as_of)
    if end is None or due > end or person.birth_date is None:
        return False
    age = age_on(person.birth_date, due)
    return age >= norm.min_age and (norm.max_age is None or age <= norm.max_age)


def milestone_states(
    person: PersonFacts, norms: Sequence[MilestoneNorm], as_of: datetime.date
) -> list[MilestoneState]:
    """The milestones that apply to the person, with their state as of a date."""
    if person.arrival_date is None:
        return []
    states = []
    for norm in norms:
        due = add_months(person.arrival_date, 12 * norm.years)
        if not applies(norm, person, due, as_of):
            continue
        at_risk_from = add_months(due, -norm.warning_months)
        if is_met(norm.key, person, min(as_of, due)):
            state = MET
        elif as_of > due:
            state = MISSED
        elif as_of >= at_risk_from:
            state = AT_RISK
        else:
            state = PENDING
        states.append(MilestoneState(norm.key, due, state, at_risk_from))
    return states


def norms_on(
    rows: Iterable[tuple[datetime.date, str, MilestoneNorm]], as_of: datetime.date
) -> tuple[MilestoneNorm, ...]:
    """The milestone norms in force on a date from the rows a dossier's canton sees
    ``(valid_from, canton, norm)``: per key, a row of the canton itself wins over the rows for
    every canton (canton ""), then the latest start."""
    chosen: dict[str, tuple[bool, datetime.date, MilestoneNorm]] = {}
    for valid_from, canton, norm in rows:
        if valid_from > as_of:
            continue
        rank = (bool(canton), valid_from, norm)
        if norm.key not in chosen or rank[:2] > chosen[norm.key][:2]:
            chosen[norm.key] = rank
    return tuple(chosen[key][2] for key in MILESTONE_KEYS if key in chosen)


def _day(value: str | datetime.date | None) -> datetime.date | None:
    if isinstance(value, datetime.date) or value is None:
        return value
    return datetime.date.fromisoformat(value) if value else None


def language_levels(
    rows: Iterable[tuple[str, datetime.date, int]],
) -> tuple[tuple[datetime.date, int], ...]:
    """Per assessment (id, date, rank of one oral national-language level): its date and its
    best rank, by date."""
    best: dict[str, tuple[datetime.date, int]] = {}
    for assessment, on, rank in rows:
        if assessment not in best or rank > best[assessment][1]:
            best[assessment] = (on, rank)
    return tuple(sorted(best.values(), key=lambda item: item[0]))


def person_facts_from_json(data: Mapping[str, Any]) -> PersonFacts:
    """A person's facts as the dossier query returns them (JSON, dates as ISO text)."""
    return PersonFacts(
        id=str(data["id"]),
        name=f"{data['first_name']} {data['last_name']}",
        birth_date=_day(data.get("birth_date")),
        arrival_date=_day(data.get("arrival_date")),
        residence_status=data.get("residence_status") or "",
        language_levels=language_levels(
            (str(item["a"]), datetime.date.fromisoformat(item["on"]), int(item["rank"]))
            for item in data.get("levels") or ()
        ),
        situations=tuple(
            Situation(datetime.date.fromisoformat(item["on"]), item["kind"], item["value"])
            for item in data.get("situations") or ()
        ),
    )


def rules_from_json(
    data: Iterable[Mapping[str, Any]],
) -> tuple[tuple[datetime.date, str, MilestoneNorm], ...]:
    return tuple(
        (
            _day(item["valid_from"]) or datetime.date.min,
            item["canton"],
            MilestoneNorm(
                item["key"], item["years"], item["min_age"], item["max_age"], item["warning_months"]
            ),
        )
        for item in data
    )
