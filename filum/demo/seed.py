"""Demo data: Bernese organisations, a user for every role, persons, households and dossiers.

Two sizes share the organisations and the demo logins:

- ``demo`` (the run command's first start): a few hundred persons, written through the
  domain services (``filum.cases.services``), so the audit triggers record everything;
- a number of persons (``--size 1500000`` is Bern's ten-year volume): bulk-loaded with
  PostgreSQL ``COPY`` by ``filum.demo.volume``, for benchmarks.

The generator is a list of steps run in order on one ``SeedContext``; an app that wants demo
data of its own (journal entries, tasks, ...) adds a step to ``DEMO_STEPS`` (and, for the
volume, to ``demo_volume.VOLUME_STEPS``) that reads the dossiers made before it.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone
from faker import Faker
from stdnum import ean

from filum.cases import services as case_services
from filum.cases.models import Case, ClosureReason, Domain, Share, Stage
from filum.demo import measures_indicator, person_lists
from filum.demo.indicator_editor import step_indicator_editor
from filum.demo.mfa import require_demo_mfa
from filum.demo.retention import step_retention
from filum.demo.shs import step_shs
from filum.demo.steering import step_steering
from filum.demo.subject_access import step_subject_access
from filum.people.models import (
    AssistanceUnit,
    Person,
    RelationToHead,
    ResidenceStatus,
    UnitMember,
)
from filum.tenancy.models import (
    Commune,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    Team,
    User,
)
from filum.tenancy.policy import Actor

# Shared by every demo login; documented in the README and printed by `demo_logins`.
DEMO_PASSWORD = "filum-demo-2026"  # noqa: S105 (public demo data, never a real account)
DEMO_EMAIL_DOMAIN = "demo.filum.example"
# Demo organisations that require two-factor sign-in (their users share the demo TOTP key).
DEMO_MFA_ORGS = ("jb",)


@dataclass(frozen=True)
class CommuneFact:
    bfs_number: int
    name: str
    postal_code: str
    language: str


# Bernese communes with their BFS numbers (checked against the official register; Moutier is
# left out because it belongs to the canton of Jura since 1 January 2026).
COMMUNES: tuple[CommuneFact, ...] = (
    CommuneFact(371, "Biel/Bienne", "2502", "fr"),
    CommuneFact(372, "Evilard", "2533", "fr"),
    CommuneFact(743, "Nidau", "2560", "fr"),
    CommuneFact(733, "Brügg", "2555", "de"),
    CommuneFact(745, "Port", "2562", "de"),
    CommuneFact(443, "Saint-Imier", "2610", "fr"),
    CommuneFact(446, "Tramelan", "2720", "fr"),
    CommuneFact(434, "Courtelary", "2608", "fr"),
    CommuneFact(448, "Villeret", "2613", "fr"),
    CommuneFact(942, "Thun", "3600", "de"),
    CommuneFact(939, "Steffisburg", "3612", "de"),
    CommuneFact(768, "Spiez", "3700", "de"),
    CommuneFact(581, "Interlaken", "3800", "de"),
    CommuneFact(351, "Bern", "3011", "de"),
    CommuneFact(355, "Köniz", "3098", "de"),
    CommuneFact(363, "Ostermundigen", "3072", "de"),
    CommuneFact(616, "Münsingen", "3110", "de"),
    CommuneFact(404, "Burgdorf", "3400", "de"),
    CommuneFact(329, "Langenthal", "4900", "de"),
    CommuneFact(306, "Lyss", "3250", "de"),
)
COMMUNE_BY_BFS = {c.bfs_number: c for c in COMMUNES}


@dataclass(frozen=True)
class OrgSpec:
    key: str
    name: str
    kind: str
    language: str
    communes: tuple[int, ...] = ()

    @property
    def teams(self) -> tuple[str, ...]:
        if self.kind != OrganisationKind.SOCIAL_SERVICE:
            return ()
        return TEAMS[self.language]


TEAMS = {"fr": ("Intake", "Conseil 1", "Conseil 2"), "de": ("Intake", "Beratung 1", "Beratung 2")}

DEMO_ORGS: tuple[OrgSpec, ...] = (
    OrgSpec(
        "bienne",
        "Service social régional Bienne-Nidau",
        OrganisationKind.SOCIAL_SERVICE,
        "fr",
        (371, 372, 743, 733, 745),
    ),
    OrgSpec("thun", "Sozialdienst Thun", OrganisationKind.SOCIAL_SERVICE, "de", (942, 939, 768)),
    OrgSpec(
        "jb",
        "Service social régional du Jura bernois",
        OrganisationKind.SOCIAL_SERVICE,
        "fr",
        (443, 446, 434, 448),
    ),
    OrgSpec(
        "bern",
        "Sozialdienst Bern-Mittelland",
        OrganisationKind.SOCIAL_SERVICE,
        "de",
        (351, 355, 363, 616),
    ),
    OrgSpec(
        "kesb", "APEA Biel/Bienne – KESB Biel/Bienne", OrganisationKind.PROTECTION_AUTHORITY, "fr"
    ),
    OrgSpec(
        "ssip",
        "Insertion professionnelle Bienne-Seeland (SSIP)",
        OrganisationKind.INTEGRATION_PARTNER,
        "fr",
    ),
    OrgSpec(
        "canton",
        "Office de l'intégration et de l'action sociale (OIAS)",
        OrganisationKind.CANTON_OFFICE,
        "fr",
    ),
    # the partners of CII cases (X5): the canton's invalidity insurance office and a regional
    # employment office of the unemployment insurance
    OrgSpec("iv", "IV-Stelle Kanton Bern", OrganisationKind.CII_PARTNER, "de"),
    OrgSpec("rav", "ORP Bienne-Seeland – RAV Biel-Seeland", OrganisationKind.CII_PARTNER, "fr"),
)


@dataclass(frozen=True)
class LoginSpec:
    username: str
    org: str
    role: str
    team: str = ""
    language: str = "fr"


# Memorable logins, one or more for every role (Role): "as" = assistant·e social·e,
# "rs" = responsable de secteur, "sa" = Sozialarbeiter/in, "bl" = Bereichsleitung, ...
DEMO_LOGINS: tuple[LoginSpec, ...] = (
    LoginSpec("as.bienne", "bienne", Role.SOCIAL_WORKER, "Conseil 1"),
    LoginSpec("as2.bienne", "bienne", Role.SOCIAL_WORKER, "Conseil 2"),
    LoginSpec("rs.bienne", "bienne", Role.SECTION_HEAD, "Conseil 1"),
    LoginSpec("aadmin.bienne", "bienne", Role.ADMIN_ASSISTANT, "Conseil 1"),
    LoginSpec("intake.bienne", "bienne", Role.INTAKE_WORKER, "Intake"),
    LoginSpec("su.bienne", "bienne", Role.SUPER_USER),
    LoginSpec("dpo.bienne", "bienne", Role.DATA_PROTECTION_OFFICER),
    LoginSpec("sa.thun", "thun", Role.SOCIAL_WORKER, "Beratung 1", "de"),
    LoginSpec("sa2.thun", "thun", Role.SOCIAL_WORKER, "Beratung 2", "de"),
    LoginSpec("bl.thun", "thun", Role.SECTION_HEAD, "Beratung 1", "de"),
    LoginSpec("sb.thun", "thun", Role.ADMIN_ASSISTANT, "Beratung 1", "de"),
    LoginSpec("intake.thun", "thun", Role.INTAKE_WORKER, "Intake", "de"),
    LoginSpec("su.thun", "thun", Role.SUPER_USER, "", "de"),
    LoginSpec("dpo.thun", "thun", Role.DATA_PROTECTION_OFFICER, "", "de"),
    LoginSpec("as.jb", "jb", Role.SOCIAL_WORKER, "Conseil 1"),
    LoginSpec("sa.bern", "bern", Role.SOCIAL_WORKER, "Beratung 1", "de"),
    LoginSpec("ssip", "ssip", Role.PARTNER_STAFF),
    LoginSpec("su.ssip", "ssip", Role.SUPER_USER),
    LoginSpec("kesb", "kesb", Role.PROTECTION_STAFF),
    LoginSpec("canton", "canton", Role.CANTON_ANALYST),
    LoginSpec("integration.canton", "canton", Role.CANTON_OFFICER),
    # case workers of the CII partners: invalidity insurance (IV/AI), unemployment (RAV/ORP)
    LoginSpec("iv.bern", "iv", Role.PARTNER_STAFF, "", "de"),
    LoginSpec("orp.bienne", "rav", Role.PARTNER_STAFF),
)


# --- cheap random data ---------------------------------------------------------------------

# Transliterated names for origins Faker has no Latin-script locale for (asylum and
# protection-status countries common in Bern's caseload).
# (last names, female first names, male first names), separated by spaces.
_HAND_NAMES: dict[str, tuple[str, str, str]] = {
    "er": (
        "Tesfay Haile Gebremedhin Tekle Berhane Kidane Ghebreyesus Mehari Abraham Tewolde "
        "Yohannes Woldu Asmerom Habte Ghirmay Kahsay Negash Zerai Okbay Measho",
        "Selam Helen Senait Yohana Saba Luwam Rahel Feven Winta",
        "Yonas Dawit Samuel Filmon Robel Tesfalem Merhawi Habtom Amanuel",
    ),
    "af": (
        "Ahmadi Hosseini Rahimi Mohammadi Karimi Sultani Noori Haidari Azizi Jafari Rezaei "
        "Sadat Amiri Hashimi Nazari Qasemi Safi Wardak Popal Stanikzai",
        "Fatima Zahra Maryam Shabnam Nadia Farida Soraya Mina Parisa",
        "Ahmad Ali Mohammad Reza Mustafa Hamid Javad Naveed Farhad",
    ),
    "sy": (
        "Al-Ahmad Haddad Khalil Hassan Ibrahim Othman Darwish Suleiman Al-Hussein Mustafa "
        "Hamdan Saleh Nasser Yousef Khoury Shami Aziz Halabi Kassab Mansour",
        "Rania Lina Nour Amira Huda Layla Rim Samar Dima",
        "Omar Khaled Youssef Bassam Tarek Walid Fadi Samer Rami",
    ),
    "ua": (
        "Shevchenko Kovalenko Bondarenko Tkachenko Kravchenko Melnyk Boiko Oliinyk Shevchuk "
        "Polishchuk Lysenko Rudenko Marchenko Savchenko Petrenko Moroz Pavlenko Levchenko "
        "Kovalchuk Karpenko",
        "Olena Iryna Oksana Nataliia Olha Yuliia Tetiana Kateryna Anna",
        "Andrii Oleksandr Dmytro Serhii Mykola Volodymyr Ivan Yurii",
    ),
}
_FAKER_LOCALES = {
    "de": "de_CH",
    "fr": "fr_CH",
    "it": "it_IT",
    "pt": "pt_PT",
    "es": "es_ES",
    "tr": "tr_TR",
}


@dataclass(frozen=True)
class Origin:
    """Where a person comes from: name pool, nationality, residence statuses, languages."""

    names: str
    nationality: str
    statuses: tuple[str, ...]
    languages: str


SWISS_DE = Origin("de", "CH", (ResidenceStatus.SWISS,), "de")
SWISS_FR = Origin("fr", "CH", (ResidenceStatus.SWISS,), "fr")
MIGRANT_ORIGINS: tuple[tuple[Origin, float], ...] = (
    (Origin("pt", "PT", (ResidenceStatus.C, ResidenceStatus.B), "pt, fr"), 0.22),
    (Origin("it", "IT", (ResidenceStatus.C,), "it, de"), 0.15),
    (Origin("es", "ES", (ResidenceStatus.C, ResidenceStatus.B), "es"), 0.08),
    (Origin("tr", "TR", (ResidenceStatus.C, ResidenceStatus.B, ResidenceStatus.F), "tr"), 0.12),
    (Origin("de", "DE", (ResidenceStatus.B, ResidenceStatus.C, ResidenceStatus.L), "de"), 0.10),
    (Origin("fr", "FR", (ResidenceStatus.B, ResidenceStatus.G), "fr"), 0.05),
)
REFUGEE_ORIGINS: tuple[tuple[Origin, float], ...] = (
    (
        Origin(
            "er",
            "ER",
            (ResidenceStatus.B_REFUGEE, ResidenceStatus.F_REFUGEE, ResidenceStatus.F),
            "ti",
        ),
        0.35,
    ),
    (
        Origin("af", "AF", (ResidenceStatus.F, ResidenceStatus.N, ResidenceStatus.B_REFUGEE), "fa"),
        0.3,
    ),
    (Origin("sy", "SY", (ResidenceStatus.B_REFUGEE, ResidenceStatus.F), "ar"), 0.2),
    (Origin("ua", "UA", (ResidenceStatus.S,), "uk, ru"), 0.15),
)
REFUGEE_STATUSES = frozenset(
    {
        ResidenceStatus.B_REFUGEE,
        ResidenceStatus.F,
        ResidenceStatus.F_REFUGEE,
        ResidenceStatus.N,
        ResidenceStatus.S,
    }
)


EARLIEST_BIRTH = datetime.date(1940, 1, 1)
LATEST_BIRTH = datetime.date(2010, 12, 31)


class NamePools:
    """A few thousand names per run, drawn once from Faker (fr_CH, de_CH, ...) and then
    combined at random: calling Faker per row would be far too slow for the volume."""

    def __init__(self, seed: int, *, per_locale: int = 600) -> None:
        self.last: dict[str, list[str]] = {}
        self.female: dict[str, list[str]] = {}
        self.male: dict[str, list[str]] = {}
        self.streets: dict[str, list[str]] = {}
        for key, locale in _FAKER_LOCALES.items():
            fake = Faker(locale)
            fake.seed_instance(seed)
            self.last[key] = _unique(fake.last_name, per_locale)
            self.female[key] = _unique(fake.first_name_female, per_locale)
            self.male[key] = _unique(fake.first_name_male, per_locale)
            if key in ("de", "fr"):
                self.streets[key] = _unique(fake.street_name, per_locale)
        for key, (last, female, male) in _HAND_NAMES.items():
            self.last[key], self.female[key], self.male[key] = (
                last.split(),
                female.split(),
                male.split(),
            )

    @property
    def size(self) -> int:
        return sum(len(v) for pool in (self.last, self.female, self.male) for v in pool.values())


def _unique(draw: Callable[[], str], times: int) -> list[str]:
    return sorted({draw() for _ in range(times)})


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def ahv_number(body: int) -> str:
    """756 + nine digits + the EAN-13 check digit: a valid AHV number (stdnum.ch.ssn)."""
    digits = f"756{body:09d}"
    return digits + ean.calc_check_digit(digits)


def ahv_numbers(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct valid AHV numbers."""
    return [ahv_number(body) for body in rng.sample(range(10**9), count)]


def pick_weighted(rng: random.Random, items: tuple[tuple[Origin, float], ...]) -> Origin:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def swiss_phone(rng: random.Random) -> str:
    return (
        f"+41 7{rng.choice('6789')} {rng.randrange(100, 1000)} "
        f"{rng.randrange(10, 100)} {rng.randrange(10, 100)}"
    )


# --- the steps -----------------------------------------------------------------------------


@dataclass
class SeedContext:
    rng: random.Random
    seed: int
    today: datetime.date
    names: NamePools
    password_hash: str
    orgs: dict[str, Organisation] = field(default_factory=dict)
    org_specs: dict[str, OrgSpec] = field(default_factory=dict)
    teams: dict[tuple[str, str], Team] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @classmethod
    def create(cls, seed: int) -> SeedContext:
        validate_password(DEMO_PASSWORD)
        return cls(
            rng=random.Random(seed),  # noqa: S311 (reproducible demo data, not secrets)
            seed=seed,
            today=timezone.localdate(),
            names=NamePools(seed),
            # one hash for all demo users: Argon2 per user would take minutes for 2,500
            password_hash=make_password(DEMO_PASSWORD),
        )


def create_organisations(ctx: SeedContext, specs: tuple[OrgSpec, ...]) -> None:
    communes = {c.bfs_number: c for c in COMMUNES}
    existing = {c.bfs_number: c for c in Commune.objects.all()}
    new = [
        Commune(bfs_number=c.bfs_number, name=c.name, canton="BE")
        for c in communes.values()
        if c.bfs_number not in existing
    ]
    for commune in Commune.objects.bulk_create(new):
        existing[commune.bfs_number] = commune
    for spec in specs:
        org = Organisation.objects.create(name=spec.name, kind=spec.kind, canton="BE")
        if spec.communes:
            org.communes.set([existing[n] for n in spec.communes])
        for name in spec.teams:
            ctx.teams[(spec.key, name)] = Team.objects.create(organisation=org, name=name)
        ctx.orgs[spec.key] = org
        ctx.org_specs[spec.key] = spec


def create_logins(ctx: SeedContext, logins: tuple[LoginSpec, ...]) -> None:
    for spec in logins:
        locale = "de" if spec.language == "de" else "fr"
        female = ctx.rng.random() < 0.6
        first = ctx.rng.choice((ctx.names.female if female else ctx.names.male)[locale])
        user = User.objects.create(
            username=spec.username,
            first_name=first,
            last_name=ctx.rng.choice(ctx.names.last[locale]),
            email=f"{spec.username}@{DEMO_EMAIL_DOMAIN}",
            password=ctx.password_hash,
            language=spec.language,
        )
        membership = Membership.objects.create(
            user=user,
            organisation=ctx.orgs[spec.org],
            role=spec.role,
            team=ctx.teams.get((spec.org, spec.team)),
        )
        ctx.actors[spec.username] = Actor(user=user, membership=membership)


def step_organisations(ctx: SeedContext) -> None:
    create_organisations(ctx, DEMO_ORGS)
    create_logins(ctx, DEMO_LOGINS)
    require_demo_mfa(ctx.orgs[key] for key in DEMO_MFA_ORGS)


def _random_day(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange(max(1, (end - start).days + 1)))


@dataclass
class PersonDraft:
    """Data of one generated person, before it is written (used by both sizes)."""

    last_name: str
    first_name: str
    sex: str
    birth_date: datetime.date | None
    nationality: str
    residence_status: str
    arrival_date: datetime.date | None
    languages: str


def draft_household(
    ctx: SeedContext, *, language: str, opened_on: datetime.date, refugee: bool
) -> list[tuple[str, PersonDraft]]:
    """An applicant with relatives: (relation, person) pairs, applicant first."""
    rng = ctx.rng
    if refugee:
        origin = pick_weighted(rng, REFUGEE_ORIGINS)
    elif rng.random() < 0.55:
        origin = SWISS_FR if language == "fr" else SWISS_DE
    else:
        origin = pick_weighted(rng, MIGRANT_ORIGINS)
    family = rng.choice(ctx.names.last[origin.names])
    status = rng.choice(origin.statuses)
    latest_birth = min(opened_on.year - 18, 2006)
    birth = _random_day(rng, EARLIEST_BIRTH, datetime.date(latest_birth, 12, 31))
    arrival = None
    if origin.nationality != "CH":
        earliest = datetime.date(opened_on.year - 7, 1, 1) if refugee else datetime.date(1985, 1, 1)
        arrival = _random_day(rng, max(earliest, birth), opened_on)

    def person(sex: str, born: datetime.date, last: str) -> PersonDraft:
        pool = ctx.names.female if sex == "f" else ctx.names.male
        return PersonDraft(
            last_name=last,
            first_name=rng.choice(pool[origin.names]),
            sex=sex,
            birth_date=born if rng.random() > 0.01 else None,
            nationality=origin.nationality,
            residence_status=status,
            arrival_date=arrival if arrival and born <= arrival else None,
            languages=origin.languages,
        )

    applicant_sex = "f" if rng.random() < 0.55 else "m"
    members = [(RelationToHead.APPLICANT.value, person(applicant_sex, birth, family))]
    shape = rng.random()
    if shape < 0.3:  # with a spouse or partner
        spouse_birth = birth + datetime.timedelta(days=rng.randrange(-1800, 1800))
        spouse_birth = min(max(spouse_birth, EARLIEST_BIRTH), datetime.date(latest_birth, 12, 31))
        other = "m" if applicant_sex == "f" else "f"
        last = family if rng.random() < 0.7 else rng.choice(ctx.names.last[origin.names])
        members.append((RelationToHead.SPOUSE.value, person(other, spouse_birth, last)))
    if shape > 0.15 and shape < 0.5:  # with children
        first_child = add_years(birth, 18)
        last_child = min(opened_on, LATEST_BIRTH)
        if first_child < last_child:
            for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
                born = _random_day(rng, first_child, last_child)
                members.append((RelationToHead.CHILD.value, person(rng.choice("fm"), born, family)))
    return members


def _address(ctx: SeedContext, spec: OrgSpec) -> dict[str, str]:
    rng = ctx.rng
    commune = COMMUNE_BY_BFS[rng.choice(spec.communes)] if spec.communes else rng.choice(COMMUNES)
    streets = ctx.names.streets["fr" if commune.language == "fr" else "de"]
    return {
        "street": f"{rng.choice(streets)} {rng.randrange(1, 120)}",
        "postal_code": commune.postal_code,
        "city": commune.name,
    }


CASE_TITLES = {
    Domain.ECONOMIC_AID: ("Aide sociale économique", "Wirtschaftliche Sozialhilfe"),
    Domain.ASYLUM_AID: ("Aide sociale asile et réfugiés", "Sozialhilfe Asyl und Flüchtlinge"),
    Domain.CII: ("Collaboration interinstitutionnelle AI-ORP", "IIZ mit IV und RAV"),
    Domain.CHILD_PROTECTION: ("Curatelle éducative (art. 308 CC)", "Erziehungsbeistandschaft"),
    Domain.ADULT_PROTECTION: (
        "Curatelle de représentation (art. 394 CC)",
        "Vertretungsbeistandschaft",
    ),
}


def title_for(domain: str, language: str) -> str:
    fr, de = CASE_TITLES.get(Domain(domain), ("", ""))
    return fr if language == "fr" else de


def _create_household(
    ctx: SeedContext, *, actor: Actor, drafts: list[tuple[str, PersonDraft]], ahv: Iterator[str]
) -> tuple[Person, AssistanceUnit | None]:
    spec = ctx.org_specs[org_key(ctx, actor.organisation_id)]
    address = _address(ctx, spec)
    persons = []
    for relation, draft in drafts:
        has_ahv = draft.residence_status not in REFUGEE_STATUSES or ctx.rng.random() < 0.5
        person = Person.objects.create(
            registered_by_id=actor.organisation_id,
            last_name=draft.last_name,
            first_name=draft.first_name,
            sex=draft.sex,
            birth_date=draft.birth_date,
            nationality=draft.nationality,
            residence_status=draft.residence_status,
            arrival_date=draft.arrival_date,
            languages=draft.languages,
            ahv_number=next(ahv) if has_ahv and ctx.rng.random() < 0.93 else None,
            phone=swiss_phone(ctx.rng) if relation == "applicant" else "",
            **address,
        )
        persons.append((relation, person))
    ctx.counts["persons"] += len(persons)
    applicant = persons[0][1]
    if len(persons) == 1:
        return applicant, None
    word = "Ménage" if spec.language == "fr" else "Haushalt"
    unit = AssistanceUnit.objects.create(
        name=f"{word} {applicant.last_name} {applicant.first_name}",
        registered_by_id=actor.organisation_id,
    )
    UnitMember.objects.bulk_create(
        [UnitMember(unit=unit, person=p, relation=rel) for rel, p in persons]
    )
    return applicant, unit


def org_key(ctx: SeedContext, organisation_id: int) -> str:
    return next(key for key, org in ctx.orgs.items() if org.pk == organisation_id)


SERVICE_CLOSURES = (
    (ClosureReason.EMPLOYMENT, 30),
    (ClosureReason.SOCIAL_INSURANCE, 20),
    (ClosureReason.MOVED, 15),
    (ClosureReason.OTHER_INCOME, 12),
    (ClosureReason.NO_COOPERATION, 8),
    (ClosureReason.REJECTED, 8),
    (ClosureReason.DEATH, 2),
    (ClosureReason.OTHER, 5),
)
PROTECTION_CLOSURES = (
    (ClosureReason.MEASURE_ENDED, 70),
    (ClosureReason.MOVED, 15),
    (ClosureReason.DEATH, 5),
    (ClosureReason.OTHER, 10),
)


def closure_reason(rng: random.Random, *, protection: bool) -> str:
    table = PROTECTION_CLOSURES if protection else SERVICE_CLOSURES
    return str(rng.choices([r for r, _ in table], weights=[w for _, w in table])[0])


# Demo dossiers per responsible login: (username, how many, domains)
DEMO_CASELOADS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("as.bienne", 34, (Domain.ECONOMIC_AID, Domain.ECONOMIC_AID, Domain.ASYLUM_AID, Domain.CII)),
    ("as2.bienne", 18, (Domain.ECONOMIC_AID, Domain.ASYLUM_AID)),
    ("intake.bienne", 8, (Domain.ECONOMIC_AID,)),
    ("sa.thun", 26, (Domain.ECONOMIC_AID, Domain.ECONOMIC_AID, Domain.ASYLUM_AID)),
    ("sa2.thun", 14, (Domain.ECONOMIC_AID, Domain.CII)),
    ("intake.thun", 6, (Domain.ECONOMIC_AID,)),
    ("as.jb", 12, (Domain.ECONOMIC_AID, Domain.ASYLUM_AID)),
    ("sa.bern", 14, (Domain.ECONOMIC_AID, Domain.ASYLUM_AID)),
    ("kesb", 16, (Domain.CHILD_PROTECTION, Domain.ADULT_PROTECTION)),
)


def step_dossiers(ctx: SeedContext) -> None:
    """Households and dossiers through the domain services (audited like real work)."""
    rng = ctx.rng
    ahv = iter(ahv_numbers(rng, 2000))
    for username, count, domains in DEMO_CASELOADS:
        actor = ctx.actors[username]
        spec = ctx.org_specs[org_key(ctx, actor.organisation_id)]
        protection = spec.kind == OrganisationKind.PROTECTION_AUTHORITY
        for index in range(count):
            domain = domains[index % len(domains)]
            opened_on = ctx.today - datetime.timedelta(days=rng.randrange(3, 4 * 365))
            drafts = draft_household(
                ctx,
                language=spec.language,
                opened_on=opened_on,
                refugee=domain == Domain.ASYLUM_AID,
            )
            if domain == Domain.CHILD_PROTECTION:
                # the child is the client; the household stays with the parents' service
                drafts = [(RelationToHead.APPLICANT.value, _draft_child(ctx, spec, opened_on))]
            elif protection:
                drafts = drafts[:1]
            client, unit = _create_household(ctx, actor=actor, drafts=drafts, ahv=ahv)
            case = case_services.do_open_case(
                actor=actor,
                client=client,
                domain=domain,
                opened_on=opened_on,
                responsible=actor.user,
                assistance_unit=unit,
                title=title_for(domain, spec.language),
            )
            _advance(ctx, actor=actor, case=case, protection=protection)
            ctx.cases.append(case)
    ctx.counts["dossiers"] = len(ctx.cases)


def _draft_child(ctx: SeedContext, spec: OrgSpec, opened_on: datetime.date) -> PersonDraft:
    for _ in range(50):
        drafts = draft_household(ctx, language=spec.language, opened_on=opened_on, refugee=False)
        children = [d for rel, d in drafts if rel == RelationToHead.CHILD]
        if children:
            return children[-1]
    raise RuntimeError("no household with children drawn")  # pragma: no cover


def _advance(ctx: SeedContext, *, actor: Actor, case: Case, protection: bool) -> None:
    """Move a fresh dossier along: some stay in intake, a quarter are closed."""
    rng = ctx.rng
    age = (ctx.today - case.opened_on).days
    roll = rng.random()
    if actor.role == Role.INTAKE_WORKER or age < 60:
        stage = Stage.INTAKE_1 if age < 30 else Stage.INTAKE_2
    else:
        stage = Stage.COUNSELLING
    if stage != Stage.INTAKE_1:
        Case.objects.filter(pk=case.pk).update(stage=stage)
        case.stage = stage
    if roll < 0.25 and age > 90:
        closed_on = case.opened_on + datetime.timedelta(days=rng.randrange(30, age))
        case_services.do_close_case(
            actor=actor,
            case=case,
            closed_on=min(closed_on, ctx.today),
            reason=closure_reason(rng, protection=protection),
        )


# Reasons of the demo shares, in the owning organisation's language (the volume uses them too).
SHARE_TEXTS = {
    "fr": {
        "consent_scope": "Journal et plan au partenaire d'insertion",
        "mandate": "Mandat d'insertion professionnelle",
        "child_notice": "Avis à l'APEA (art. 314c CC)",
        "adult_notice": "Avis à l'APEA (art. 443 CC)",
        "cooperation": "Collaboration avec le service social (art. 448 CC)",
    },
    "de": {
        "consent_scope": "Journal und Plan an den Integrationspartner",
        "mandate": "Auftrag Arbeitsintegration",
        "child_notice": "Meldung an die KESB (Art. 314c ZGB)",
        "adult_notice": "Meldung an die KESB (Art. 443 ZGB)",
        "cooperation": "Zusammenarbeit mit dem Sozialdienst (Art. 448 ZGB)",
    },
}


def step_shares(ctx: SeedContext) -> None:
    """Shares to the integration partner (with consent) and to the KESB (legal basis)."""
    rng = ctx.rng
    partner, kesb = ctx.orgs["ssip"], ctx.orgs["kesb"]
    open_cases = [c for c in ctx.cases if c.is_open]
    for case in open_cases:
        actor = next(a for a in ctx.actors.values() if a.user.pk == case.responsible_id)
        owner = ctx.org_specs[org_key(ctx, case.owner_id)]
        roll = rng.random()
        if owner.kind == OrganisationKind.SOCIAL_SERVICE and roll < 0.25:
            fr = owner.language == "fr"
            consent = case_services.do_record_consent(
                actor=actor,
                case=case,
                person=case.client,
                kind="specific",
                scope=(
                    "Transmission du journal et du plan au partenaire d'insertion SSIP"
                    if fr
                    else "Weitergabe von Journal und Plan an den Integrationspartner"
                ),
                sections=["journal", "plan"],
                signed_on=max(case.opened_on, ctx.today - datetime.timedelta(days=60)),
                valid_until=ctx.today + datetime.timedelta(days=365),
            )
            case_services.do_share_case(
                actor=actor,
                case=case,
                organisation=partner,
                sections=["journal", "plan"],
                access=Share.Access.WRITE,
                basis=Share.Basis.CONSENT,
                reason=(
                    "Mandat d'insertion professionnelle, procuration signée"
                    if fr
                    else "Auftrag Arbeitsintegration, unterschriebene Vollmacht"
                ),
                valid_until=ctx.today + datetime.timedelta(days=rng.choice((90, 180, 365))),
                consent=consent,
            )
            ctx.counts["shares"] += 1
        elif owner.kind == OrganisationKind.SOCIAL_SERVICE and roll < 0.33:
            child = UnitMember.objects.filter(
                unit_id=case.assistance_unit_id, relation=RelationToHead.CHILD
            ).exists()
            case_services.do_share_case(
                actor=actor,
                case=case,
                organisation=kesb,
                sections=["core", "journal"],
                access=Share.Access.READ,
                basis=Share.Basis.LEGAL,
                reason=SHARE_TEXTS["fr" if owner.language == "fr" else "de"][
                    "child_notice" if child else "adult_notice"
                ],
                valid_until=ctx.today + datetime.timedelta(days=rng.choice((60, 120, 180))),
            )
            ctx.counts["shares"] += 1
        elif owner.kind == OrganisationKind.PROTECTION_AUTHORITY and roll < 0.3:
            case_services.do_share_case(
                actor=actor,
                case=case,
                organisation=ctx.orgs["bienne"],
                sections=["core"],
                access=Share.Access.READ,
                basis=Share.Basis.LEGAL,
                reason="Collaboration avec le service social (art. 448 CC)",
                valid_until=ctx.today + datetime.timedelta(days=180),
            )
            ctx.counts["shares"] += 1
    # one share that was revoked, so the history shows how it ends
    share = Share.objects.filter(owner=ctx.orgs["bienne"], revoked_at__isnull=True).first()
    if share is not None:
        actor = next(a for a in ctx.actors.values() if a.user.pk == share.granted_by_id)
        case_services.do_revoke_share(actor=actor, share=share)


SeedStep = Callable[[SeedContext], None]


# The demo world, in order. Later steps may use what earlier ones made (ctx.cases, ...).
def step_integration(ctx: SeedContext) -> None:
    from filum.demo.integration import step_integration as integration

    integration(ctx)


def step_canton_dataset(ctx: SeedContext) -> None:
    from filum.demo.canton_dataset import step_canton_dataset as canton_dataset

    canton_dataset(ctx)


def step_transfers(ctx: SeedContext) -> None:
    """One pending offer (P3, decision 0026): Bienne's section head offers Thun the oldest open
    economic assistance dossier of Bienne, its client having moved; Thun's section head finds
    it in the cockpit. Deterministic: the dossier is chosen by number, not drawn."""
    from filum.cases.transfers import do_offer_transfer

    bienne = ctx.orgs["bienne"]
    case = min(
        (
            c
            for c in ctx.cases
            if c.owner_id == bienne.pk and c.is_open and c.domain == "economic_aid"
        ),
        key=lambda c: c.number,
    )
    do_offer_transfer(
        actor=ctx.actors["rs.bienne"],
        case=case,
        receiver=ctx.orgs["thun"],
        kind="move",
        note=(
            "Le client a déménagé à Thoune. Budget et loyer vérifiés ce mois ; "
            "prochain entretien à planifier."
        ),
        cut_over_on=ctx.today,
        tasks="hand_over",
        shares="keep",
    )
    ctx.counts["transfers"] += 1


DEMO_STEPS: list[SeedStep] = [
    step_organisations,
    step_dossiers,
    step_shares,
    step_integration,
    step_steering,
    step_transfers,
    step_retention,
    person_lists.step_person_lists,
    step_indicator_editor,  # an analyst-made indicator in two versions (decision 0039)
    step_subject_access,  # a person with several dossiers and a read history (decision 0037)
    measures_indicator.step_measures_indicator,  # an indicator over the measures (0032)
    # last: the canton's extract and the month's SHS delivery are made of all the data above
    step_canton_dataset,
    step_shs,
]


def database_is_empty() -> bool:
    return not Organisation.objects.exists()


def seed_demo(*, seed: int = 42) -> SeedContext:
    """The demo world (``--size demo``)."""
    import pghistory

    ctx = SeedContext.create(seed)
    with transaction.atomic(), pghistory.context(command="seed_demo"):
        for step in DEMO_STEPS:
            step(ctx)
    return ctx


def login_rows() -> list[tuple[str, str, str, str]]:
    """(username, role, organisation, password) of every demo login present in the database."""
    names = [spec.username for spec in DEMO_LOGINS]
    memberships = Membership.objects.filter(user__username__in=names).select_related(
        "user", "organisation"
    )
    order = {name: i for i, name in enumerate(names)}
    rows = sorted(memberships, key=lambda m: order[m.user.username])
    return [
        (m.user.username, str(Role(m.role).label), m.organisation.name, DEMO_PASSWORD) for m in rows
    ]


def table_counts() -> dict[str, int]:
    return {
        "organisations": Organisation.objects.count(),
        "users": User.objects.count(),
        "persons": Person.objects.count(),
        "persons with AHV number": Person.objects.filter(ahv_number__isnull=False).count(),
        "assistance units": AssistanceUnit.objects.count(),
        "dossiers": Case.objects.count(),
        "open dossiers": Case.objects.open().count(),
        "shares": Share.objects.count(),
        **integration_counts(),
    }


def integration_counts() -> dict[str, int]:
    from filum.assessments.models import Assessment
    from filum.cii.models import CiiCase
    from filum.plans.models import Booking, Measure, Plan, Programme

    return {
        "programmes": Programme.objects.count(),
        "bookings": Booking.objects.count(),
        "plans": Plan.objects.count(),
        "measures": Measure.objects.count(),
        "assessments": Assessment.objects.count(),
        "CII cases": CiiCase.objects.count(),
    }
