"""The ten-year volume for benchmarks: ``seed_demo --size N`` (N persons, N/2 dossiers).

Bern's design load (U4): 85 organisations (66 social services, 11 protection authorities,
8 integration partners, plus the canton office), about 2,500 users, 75,000 dossiers a year;
ten years make about 750,000 dossiers and 1.5 million persons.

Rows are generated in Python from small pools of names (``demo.NamePools``) and loaded with
PostgreSQL ``COPY``, in one transaction. For the load, the audit triggers of the bulk tables
are disabled (this is benchmark data, not audited work), and their secondary indexes and
foreign keys are dropped and made again afterwards, which is much faster than maintaining
them row by row. Everything, including those schema changes, rolls back if the load fails.
"""

from __future__ import annotations

import bisect
import datetime
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from django.db import connection, transaction

from filum.cases.models import Domain, Stage
from filum.demo import seed as demo
from filum.demo.audittrail import AUDIT_TABLES, READ_MONTHS, read_log_start, step_audit_trail
from filum.demo.copytext import NULL, CopyPipe, SequenceBlock, other_columns, reserve
from filum.demo.history import HISTORY_COLUMNS, History, step_partner_entries
from filum.demo.integration_volume import TABLES as INTEGRATION_TABLES
from filum.demo.integration_volume import step_integration_volume
from filum.demo.retention_volume import step_backlog_holds, step_retention_backlog
from filum.demo.seed import COMMUNE_BY_BFS, COMMUNES, SeedContext
from filum.demo.steering import STEERING_TABLES, step_steering_volume
from filum.followup.nightly import run_nightly_rules
from filum.records.services import ensure_read_log_partitions
from filum.tenancy.models import Membership, Organisation, OrganisationKind, Role, Team, User

FULL_VOLUME = 1_500_000
ORG_COUNTS: dict[str, int] = {
    OrganisationKind.SOCIAL_SERVICE.value: 66,
    OrganisationKind.PROTECTION_AUTHORITY.value: 11,
    OrganisationKind.INTEGRATION_PARTNER.value: 8,
}
# The ten KESB regions besides Biel/Bienne (which the demo organisations already have).
KESB_REGIONS = (
    ("KESB Bern", "de"),
    ("KESB Emmental", "de"),
    ("APEA Jura bernois", "fr"),
    ("KESB Mittelland Nord", "de"),
    ("KESB Mittelland Süd", "de"),
    ("KESB Oberaargau", "de"),
    ("KESB Oberland Ost", "de"),
    ("KESB Oberland West", "de"),
    ("KESB Seeland", "de"),
    ("KESB Thun", "de"),
)
CASELOAD = 80  # open dossiers per social worker
YEARS = 10
MEAN_CASE_DAYS = 620  # mean duration of a dossier: gives ~80 open per worker at 75k a year
PROTECTION_SHARE = 0.15  # of the dossiers owned by protection authorities
BULK_TABLES = tuple(
    dict.fromkeys(
        (
            "people_person",
            "people_assistanceunit",
            "people_unitmember",
            "cases_case",
            "cases_consent",
            "cases_share",
            "cases_casetransition",
            *STEERING_TABLES,
            *AUDIT_TABLES,
            *INTEGRATION_TABLES,
        )
    )
)
CHUNK = 50_000  # dossiers generated and copied at a time


@dataclass
class OrgPlan:
    org: Organisation
    spec: demo.OrgSpec
    code: str
    workers: list[tuple[int, int | None]] = field(default_factory=list)  # (user id, team id)
    heads: list[int] = field(default_factory=list)  # section heads (four eyes)
    open_count: int = 0
    clients: list[str] = field(default_factory=list)  # earlier clients, for returning persons
    next_worker: int = 0


@dataclass
class CasePlan:
    owner: int  # index into VolumeContext.plans
    domain: str
    opened: int  # ordinal
    closed: int | None


@dataclass
class VolumeContext:
    base: SeedContext
    persons: int
    plans: list[OrgPlan] = field(default_factory=list)
    cases: list[CasePlan] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def scale(self) -> float:
        return min(1.0, self.persons / FULL_VOLUME)


# --- organisations and users ---------------------------------------------------------------


def step_volume_organisations(vctx: VolumeContext) -> None:
    """The demo organisations plus generated ones, up to Bern's 66 + 11 + 8."""
    ctx = vctx.base
    specs: list[demo.OrgSpec] = []
    have = {kind: sum(1 for s in demo.DEMO_ORGS if s.kind == kind) for kind in ORG_COUNTS}
    communes = [c.bfs_number for c in COMMUNES]
    for n in range(1, ORG_COUNTS[OrganisationKind.SOCIAL_SERVICE] - have["social_service"] + 1):
        fr = n % 3 == 0
        name = f"Service social benchmark {n:02d}" if fr else f"Sozialdienst Benchmark {n:02d}"
        specs.append(
            demo.OrgSpec(
                f"sd{n:02d}",
                name,
                OrganisationKind.SOCIAL_SERVICE,
                "fr" if fr else "de",
                (communes[n % len(communes)],),
            )
        )
    missing = ORG_COUNTS[OrganisationKind.PROTECTION_AUTHORITY] - have["protection_authority"]
    for n, (name, language) in enumerate(KESB_REGIONS[:missing], start=1):
        specs.append(
            demo.OrgSpec(f"kesb{n:02d}", name, OrganisationKind.PROTECTION_AUTHORITY, language)
        )
    missing = ORG_COUNTS[OrganisationKind.INTEGRATION_PARTNER] - have["integration_partner"]
    for n in range(1, missing + 1):
        specs.append(
            demo.OrgSpec(
                f"ip{n:02d}",
                f"Integrationspartner Benchmark {n:02d}",
                OrganisationKind.INTEGRATION_PARTNER,
                "de",
            )
        )
    demo.create_organisations(ctx, tuple(specs))
    vctx.plans = [OrgPlan(org=ctx.orgs[k], spec=ctx.org_specs[k], code=k) for k in ctx.orgs]


def _weights(count: int) -> list[float]:
    """Organisation sizes: a few large services (Bern, Biel), many small ones."""
    return [1 / (rank + 1) ** 0.8 for rank in range(count)]


def step_case_plan(vctx: VolumeContext) -> None:
    """Owner, domain and dates of every dossier, oldest first (the numbers follow)."""
    rng = vctx.base.rng
    today = vctx.base.today.toordinal()
    total = vctx.persons // 2
    services = [i for i, p in enumerate(vctx.plans) if p.spec.kind == "social_service"]
    protection = [i for i, p in enumerate(vctx.plans) if p.spec.kind == "protection_authority"]
    service_cum = list(accumulate(_weights(len(services))))
    protection_cum = list(accumulate(_weights(len(protection))))
    days = sorted(rng.randrange(YEARS * 365) for _ in range(total))
    cases = []
    for offset in days:
        opened = today - YEARS * 365 + offset
        if rng.random() < PROTECTION_SHARE:
            owner = protection[bisect.bisect(protection_cum, rng.random() * protection_cum[-1])]
            domain = Domain.CHILD_PROTECTION if rng.random() < 0.55 else Domain.ADULT_PROTECTION
        else:
            owner = services[bisect.bisect(service_cum, rng.random() * service_cum[-1])]
            roll = rng.random()
            domain = (
                Domain.ECONOMIC_AID
                if roll < 0.7
                else Domain.ASYLUM_AID
                if roll < 0.9
                else Domain.CII
            )
        end = opened + 1 + int(rng.expovariate(1 / MEAN_CASE_DAYS))
        closed = end if end < today else None
        if closed is None:
            vctx.plans[owner].open_count += 1
        cases.append(CasePlan(owner=owner, domain=str(domain), opened=opened, closed=closed))
    vctx.cases = cases


_PREFIX = {
    Role.SOCIAL_WORKER: ("as", "sa"),
    Role.SECTION_HEAD: ("rs", "bl"),
    Role.ADMIN_ASSISTANT: ("aadmin", "sb"),
    Role.INTAKE_WORKER: ("intake", "intake"),
    Role.SUPER_USER: ("su", "su"),
    Role.DATA_PROTECTION_OFFICER: ("dpo", "dpo"),
    Role.PROTECTION_STAFF: ("kesb", "kesb"),
    Role.PARTNER_STAFF: ("ip", "ip"),
    Role.CANTON_ANALYST: ("canton", "canton"),
    Role.CANTON_OFFICER: ("integration", "integration"),
}


def _staffing(vctx: VolumeContext, plan: OrgPlan) -> list[Role]:
    kind = plan.spec.kind
    if kind == OrganisationKind.SOCIAL_SERVICE:
        workers = max(1, math.ceil(plan.open_count / CASELOAD))
        return (
            [Role.SOCIAL_WORKER] * workers
            + [Role.SECTION_HEAD] * (workers // 10 + 1)
            + [Role.ADMIN_ASSISTANT] * (workers // 4 + 1)
            + [Role.INTAKE_WORKER] * (workers // 8 + 1)
            + [Role.SUPER_USER, Role.DATA_PROTECTION_OFFICER]
        )
    if kind == OrganisationKind.PROTECTION_AUTHORITY:
        workers = max(1, math.ceil(plan.open_count / CASELOAD))
        return [Role.PROTECTION_STAFF] * workers + [Role.SUPER_USER, Role.DATA_PROTECTION_OFFICER]
    if kind == OrganisationKind.INTEGRATION_PARTNER:
        return [Role.PARTNER_STAFF] * max(1, round(10 * vctx.scale)) + [Role.SUPER_USER]
    if kind == OrganisationKind.CII_PARTNER:
        return [Role.PARTNER_STAFF] * max(1, round(20 * vctx.scale))
    return [Role.CANTON_ANALYST] * max(1, round(3 * vctx.scale)) + [Role.CANTON_OFFICER] * max(
        1, round(2 * vctx.scale)
    )


def step_volume_users(vctx: VolumeContext) -> None:
    """Staff for every organisation: one social worker per ~80 open dossiers, with heads,
    assistants, intake, super-user and data protection officer in proportion."""
    ctx = vctx.base
    names = ctx.names
    rng = ctx.rng
    pending: list[tuple[OrgPlan, User, Role, Team | None]] = []
    for plan in vctx.plans:
        language = plan.spec.language
        teams = [ctx.teams[(plan.code, t)] for t in plan.spec.teams]
        counselling: list[Team | None] = [*teams[1:]] or [None]
        for n, role in enumerate(_staffing(vctx, plan), start=1):
            female = rng.random() < 0.65
            user = User(
                username=f"{_PREFIX[role][1 if language == 'de' else 0]}.{plan.code}.{n:03d}",
                first_name=rng.choice((names.female if female else names.male)[language]),
                last_name=rng.choice(names.last[language]),
                password=ctx.password_hash,
                language=language,
            )
            user.email = f"{user.username}@{demo.DEMO_EMAIL_DOMAIN}"
            team: Team | None = None
            if role == Role.INTAKE_WORKER and teams:
                team = teams[0]
            elif role in (Role.SOCIAL_WORKER, Role.SECTION_HEAD, Role.ADMIN_ASSISTANT):
                team = counselling[n % len(counselling)]
            pending.append((plan, user, role, team))
    users = User.objects.bulk_create([u for _, u, _, _ in pending], batch_size=1000)
    Membership.objects.bulk_create(
        [
            Membership(user=user, organisation=plan.org, role=role, team=team)
            for (plan, _, role, team), user in zip(pending, users, strict=True)
        ],
        batch_size=1000,
    )
    working = {Role.SOCIAL_WORKER, Role.PROTECTION_STAFF}
    for (plan, _, role, team), user in zip(pending, users, strict=True):
        if role in working:
            plan.workers.append((user.pk, team.pk if team else None))
        elif role == Role.SECTION_HEAD:
            plan.heads.append(user.pk)
    # the demo logins carry a caseload too
    by_org = {p.org.pk: p for p in vctx.plans}
    for actor in ctx.actors.values():
        if actor.role in working:
            by_org[actor.organisation_id].workers.append((actor.user.pk, actor.membership.team_id))
    vctx.rows["users"] = len(users) + len(ctx.actors)


# --- the bulk rows -------------------------------------------------------------------------

_SERVICE_CLOSURES = [str(r) for r, w in demo.SERVICE_CLOSURES for _ in range(w)]
_PROTECTION_CLOSURES = [str(r) for r, w in demo.PROTECTION_CLOSURES for _ in range(w)]
_V4_MASK = ~((0xF << 76) | (0xC << 60)) & ((1 << 128) - 1)
_V4_BITS = (4 << 76) | (0x8 << 60)


class Rows:
    """COPY text lines per table, flushed together (in foreign-key order)."""

    COLUMNS = {
        "people_person": (
            "id, last_name, first_name, birth_date, sex, nationality, residence_status, "
            "arrival_date, languages, ahv_number, street, postal_code, city, phone, email, "
            "registered_by_id, created_at, version"
        ),
        "people_assistanceunit": "id, name, registered_by_id, created_at",
        "people_unitmember": "unit_id, person_id, relation",
        "cases_case": (
            "id, number, owner_id, domain, client_id, assistance_unit_id, responsible_id, "
            "team_id, opened_on, status, stage, closed_on, closure_reason, title, version, "
            "created_at, updated_at, stage_since, received_on, segment, segment_since"
        ),
        "cases_consent": (
            "id, case_id, owner_id, person_id, kind, scope, sections, signed_on, valid_until, "
            "withdrawn_on, recorded_by_id, recorded_at"
        ),
        "cases_share": (
            "id, case_id, owner_id, organisation_id, sections, access, basis, reason, "
            "consent_id, valid_until, granted_by_id, granted_at, revoked_at, revoked_by_id"
        ),
        "cases_casetransition": (
            "case_id, owner_id, kind, from_stage, to_stage, reason, reason_key, reason_params, "
            "actor_id, at"
        ),
        **HISTORY_COLUMNS,
    }

    def __init__(self, vctx: VolumeContext) -> None:
        self.vctx = vctx
        self.pipe = CopyPipe()
        self.lines: dict[str, list[str]] = {table: [] for table in self.COLUMNS}
        self.columns: dict[str, str] = {}
        self.suffix: dict[str, str] = {}
        for table, columns in self.COLUMNS.items():
            extra = other_columns(table, {c.strip() for c in columns.split(",")})
            self.columns[table] = ", ".join([columns, *(name for name, _ in extra)])
            self.suffix[table] = "".join(f"\t{value}" for _, value in extra)

    def flush(self, *, last: bool = False) -> None:
        """COPY the lines so far in the background (``last``: and wait for it)."""
        batches = []
        for table, lines in self.lines.items():
            self.vctx.rows[table] += len(lines)
            batches.append((table, self.columns[table], lines.copy(), self.suffix[table]))
            lines.clear()
        self.pipe.submit(batches)
        if last:
            self.pipe.wait()


class Generator:
    """Households and dossiers, row by row, as cheaply as Python allows."""

    def __init__(self, vctx: VolumeContext) -> None:
        self.vctx = vctx
        ctx = vctx.base
        self.rng = ctx.rng
        self.names = ctx.names
        self.today = ctx.today.toordinal()
        self.first_day = datetime.date(1930, 1, 1).toordinal()
        self.day = [
            datetime.date.fromordinal(o).isoformat()
            for o in range(self.first_day, self.today + 800)
        ]
        self.ahv = iter(demo.ahv_numbers(self.rng, vctx.persons))
        self.persons_left = vctx.persons
        self.partners = [p for p in vctx.plans if p.spec.kind == "integration_partner"]
        self.services = [p for p in vctx.plans if p.spec.kind == "social_service"]
        self.protection = [p for p in vctx.plans if p.spec.kind == "protection_authority"]
        self.rows = Rows(vctx)
        self.history = _history(self)
        self.shares = 0
        self.consents = 0
        self.case_index = 0

    def uuid(self) -> str:
        return f"{(self.rng.getrandbits(128) & _V4_MASK) | _V4_BITS:032x}"

    def date(self, ordinal: int) -> str:
        return self.day[ordinal - self.first_day]

    # persons ---------------------------------------------------------------------------

    def household(self, plan: OrgPlan, case: CasePlan) -> list[tuple[str, str, str]]:
        """Write the client's household; returns (person id, relation, last name)."""
        rng = self.rng
        refugee = case.domain == Domain.ASYLUM_AID
        if refugee:
            origin = demo.pick_weighted(rng, demo.REFUGEE_ORIGINS)
        elif rng.random() < 0.55:
            origin = demo.SWISS_FR if plan.spec.language == "fr" else demo.SWISS_DE
        else:
            origin = demo.pick_weighted(rng, demo.MIGRANT_ORIGINS)
        status = rng.choice(origin.statuses)
        family = rng.choice(self.names.last[origin.names])
        opened = case.opened
        year_days = 365
        latest_adult = min(opened - 18 * year_days, datetime.date(2006, 12, 31).toordinal())
        earliest = datetime.date(1940, 1, 1).toordinal()
        latest_child = min(opened, datetime.date(2010, 12, 31).toordinal())
        # who is in it
        if case.domain == Domain.CHILD_PROTECTION:
            members = [
                ("applicant", rng.randrange(max(earliest, opened - 18 * year_days), latest_child))
            ]
        else:
            if case.domain == Domain.ADULT_PROTECTION:
                birth = rng.randrange(earliest, datetime.date(1990, 1, 1).toordinal())
            else:
                birth = rng.randrange(earliest, latest_adult)
            members = [("applicant", birth)]
            shape = rng.random() if case.domain != Domain.ADULT_PROTECTION else 0.0
            budget = self.persons_left - (len(self.vctx.cases) - self.case_index)
            if budget > 4:
                if 0.52 <= shape < 0.82:  # a spouse or partner
                    spouse = birth + rng.randrange(-1800, 1800)
                    members.append(("spouse", min(max(spouse, earliest), latest_adult)))
                if shape >= 0.65:  # children
                    first_child = birth + 18 * year_days
                    if first_child < latest_child:
                        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
                            members.append(("child", rng.randrange(first_child, latest_child)))
        arrival = None
        if origin.nationality != "CH":
            floor = opened - 7 * year_days if refugee else datetime.date(1985, 1, 1).toordinal()
            arrival = rng.randrange(max(floor, members[0][1]), opened + 1)
        commune = (
            COMMUNE_BY_BFS[rng.choice(plan.spec.communes)]
            if plan.spec.communes
            else rng.choice(COMMUNES)
        )
        streets = self.names.streets["fr" if commune.language == "fr" else "de"]
        street = f"{rng.choice(streets)} {rng.randrange(1, 120)}"
        created = f"{self.date(opened)} 09:00:00+01"
        org_id = plan.org.pk
        lines = self.rows.lines["people_person"]
        out = []
        refugee_status = status in demo.REFUGEE_STATUSES
        applicant_sex = "f" if rng.random() < 0.55 else "m"
        for relation, birth_ord in members:
            if relation == "applicant":
                sex = applicant_sex
            elif relation == "spouse":
                sex = "m" if applicant_sex == "f" else "f"
            else:
                sex = "f" if rng.random() < 0.49 else "m"
            first = rng.choice((self.names.female if sex == "f" else self.names.male)[origin.names])
            last = (
                family
                if relation != "spouse" or rng.random() < 0.7
                else rng.choice(self.names.last[origin.names])
            )
            ahv = next(self.ahv) if rng.random() < (0.55 if refugee_status else 0.95) else NULL
            arr = self.date(arrival) if arrival is not None and arrival >= birth_ord else NULL
            birth_text = self.date(birth_ord) if rng.random() > 0.005 else NULL
            phone = demo.swiss_phone(rng) if relation == "applicant" and rng.random() < 0.7 else ""
            pid = self.uuid()
            lines.append(
                f"{pid}\t{last}\t{first}\t{birth_text}\t{sex}\t{origin.nationality}\t{status}\t"
                f"{arr}\t{origin.languages}\t{ahv}\t{street}\t{commune.postal_code}\t"
                f"{commune.name}\t{phone}\t\t{org_id}\t{created}\t1\n"
            )
            out.append((pid, relation, last))
        self.persons_left -= len(out)
        return out

    def standalone_persons(self, count: int) -> None:
        """Persons registered without a dossier (enquiries, relatives of closed cases)."""
        self.case_index = len(self.vctx.cases)
        for _ in range(count):
            plan = self.rng.choice(self.services)
            opened = self.today - self.rng.randrange(YEARS * 365)
            self.household(plan, CasePlan(-1, Domain.ADULT_PROTECTION, opened, None))

    # dossiers --------------------------------------------------------------------------

    def run(self) -> None:
        vctx = self.vctx
        rng = self.rng
        numbers = reserve("'cases_case_number_seq'", len(vctx.cases))
        consent_ids = reserve("pg_get_serial_sequence('cases_consent', 'id')", len(vctx.cases) // 5)
        rows = self.rows.lines
        for index, case in enumerate(vctx.cases):
            self.case_index = index
            plan = vctx.plans[case.owner]
            protection = case.domain in (Domain.CHILD_PROTECTION, Domain.ADULT_PROTECTION)
            returning = bool(plan.clients) and rng.random() < 0.05
            unit = NULL
            if returning or (plan.clients and self.persons_left <= len(vctx.cases) - index - 1):
                client = rng.choice(plan.clients)
            else:
                members = self.household(plan, case)
                client = members[0][0]
                if len(members) > 1:
                    unit = self.uuid()
                    word = "Ménage" if plan.spec.language == "fr" else "Haushalt"
                    rows["people_assistanceunit"].append(
                        f"{unit}\t{word} {members[0][2]}\t{plan.org.pk}\t"
                        f"{self.date(case.opened)} 09:00:00+01\n"
                    )
                    for pid, relation, _ in members:
                        rows["people_unitmember"].append(f"{unit}\t{pid}\t{relation}\n")
            if len(plan.clients) < 5000:
                plan.clients.append(client)
            else:
                plan.clients[rng.randrange(5000)] = client
            worker, team = self.responsible(plan, case)
            age = self.today - case.opened
            if case.closed is None:
                status, closed, reason = "open", NULL, ""
                stage = (
                    Stage.INTAKE_1
                    if age < 30
                    else Stage.INTAKE_2
                    if age < 120
                    else Stage.COUNSELLING
                )
            else:
                status, closed, stage = "closed", self.date(case.closed), Stage.CLOSED
                reason = rng.choice(_PROTECTION_CLOSURES if protection else _SERVICE_CLOSURES)
            case_id = self.uuid()
            steering = self.steering(case, stage, protection, case_id, plan, worker)
            opened_text = self.date(case.opened)
            stamp = f"{opened_text} 10:00:00+01"
            title = demo.title_for(case.domain, plan.spec.language)
            rows["cases_case"].append(
                f"{case_id}\t{numbers + index}\t{plan.org.pk}\t{case.domain}\t{client}\t{unit}\t"
                f"{worker}\t{team or NULL}\t{opened_text}\t{status}\t{stage}\t{closed}\t"
                f"{reason}\t{title}\t1\t{stamp}\t{stamp}\t{steering}\n"
            )
            rows["cases_casetransition"].append(
                f"{case_id}\t{plan.org.pk}\topened\t\tintake_1\t\t\t{{}}\t{worker}\t{stamp}\n"
            )
            if case.closed is not None:
                rows["cases_casetransition"].append(
                    f"{case_id}\t{plan.org.pk}\tclosed\tcounselling\tclosed\t\tclosed\t"
                    f'{{"reason": "{reason}"}}\t{worker}\t'
                    f"{self.date(case.closed)} 16:00:00+01\n"
                )
            self.share(plan, case, case_id, client, worker, consent_ids, protection)
            if index % CHUNK == CHUNK - 1:
                self.rows.flush()
        if self.persons_left > 0:
            self.standalone_persons(self.persons_left)
        self.rows.flush(last=True)

    def steering(
        self, case: CasePlan, stage: str, protection: bool, case_id: str, plan: OrgPlan, worker: int
    ) -> str:
        """stage_since, received_on, segment, segment_since (SEG: counselling dossiers have a
        segment, A for about 15 %, B for half, C for the rest). A closed dossier's past is
        written on the way (``filum.demo.history``); the open ones of social services get
        theirs from ``filum.demo.steering`` once loaded."""
        language = "fr" if plan.spec.language == "fr" else "de"
        if protection:
            end = case.closed if case.closed is not None else self.today
            self.history.protection(case_id, plan.org.pk, language, worker, case.opened, end)
        counselled = stage == Stage.COUNSELLING or (
            stage == Stage.CLOSED and (case.closed or 0) - case.opened > 120
        )
        received_day = case.opened + self.rng.randrange(60, 120) if counselled else None
        roll = self.rng.random()
        segment = "A" if roll < 0.15 else "B" if roll < 0.65 else "C"
        segment_since = received_day
        if case.closed is not None and not protection:
            segment, segment_since = self.history.closed_service(
                case_id=case_id,
                org=plan.org.pk,
                language=language,
                worker=worker,
                head=plan.heads[self.rng.randrange(len(plan.heads))] if plan.heads else None,
                opened=case.opened,
                closed=case.closed,
                received=received_day,
                segment=segment,
            )
        if protection or received_day is None:
            since = NULL
            if stage == Stage.INTAKE_2:
                since = self.date(case.opened + 20)
            elif stage == Stage.CLOSED and case.closed is not None:
                since = self.date(case.closed)
            return f"{since}\t{NULL}\t\t{NULL}"
        received = self.date(received_day)
        since = self.date(case.closed) if case.closed is not None else received
        return f"{since}\t{received}\t{segment}\t{self.date(segment_since or received_day)}"

    def responsible(self, plan: OrgPlan, case: CasePlan) -> tuple[int, int | None]:
        workers = plan.workers
        if case.closed is None:
            # open dossiers are dealt out evenly: ~80 per worker
            plan.next_worker += 1
            return workers[plan.next_worker % len(workers)]
        return workers[self.rng.randrange(len(workers))]

    def share(
        self,
        plan: OrgPlan,
        case: CasePlan,
        case_id: str,
        client: str,
        worker: int,
        consent_ids: int,
        protection: bool,
    ) -> None:
        rng = self.rng
        roll = rng.random()
        rows = self.rows.lines
        end = (
            self.date(self.today + rng.randrange(30, 365))
            if case.closed is None
            else self.date(case.closed)
        )
        granted = f"{self.date(case.opened + 20)} 11:00:00+01"
        texts = demo.SHARE_TEXTS["fr" if plan.spec.language == "fr" else "de"]
        if not protection and roll < 0.10:
            partner = rng.choice(self.partners)
            consent = consent_ids + self.consents
            self.consents += 1
            signed_day = min(case.opened + 15, self.today)
            signed = self.date(signed_day)
            # A consent ends no earlier than it was signed (a CHECK since decision 0008).
            consent_end = end if case.closed is None else self.date(max(case.closed, signed_day))
            rows["cases_consent"].append(
                f"{consent}\t{case_id}\t{plan.org.pk}\t{client}\tspecific\t"
                f"{texts['consent_scope']}\t{{journal,plan}}\t{signed}\t"
                f"{consent_end}\t\\N\t{worker}\t{granted}\n"
            )
            rows["cases_share"].append(
                f"{self.uuid()}\t{case_id}\t{plan.org.pk}\t{partner.org.pk}\t{{journal,plan}}\t"
                f"write\tconsent\t{texts['mandate']}\t{consent}\t{end}\t{worker}\t"
                f"{granted}\t\\N\t\\N\n"
            )
            self.shares += 1
        elif not protection and roll < 0.13:
            kesb = rng.choice(self.protection)
            rows["cases_share"].append(
                f"{self.uuid()}\t{case_id}\t{plan.org.pk}\t{kesb.org.pk}\t{{core,journal}}\t"
                f"read\tlegal\t{texts['child_notice']}\t\\N\t{end}\t{worker}\t{granted}\t"
                f"\\N\t\\N\n"
            )
            self.shares += 1
        elif protection and roll < 0.2:
            service = rng.choice(self.services)
            rows["cases_share"].append(
                f"{self.uuid()}\t{case_id}\t{plan.org.pk}\t{service.org.pk}\t{{core}}\tread\t"
                f"legal\t{texts['cooperation']}\t\\N\t{end}\t"
                f"{worker}\t{granted}\t\\N\t\\N\n"
            )
            self.shares += 1


def _history(generator: Generator) -> History:
    """The writer of closed dossiers' pasts and protection journals, on the same lines."""
    from filum.cases.models import SegmentCriterion
    from filum.journal.models import Topic

    topics = dict(Topic.objects.filter(is_active=True).values_list("code", "pk"))
    social = set(
        Topic.objects.filter(is_active=True, is_social_work=True).values_list("pk", flat=True)
    )
    criteria: dict[str, list[int]] = defaultdict(list)
    for segment, pk in SegmentCriterion.objects.filter(is_active=True).values_list("segment", "pk"):
        criteria[segment].append(pk)
    return History(
        lines=generator.rows.lines,
        day=generator.day,
        first_day=generator.first_day,
        today=generator.today,
        rng=generator.rng,
        topics=topics,
        social_topics=social,
        criteria=dict(criteria),
        proposal_ids=SequenceBlock("cases_segmentproposal", pipe=generator.rows.pipe),
    )


# --- loading -------------------------------------------------------------------------------


@contextmanager
def bulk_load(tables: tuple[str, ...]) -> Iterator[None]:
    """Inside a transaction: audit triggers off, secondary indexes and foreign keys dropped;
    all made again (and the triggers back on) at the end. Rolls back whole on failure."""
    with connection.cursor() as cursor:
        # ALTER TABLE refuses tables with pending (deferred) foreign-key checks: run them now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
            [list(tables)],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = 'public' AND i.tablename = ANY(%s) AND NOT EXISTS ("
            "  SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            "  (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for table in tables:
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        for table, name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for _, name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _, _, definition in indexes:
            # A partitioned table's index is listed as "ON ONLY parent": made again that way
            # it would stay invalid, without its partitions' indexes (which dropping it took).
            cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for table in tables:
            cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid")
        invalid = [row[0] for row in cursor.fetchall()]
        if invalid:
            raise RuntimeError(f"indexes left invalid by the bulk load: {', '.join(invalid)}")


def step_bulk_rows(vctx: VolumeContext) -> None:
    Generator(vctx).run()


def step_person_reach(vctx: VolumeContext) -> None:
    """The person search's reach and names (U4), set-based from the loaded rows: the bulk
    load switches off the triggers that keep them otherwise (people migration 0005)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT people_personreach_refill()")
        vctx.rows["person reach"] = cursor.fetchone()[0]


VolumeStep = Callable[[VolumeContext], None]

# In order; an app with demo data of its own adds a step here (after step_bulk_rows it can
# read the loaded dossiers with SQL and COPY its rows).
VOLUME_STEPS: list[tuple[str, VolumeStep]] = [
    ("organisations", step_volume_organisations),
    ("dossier plan", step_case_plan),
    ("retention backlog", step_retention_backlog),
    ("users", step_volume_users),
    ("persons and dossiers (COPY)", step_bulk_rows),
    ("legal holds of the backlog (SQL)", step_backlog_holds),
    ("person reach", step_person_reach),
    ("case steering (COPY)", step_steering_volume),
    ("partners' journal entries (SQL)", step_partner_entries),
    ("audit trail (COPY)", step_audit_trail),
    ("catalogue, plans, assessments, CII cases (COPY)", step_integration_volume),
]


def seed_volume(
    *, persons: int, seed: int = 42, log: Callable[[str], Any] = print
) -> VolumeContext:
    """The demo organisations and logins, then ``persons`` persons and half as many dossiers."""
    started = time.perf_counter()
    ctx = SeedContext.create(seed)
    vctx = VolumeContext(base=ctx, persons=persons)
    with transaction.atomic():
        demo.step_organisations(ctx)
        # the read log's monthly partitions of the audit trail, before their indexes go
        ensure_read_log_partitions(start=read_log_start(ctx.today), months=READ_MONTHS)
        with bulk_load(BULK_TABLES):
            for name, step in VOLUME_STEPS:
                t0 = time.perf_counter()
                step(vctx)
                vctx.timings[name] = time.perf_counter() - t0
                log(f"  {name}: {vctx.timings[name]:.1f} s")
            t0 = time.perf_counter()
        vctx.timings["indexes and foreign keys"] = time.perf_counter() - t0
        log(f"  indexes and foreign keys: {vctx.timings['indexes and foreign keys']:.1f} s")
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    vctx.timings["analyze"] = time.perf_counter() - t0
    log(f"  analyze: {vctx.timings['analyze']:.1f} s")
    # the rule tasks and lights of the morning after the load (run_nightly_rules commits
    # per chunk, so it runs after the load's transaction)
    t0 = time.perf_counter()
    summary = run_nightly_rules(as_of=ctx.today)
    vctx.rows["rule tasks"] += summary.created_total
    vctx.timings["nightly rules"] = time.perf_counter() - t0
    log(f"  nightly rules: {vctx.timings['nightly rules']:.1f} s")
    vctx.timings["total"] = time.perf_counter() - started
    return vctx
