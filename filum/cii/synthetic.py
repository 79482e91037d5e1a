"""Synthetic CII cases in bulk, for the benchmark of the monitoring report (10,000 cases) and
for tests that need many. Not imported by the app itself.

Each case is a real row set: a person, a CII dossier, a general authorisation signed on the
opening day, and the CII record with an entry profile; about two thirds of those opened long
enough ago have an exit (their dossier closed on that day). No partners are made: the report
does not read them. Everything goes in with ``bulk_create``, a few statements per thousand
cases, through the same constraints and triggers as a case opened by hand."""

from __future__ import annotations

import datetime
import random

from django.db import transaction
from django.utils import timezone

from filum.cases.models import Case, CaseStatus, Consent, Domain, Stage
from filum.cii.models import (
    BODIES_OF_KIND,
    GOAL_KEYS,
    CiiCase,
    Education,
    ExitState,
    Health,
    LanguageLevel,
    OutOfWork,
)
from filum.cii.services import CLOSURE_REASON, nationality_of
from filum.people.models import Person
from filum.tenancy.models import Organisation, User

_NATIONALITIES = ["CH"] * 46 + ["PT", "IT", "ER", "SY", "AF", "XK", "TR", "DE"] * 6 + [""] * 6


def _opening(rng: random.Random, years: tuple[int, int], today: datetime.date) -> datetime.date:
    first = datetime.date(years[0], 1, 1)
    last = min(datetime.date(years[1], 12, 31), today)
    return first + datetime.timedelta(days=rng.randrange((last - first).days + 1))


@transaction.atomic
def make_synthetic_cii_cases(
    count: int,
    *,
    owner: Organisation,
    coordinator: User,
    years: tuple[int, int],
    seed: int = 0,
    batch: int = 2000,
) -> int:
    """Make ``count`` CII cases of ``owner`` opened within ``years`` (first, last), drawn from
    ``seed``; returns how many were made."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data)
    body = BODIES_OF_KIND[owner.kind][0]
    today = timezone.localdate()
    made = 0
    while made < count:
        size = min(batch, count - made)
        persons, cases, consents, records = [], [], [], []
        for i in range(size):
            opened = _opening(rng, years, today)
            person = Person(
                last_name=f"Synthcii{seed}x{made + i}",
                first_name="Test",
                birth_date=datetime.date(rng.randrange(1960, 2004), rng.randrange(1, 13), 1),
                nationality=rng.choice(_NATIONALITIES),
                registered_by=owner,
            )
            span = (today - opened).days
            ends = span > 60 and rng.random() < 0.66
            exit_on = opened + datetime.timedelta(days=rng.randrange(30, span)) if ends else None
            state = rng.choice(ExitState.values) if exit_on else ""
            aimed = sorted(rng.sample(GOAL_KEYS, rng.randrange(1, 5)), key=GOAL_KEYS.index)
            reached: list[str] = []
            if exit_on:
                reached = [g for g in aimed if rng.random() < 0.5]
                if state == ExitState.GOALS_REACHED and not reached:
                    reached = aimed[:1]
            case = Case(
                owner=owner,
                domain=Domain.CII,
                client=person,
                responsible=coordinator,
                opened_on=opened,
                status=CaseStatus.CLOSED if exit_on else CaseStatus.OPEN,
                stage=Stage.CLOSED if exit_on else Stage.COUNSELLING,
                closed_on=exit_on,
                closure_reason=CLOSURE_REASON[ExitState(state)] if exit_on else "",
            )
            consent = Consent(
                case=case,
                owner=owner,
                person=person,
                kind=Consent.Kind.GENERAL,
                scope="CII",
                signed_on=opened,
                recorded_by=coordinator,
            )
            persons.append(person)
            cases.append(case)
            consents.append(consent)
            records.append(
                CiiCase(
                    case=case,
                    owner=owner,
                    owner_body=body,
                    coordinator=coordinator,
                    consent=consent,
                    opened_on=opened,
                    health=rng.choice(Health.values),
                    out_of_work=rng.choice(OutOfWork.values),
                    language_level=rng.choice(LanguageLevel.values),
                    education=rng.choice(Education.values + [""]),
                    nationality=nationality_of(person),
                    debts=rng.choice([True, False, None]),
                    goals_aimed=aimed,
                    exit_on=exit_on,
                    exit_state=state,
                    goals_reached=reached,
                )
            )
        Person.objects.bulk_create(persons)
        Case.objects.bulk_create(cases)
        Consent.objects.bulk_create(consents)
        CiiCase.objects.bulk_create(records)
        made += size
    return made
