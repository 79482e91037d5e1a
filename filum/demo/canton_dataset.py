"""The canton dataset in the demo (decision 0032): an AIS cohort large enough for the canton
analyst's indicators to show figures (cells of fewer than 5 persons are hidden), then the
first extract, so the analyst signs in to the AIS indicators with their charts.

The cohort: provisionally admitted persons and recognised refugees in the asylum dossiers of
Bienne, Thun, Bern-Mittelland and the Jura bernois, arrived 3 to 8 years ago, each with an
integration plan, a final assessment of their oral language level and, for some, post-compulsory
education or work in the first labour market, written through the domain services as the
dossier's worker. Deterministic (its own random stream)."""

from __future__ import annotations

import datetime
import random
from typing import Any

from filum.cases import services as case_services
from filum.dates import add_months
from filum.demo.integration import PLAN_TEMPLATE, Integration, levels, situations
from filum.people.models import Person
from filum.plans.models import PlanTemplate
from filum.steering.extract import extract_canton, extract_cantons

# the worker's login and how many dossiers of the cohort they hold
COHORT = (
    ("as.bienne", 14),
    ("as2.bienne", 10),
    ("sa.thun", 12),
    ("sa2.thun", 10),
    ("sa.bern", 12),
    ("as.jb", 8),
)
FIRST = "Abdi Amina Yonas Saba Karim Nadia Tesfay Leila Omar Hiwet Samir Zahra Dawit".split()
FIRST += "Fatima Hamid Rahel Ali Selam Yusuf Mona".split()
LAST = "Tesfamariam Haidari Abdullahi Kidane Rahimi Mohamed Ghebre Nazari Hassan".split()
LAST += "Berhane Sultani Osman Yohannes Karimi Ahmed Tekle".split()
NATIONALITY = ("ER", "AF", "SO", "SY")
LEVELS = ("pre_a1", "a1", "a1", "a2", "a2", "b1")


def _answers(language: str, oral: str, young: bool) -> dict[str, Any]:
    return {
        "first_language": "prs",
        "work_capacity": "full",
        "care_duties": False,
        "main_goal": "education" if young else "labour_market",
        "school_years": "9",
        "education_level": "lower_secondary",
        "work_experience": "none" if young else "over_five",
        "language_levels": levels((language, oral, oral)),
        "potential": "medium",
        "availability": "full_time",
        "dependent_children": "0",
    }


def ais_cohort(ctx: Any) -> int:
    it = Integration(ctx)
    it.template = PlanTemplate.objects.filter(name=PLAN_TEMPLATE).first()
    rng = random.Random(ctx.seed * 1000 + 32)  # noqa: S311 (demo data)
    today: datetime.date = ctx.today
    made = 0
    for login, count in COHORT:
        actor = ctx.actors[login]
        language = "de" if login.endswith(("thun", "bern")) else "fr"
        for _ in range(count):
            arrival = add_months(today, -rng.randint(40, 100))
            young = rng.random() < 0.45
            age = rng.randint(17, 24) if young else rng.randint(26, 50)
            birth = add_months(arrival, 60 - 12 * age - rng.randint(0, 11))
            person = Person.objects.create(
                registered_by_id=actor.organisation_id,
                last_name=rng.choice(LAST),
                first_name=rng.choice(FIRST),
                sex=rng.choice("fm"),
                birth_date=birth,
                nationality=rng.choice(NATIONALITY),
                residence_status="F" if rng.random() < 0.6 else "B_FL",
                arrival_date=arrival,
            )
            opened = add_months(arrival, 2)
            case = case_services.do_open_case(
                actor=actor,
                client=person,
                domain="asylum_aid",
                opened_on=opened,
                responsible=actor.user,
                title="AIS",
            )
            it.plan(actor, case, ["assessment", "employability", "labour_market"])
            assessed = add_months(arrival, rng.randint(18, 33))
            it.assessment(
                actor, case, person, assessed, _answers(language, rng.choice(LEVELS), young)
            )
            entries = []
            if young and rng.random() < 0.6:
                entries.append(("education", "post_compulsory", add_months(arrival, 50)))
            if not young and rng.random() < 0.45:
                entries.append(("work", "first_labour_market", add_months(arrival, 70)))
            situations(it, actor, case, person, *[e for e in entries if e[2] <= today])
            made += 1
    ctx.counts["AIS cohort dossiers"] += made
    return made


def step_canton_dataset(ctx: Any) -> None:
    """The last step of the demo seed: the AIS cohort, the nightly rules again (so the
    cohort's lights and rule tasks are there, as for the other dossiers), then every canton's
    first extract."""
    from filum.followup.nightly import run_nightly_rules

    ais_cohort(ctx)
    run_nightly_rules(as_of=ctx.today)
    for canton in extract_cantons():
        extract_canton(canton, as_of=ctx.today)
