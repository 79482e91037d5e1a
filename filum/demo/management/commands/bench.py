"""Response-time figures on whatever data the database holds (the ten-year volume for the
real run: `seed_demo --size 1500000`): every page of issue 7's table, timed in process through
the Django test client, and a mixed load of simulated workers against gunicorn on loopback."""

from __future__ import annotations

import io
import json
import math
import os
import random
import statistics
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Count, F, Func, Q
from django.template import TemplateDoesNotExist
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case, Share
from filum.cii.models import CiiCase
from filum.cii.synthetic import make_synthetic_cii_cases
from filum.demo import apibench, benchsubjects, load, shsbench
from filum.exchange.bench import measure_import, measure_medium, measure_resume
from filum.followup.cockpit import TEAM_ROLES
from filum.gunicorn_conf import freeze_loaded
from filum.people.models import Person
from filum.people.search import find_candidates
from filum.plans.models import Period, Programme
from filum.records import retention_bench
from filum.records.models import ReadLog
from filum.records.roles import owner_connection
from filum.steering import bench as steering_bench
from filum.steering import listbench
from filum.tenancy.middleware import SESSION_MEMBERSHIP_KEY
from filum.tenancy.models import Membership, Organisation, OrganisationKind, Role
from filum.tenancy.policy import Actor

DUP_BIRTH = "duplicate search, typo + birth date"
DUP_NAME = "duplicate search, name only"
SEARCH_NAMES = ("Meier", "Schmid", "Müller")
MY_LIST = "dossier list, worker's own"
DETAIL = "dossier detail"
ORG_LIST_LARGE = "dossier list, whole org, largest service"
ORG_LIST_SMALL = "dossier list, whole org, small service"
PARTNER_LIST = "dossier list, integration partner"
COCKPIT = "cockpit, worker with ~80 open"
TEAM = "team view, largest team"
TEAM_ORG = "team view, whole org, largest service"
AUDIT = "DPO audit, one dossier"
AUDIT_USER = "DPO audit, one dossier, one user"
CII_REPORT = "CII monitoring report, 10,000 CII cases"
CII_CASES = 10_000
PLAN = "plan page, dossier with the largest plan"
CATALOGUE = "catalogue, 500 programmes"
# the AIS timeline of the person with 40 measures and 10 assessments (decision 0021); its
# subject is filum.demo.benchsubjects.timeline_person() (the volume makes that person)
TIMELINE = "timeline, person with 40 measures and 10 assessments"
SUBJECT_ACCESS = "subject access JSON export, person with the most dossiers"  # decision 0037
TARGETS_MS = {
    DUP_BIRTH: 50.0,
    DUP_NAME: 50.0,
    **{f"person search {name}": 50.0 for name in SEARCH_NAMES},
    MY_LIST: 50.0,
    DETAIL: 100.0,
    ORG_LIST_LARGE: 50.0,
    ORG_LIST_SMALL: 50.0,
    PARTNER_LIST: 50.0,
    COCKPIT: 100.0,
    TEAM: 300.0,
    TEAM_ORG: 300.0,
    AUDIT: 200.0,
    AUDIT_USER: 200.0,
    CII_REPORT: 1000.0,
    PLAN: 100.0,
    CATALOGUE: 100.0,
    TIMELINE: 150.0,
    SUBJECT_ACCESS: 2000.0,
    **apibench.TARGETS_MS,
    **steering_bench.TARGETS_MS,
    **listbench.TARGETS_MS,
    **shsbench.TARGETS_MS,
    **retention_bench.TARGETS_MS,
}
LOAD = "mixed load"
IMPORT = "import of a delivery"
RESUME = "import kill and resume"
MEDIUM = "import of a medium service"
LOAD_TARGET_RPS = 150.0
LOAD_TARGET_P95_MS = 200.0
# a paced load passes when the server answered at least this share of the offered rate
KEPT_RATE = 0.95
# each load is preceded by a warm-up of this fraction of its length, as fast as answers come
WARM_UP_SHARE = 6
COUNTED_TABLES = (
    "tenancy_organisation",
    "tenancy_user",
    "tenancy_membership",
    "people_person",
    "people_assistanceunit",
    "people_unitmember",
    "cases_case",
    "cases_casetransition",
    "cases_consent",
    "cases_share",
    "journal_contact",
    "records_readlog",
)
WARM_UP = 5
MIN_LONG_RUNS = 30
QUICK_REPEAT, QUICK_LONG_REPEAT, QUICK_LOAD_SECONDS, QUICK_SIZE = 20, 10, 15.0, 60000


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


@dataclass
class Figure:
    name: str
    samples_ms: list[float] = field(repr=False)
    queries: int | None = None
    note: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 0.95)

    @property
    def target(self) -> float:
        return TARGETS_MS[self.name]

    @property
    def ratio(self) -> float:
        return self.p95 / self.target

    @property
    def passed(self) -> bool:
        return self.p95 <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n": len(self.samples_ms),
            "p50_ms": round(self.p50, 2),
            "p95_ms": round(self.p95, 2),
            "target_ms": self.target,
            # three significant digits: a batch job far under its target keeps a ratio
            "ratio_p95_to_target": float(f"{self.ratio:.3g}"),
            "pass": self.passed,
            "queries": self.queries,
            "note": self.note,
        }


# --- realistic inputs ----------------------------------------------------------------------

_ACCENTS = {"e": "é", "é": "e", "è": "e", "a": "ä", "ä": "a", "o": "ö", "ö": "o", "u": "ü"}
_ACCENTS |= {"ü": "u", "c": "ç", "ç": "c", "i": "ï"}


def misspell(name: str, rng: random.Random) -> str:
    """The name as someone might type it: an accent added or dropped, or one typo."""
    positions = [i for i, ch in enumerate(name) if ch.lower() in _ACCENTS]
    if positions and rng.random() < 0.5:
        i = rng.choice(positions)
        swapped = _ACCENTS[name[i].lower()]
        return name[:i] + (swapped.upper() if name[i].isupper() else swapped) + name[i + 1 :]
    if len(name) < 4:
        return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    i = rng.randrange(1, len(name) - 1)
    kind = rng.choice(("swap", "drop", "double", "replace"))
    if kind == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if kind == "drop":
        return name[:i] + name[i + 1 :]
    if kind == "double":
        return name[:i] + name[i] + name[i:]
    return name[:i] + rng.choice("aeinrst") + name[i + 1 :]


def sample_persons(count: int) -> list[Person]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'people_person'")
        estimate = max(1.0, float(cursor.fetchone()[0]))
        percent = min(100.0, 100.0 * count * 10 / estimate)
        cursor.execute(
            "SELECT id FROM people_person TABLESAMPLE SYSTEM (%s) "
            "WHERE birth_date IS NOT NULL LIMIT %s",
            [percent, count],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) < count:  # a small table, or stale statistics: the sample missed its pages
        ids = list(
            Person.objects.filter(birth_date__isnull=False)
            .order_by("pk")
            .values_list("pk", flat=True)[:count]
        )
    return list(Person.objects.filter(pk__in=ids))


def pick_worker(caseload: int = 80) -> Membership:
    """The social worker whose open caseload is nearest to ``caseload``."""
    row = (
        Case.objects.filter(status="open", responsible__isnull=False)
        .values("responsible")
        .annotate(n=Count("id"))
        .annotate(distance=Func(F("n") - caseload, function="ABS"))
        .order_by("distance", "responsible")
        .first()
    )
    if row is None:
        raise CommandError("No open dossier in the database: load data with seed_demo first.")
    membership = (
        Membership.objects.active()
        .filter(user_id=row["responsible"], role__in=[Role.SOCIAL_WORKER, Role.PROTECTION_STAFF])
        .select_related("user", "organisation", "team")
        .first()
    )
    if membership is None:
        raise CommandError("The busiest responsible worker has no active worker membership.")
    return membership


def member(organisation_id: int, role: str, **filters: Any) -> Membership | None:
    return (
        Membership.objects.active()
        .filter(organisation_id=organisation_id, role=role, **filters)
        .select_related("user", "organisation", "team")
        .order_by("pk")
        .first()
    )


def social_services_by_size() -> list[tuple[int, int]]:
    """(organisation id, dossiers) of the social services with a section head, largest first."""
    with_head = Membership.objects.active().filter(role=Role.SECTION_HEAD).values("organisation")
    rows = (
        Case.objects.filter(owner__kind=OrganisationKind.SOCIAL_SERVICE, owner_id__in=with_head)
        .values("owner")
        .annotate(n=Count("id"))
        .order_by("-n", "owner")
    )
    return [(row["owner"], row["n"]) for row in rows]


def largest_team_head() -> tuple[Membership, int] | None:
    """The section head of the team with the most active caseworkers, and that number."""
    teams = (
        Membership.objects.active()
        .filter(team__isnull=False, role__in=TEAM_ROLES)
        .values("team")
        .annotate(n=Count("user", distinct=True))
        .order_by("-n", "team")
    )
    for row in teams[:20]:
        head = (
            Membership.objects.active()
            .filter(team_id=row["team"], role=Role.SECTION_HEAD)
            .select_related("user", "organisation", "team")
            .order_by("pk")
            .first()
        )
        if head is not None:
            return head, row["n"]
    return None


# --- timing --------------------------------------------------------------------------------


def time_calls(
    call: Callable[[int], Any], repeat: int, budget_seconds: float | None = None
) -> list[float]:
    """Milliseconds of ``call(i)`` for i in WARM_UP .. WARM_UP + repeat, after a warm-up of
    WARM_UP calls (fewer if ``repeat`` is smaller).
    With a budget, a page slower than budget/repeat gets fewer runs (never fewer than
    MIN_LONG_RUNS, or ``repeat`` if that is smaller)."""
    warm = []
    for i in range(min(WARM_UP, repeat)):
        started = time.perf_counter()
        call(i)
        warm.append(time.perf_counter() - started)
    if budget_seconds:
        each = statistics.median(warm)
        if each * repeat > budget_seconds:
            repeat = max(min(repeat, MIN_LONG_RUNS), int(budget_seconds / each))
    samples = []
    for i in range(WARM_UP, WARM_UP + repeat):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def count_queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


class Page:
    """GET a page through the full Django stack (middleware, view, template) as a signed-in
    user. While a template is still missing, the view is timed up to its render call."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.template_missing = ""

    def get(self, url: str) -> None:
        self.request("get", url)

    def post(self, url: str, data: dict[str, str]) -> None:
        self.request("post", url, data)

    def request(self, method: str, url: str, data: dict[str, str] | None = None) -> None:
        try:
            response = getattr(self.client, method)(url, data or {})
        except TemplateDoesNotExist as exc:
            self.template_missing = str(exc)
            return
        if response.status_code != 200:
            raise CommandError(f"{method.upper()} {url} answered {response.status_code}")

    @property
    def note(self) -> str:
        if self.template_missing:
            return f"template {self.template_missing} missing: timed up to rendering"
        return ""


def bench_host() -> str:
    hosts = [h for h in settings.ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
    return "testserver" if not hosts or "testserver" in hosts else hosts[0]


def bench_client(membership: Membership) -> Client:
    client = Client(
        HTTP_HOST=bench_host(), secure=bool(getattr(settings, "SECURE_SSL_REDIRECT", False))
    )
    client.force_login(membership.user)
    session = client.session
    session[SESSION_MEMBERSHIP_KEY] = membership.pk
    session.save()
    return client


def who(m: Membership) -> str:
    return f"{m.user.username} ({m.organisation.name})"


@dataclass
class Options:
    repeat: int
    long_repeat: int
    figure_seconds: float
    only: list[str]
    seed: int
    load_seconds: float
    load_clients: int
    load_rate: float = LOAD_TARGET_RPS
    import_dossiers: int = 100_000
    import_journal: int = 4_000_000
    resume_dossiers: int = 2_000


class Bench:
    """Collects the figures; each one is measured only if --only asks for it."""

    def __init__(self, options: Options, progress: Callable[[str], None] = print) -> None:
        self.o = options
        self.progress = progress
        self.rng = random.Random(options.seed)  # noqa: S311 (benchmark inputs)
        self.figures: list[Figure] = []
        self.skipped: list[dict[str, str]] = []
        self.load: dict[str, Any] | None = None
        self.capacity: dict[str, Any] | None = None
        self.imported: dict[str, Any] | None = None
        self.resumed: dict[str, Any] | None = None
        self.medium: dict[str, Any] | None = None

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        self.progress(f"{figure.name}: {len(figure.samples_ms)} runs, p95 {figure.p95:.1f} ms")

    def wanted(self, name: str) -> bool:
        return not self.o.only or any(o.lower() in name.lower() for o in self.o.only)

    def asked(self, name: str) -> bool:
        """Named by --only (the figures that run only when asked)."""
        return any(o.lower() in name.lower() for o in self.o.only)

    def skip(self, name: str, reason: str) -> None:
        if self.wanted(name):
            self.skipped.append({"name": name, "reason": reason})

    def page(
        self,
        name: str,
        member: Membership,
        url: str | Callable[[int], str],
        note: str,
        *,
        data: dict[str, str] | None = None,
        long: bool = False,
    ) -> None:
        """Time GET ``url`` (or POST ``data(i)``) as ``member``: --repeat runs, or
        --long-repeat for the slow pages, within --figure-seconds."""
        if not self.wanted(name):
            return
        page = Page(bench_client(member))

        def url_of(i: int) -> str:
            return url(i) if callable(url) else url

        def call(i: int) -> None:
            if data is None:
                page.get(url_of(i))
            else:
                page.post(url_of(i), data)

        repeat = self.o.long_repeat if long else self.o.repeat
        samples = time_calls(call, repeat, self.o.figure_seconds)
        queries = count_queries(lambda: call(0))
        notes = [n for n in (note, page.note) if n]
        self.add(Figure(name, samples, queries, "; ".join(notes)))

    def run(self) -> dict[str, Any]:
        worker = pick_worker()
        open_cases = list(
            Case.objects.filter(responsible=worker.user, status="open")
            .order_by("-opened_on", "pk")
            .values_list("pk", flat=True)
        )
        self.duplicate_search(worker)
        self.person_search(worker)
        self.page(MY_LIST, worker, reverse("case_list"), f"{len(open_cases)} open dossiers")
        detail_urls = [reverse("case_detail", args=[uuid.UUID(str(pk))]) for pk in open_cases]
        self.page(
            DETAIL, worker, lambda i: detail_urls[i % len(detail_urls)], "the worker's dossiers"
        )
        self.organisation_lists()
        self.partner_list()
        self.page(COCKPIT, worker, reverse("cockpit"), f"{len(open_cases)} open dossiers")
        self.team_views()
        self.audit_pages()
        self.cii_report()
        self.plan_page()
        self.catalogue_page(worker)
        self.timeline_page()
        self.subject_access()
        self.api_lists(worker)
        self.canton_dataset()
        self.person_lists()
        self.federal_statistics()
        self.import_speed()
        self.retention_listing()
        if self.wanted(LOAD):
            self.progress(
                f"mixed load: {self.o.load_clients} clients, {self.o.load_seconds:.0f} s paced at "
                f"{self.o.load_rate:.0f} requests/s, then {self.o.load_seconds:.0f} s as fast as "
                "answers come"
            )
            self.load = self.mixed_load(self.o.load_rate)
            self.capacity = self.mixed_load(0.0)
        return {
            "worker": {
                "username": worker.user.username,
                "organisation": worker.organisation.name,
                "open_dossiers": len(open_cases),
            },
            "repeat": self.o.repeat,
            "long_repeat": self.o.long_repeat,
            "figures": [f.as_dict() for f in self.figures],
            "skipped": self.skipped,
            "load": self.load,
            "load_capacity": self.capacity,
            "import": self.imported,
            "import_resume": self.resumed,
            "import_medium": self.medium,
            "database": database_figures(),
            "server": server_figures(),
        }

    def duplicate_search(self, worker: Membership) -> None:
        if not (self.wanted(DUP_BIRTH) or self.wanted(DUP_NAME)):
            return
        actor = Actor(user=worker.user, membership=worker)
        repeat = self.o.repeat
        persons = sample_persons(repeat + WARM_UP)
        if not persons:
            raise CommandError("No person with a birth date in the database.")
        inputs = [
            (p, misspell(p.last_name, self.rng))
            for p in (persons * (1 + (repeat + WARM_UP) // len(persons)))
        ]
        found = 0

        def with_birth_date(i: int) -> None:
            nonlocal found
            person, typed = inputs[i]
            candidates = find_candidates(
                actor=actor,
                last_name=typed,
                first_name=person.first_name,
                birth_date=person.birth_date,
            )
            found += any(c.person.pk == person.pk for c in candidates)

        def name_only(i: int) -> None:
            person, typed = inputs[i]
            find_candidates(actor=actor, last_name=typed, first_name=person.first_name)

        if self.wanted(DUP_BIRTH):
            samples = time_calls(with_birth_date, repeat)
            hit_rate = found / (repeat + WARM_UP)
            self.add(
                Figure(
                    DUP_BIRTH,
                    samples,
                    count_queries(lambda: with_birth_date(0)),
                    f"the existing person was among the candidates in {hit_rate:.0%} of "
                    "searches (find_candidates, no HTTP)",
                )
            )
        if self.wanted(DUP_NAME):
            self.add(
                Figure(
                    DUP_NAME,
                    time_calls(name_only, repeat),
                    count_queries(lambda: name_only(0)),
                    "typed name with a typo or accent change (find_candidates, no HTTP)",
                )
            )

    def person_search(self, worker: Membership) -> None:
        url = reverse("person_search")
        for name in SEARCH_NAMES:
            figure = f"person search {name}"
            bearing = Person.objects.filter(last_name=name).count() if self.wanted(figure) else 0
            self.page(
                figure,
                worker,
                url,
                f"POST q={name} as {who(worker)}; {bearing:,} persons of that name",
                data={"q": name},
            )

    def organisation_lists(self) -> None:
        if not (self.wanted(ORG_LIST_LARGE) or self.wanted(ORG_LIST_SMALL)):
            return
        services = social_services_by_size()
        if not services:
            self.skip(ORG_LIST_LARGE, "no social service with a section head and dossiers")
            self.skip(ORG_LIST_SMALL, "no social service with a section head and dossiers")
            return
        url = reverse("case_list") + "?scope=all"
        for name, (org_id, dossiers) in (
            (ORG_LIST_LARGE, services[0]),
            (ORG_LIST_SMALL, services[-1]),
        ):
            head = member(org_id, Role.SECTION_HEAD)
            if head is None:  # social_services_by_size() found one; it left meanwhile
                self.skip(name, "the section head is no longer active")
                continue
            self.page(name, head, url, f"{who(head)}, {dossiers:,} dossiers; ?scope=all")

    def partner_list(self) -> None:
        if not self.wanted(PARTNER_LIST):
            return
        staffed = Membership.objects.active().filter(role=Role.PARTNER_STAFF)
        busiest = (
            Share.objects.active()
            .filter(
                organisation__kind=OrganisationKind.INTEGRATION_PARTNER,
                organisation_id__in=staffed.values("organisation"),
            )
            .values("organisation")
            .annotate(n=Count("id"))
            .order_by("-n", "organisation")
            .first()
        )
        partner = member(busiest["organisation"], Role.PARTNER_STAFF) if busiest else None
        if partner is None or busiest is None:
            self.skip(PARTNER_LIST, "no integration partner with active shares and staff")
            return
        self.page(
            PARTNER_LIST,
            partner,
            reverse("case_list"),
            f"{who(partner)}, {busiest['n']:,} active shares; default scope (shared)",
        )

    def team_views(self) -> None:
        url = reverse("cockpit_team")
        if self.wanted(TEAM):
            found = largest_team_head()
            if found is None:
                self.skip(TEAM, "no section head in a team")
            else:
                head, size = found
                team = head.team.name if head.team else ""
                self.page(TEAM, head, url, f"{who(head)}, team {team}: {size} workers", long=True)
        if self.wanted(TEAM_ORG):
            services = social_services_by_size()
            org_head = member(services[0][0], Role.SECTION_HEAD) if services else None
            if org_head is None:
                self.skip(TEAM_ORG, "no social service with a section head and dossiers")
                return
            workers = (
                Membership.objects.active()
                .filter(organisation_id=org_head.organisation_id, role__in=TEAM_ROLES)
                .values("user")
                .distinct()
                .count()
            )
            self.page(
                TEAM_ORG,
                org_head,
                url + "?scope=org",
                f"{who(org_head)}: {workers} workers",
                long=True,
            )

    def audit_pages(self) -> None:
        if not (self.wanted(AUDIT) or self.wanted(AUDIT_USER)):
            return
        with_dpo = Membership.objects.active().filter(role=Role.DATA_PROTECTION_OFFICER)
        most_read = (
            ReadLog.objects.filter(
                case_id__isnull=False,
                case_id__in=Case.objects.filter(
                    owner_id__in=with_dpo.values("organisation")
                ).values("pk"),
            )
            .values("case_id")
            .annotate(n=Count("id"))
            .order_by("-n", "case_id")
            .first()
        )
        case = Case.objects.filter(pk=most_read["case_id"]).first() if most_read else None
        if case is None:
            self.skip(AUDIT, "no read-log row on a dossier of an organisation with a DPO")
            self.skip(AUDIT_USER, "no read-log row on a dossier of an organisation with a DPO")
            return
        dpo = member(case.owner_id, Role.DATA_PROTECTION_OFFICER)
        if dpo is None:
            raise CommandError(f"The DPO of dossier {case.pk}'s organisation left meanwhile.")
        url = reverse("audit_case", args=[case.pk])
        reads = most_read["n"] if most_read else 0
        note = f"{who(dpo)}; dossier {case.pk} with {reads:,} read-log rows (the most)"
        self.page(AUDIT, dpo, url, note)
        staff = Membership.objects.filter(organisation_id=dpo.organisation_id).values("user")
        reader = (
            ReadLog.objects.filter(case_id=case.pk, user_id__in=staff)
            .exclude(user_id=dpo.user_id)
            .values("user")
            .annotate(n=Count("id"))
            .order_by("-n", "user")
            .first()
        )
        if reader is None:
            self.skip(AUDIT_USER, "nobody but the DPO read the dossier")
            return
        self.page(
            AUDIT_USER,
            dpo,
            f"{url}?user={reader['user']}",
            f"{note}; filtered on the user with the most reads ({reader['n']:,})",
        )

    def cii_report(self) -> None:
        """The CII monitoring report of the largest social service (of its canton, when the
        canton has an integration officer) over at least CII_CASES CII cases: the volume's own,
        topped up with synthetic ones in a transaction that is rolled back afterwards."""
        if not self.wanted(CII_REPORT):
            return
        services = social_services_by_size()
        head = member(services[0][0], Role.SECTION_HEAD) if services else None
        if head is None:
            self.skip(CII_REPORT, "no social service with a section head and dossiers")
            return
        officer = (
            Membership.objects.active()
            .filter(
                role=Role.CANTON_OFFICER,
                organisation__kind=OrganisationKind.CANTON_OFFICE,
                organisation__canton=head.organisation.canton,
            )
            .select_related("user", "organisation", "team")
            .order_by("pk")
            .first()
        )
        reader = officer or head
        counted = CiiCase.objects.countable_by(
            organisation=reader.organisation, canton_wide=officer is not None
        )
        year = timezone.localdate().year
        with transaction.atomic():
            existing = counted.count()
            made = make_synthetic_cii_cases(
                max(0, CII_CASES - existing),
                owner=head.organisation,
                coordinator=head.user,
                years=(year - 3, year),
                seed=self.o.seed,
            )
            note = (
                f"{who(reader)}, year {year}: {existing:,} CII cases of the volume and "
                f"{made:,} synthetic ones (rolled back afterwards)"
            )
            self.page(CII_REPORT, reader, f"{reverse('cii_report')}?year={year}", note)
            transaction.set_rollback(True)

    def federal_statistics(self) -> None:
        """The monitoring page and the monthly SHS delivery of the largest social service
        (decision 0035; filum.demo.shsbench)."""
        services = social_services_by_size()
        head = member(services[0][0], Role.SECTION_HEAD) if services else None
        shsbench.measure(
            self.page,
            lambda name, samples, queries, note: self.add(Figure(name, samples, queries, note)),
            self.wanted,
            services,
            head,
            runs=min(shsbench.DELIVERY_RUNS, self.o.repeat),
        )

    def plan_page(self) -> None:
        """The plan page of the dossier with the largest plan (the volume's 40 measures), as
        its responsible worker: goals, measures with bookings and the assessment synthesis."""
        if not self.wanted(PLAN):
            return
        subject = benchsubjects.largest_plan()
        if subject is None:
            self.skip(PLAN, "no plan with measures in the database")
            return
        self.page(
            PLAN,
            subject.reader,
            reverse("plan_detail", args=[subject.case_id]),
            f"{who(subject.reader)}: {subject.measures} measures, "
            f"{subject.assessments} assessments of the client",
        )

    def timeline_page(self) -> None:
        """The AIS timeline of the client of the largest plan, as the dossier's worker: the
        SVG and the table of its 40 measures, 10 assessments and milestones."""
        if not self.wanted(TIMELINE):
            return
        subject = benchsubjects.timeline_person()
        if subject is None:
            self.skip(TIMELINE, "no plan with measures in the database")
            return
        self.page(
            TIMELINE,
            subject.reader,
            reverse("person_timeline", args=[subject.case_id, subject.person_id]),
            f"{who(subject.reader)}: {subject.measures} measures, "
            f"{subject.assessments} assessments",
        )

    def subject_access(self) -> None:
        from filum.records import subject_access_bench as bench

        if not self.wanted(SUBJECT_ACCESS):
            return
        found = bench.busiest_subject()
        if found is None:
            self.skip(SUBJECT_ACCESS, "no organisation with a DPO and dossiers")
            return
        dpo, person_id, note = found
        client = bench_client(dpo)
        samples = time_calls(
            lambda i: bench.export_json(client, person_id),
            self.o.long_repeat,
            self.o.figure_seconds,
        )
        queries = count_queries(lambda: bench.export_json(client, person_id))
        self.add(Figure(SUBJECT_ACCESS, samples, queries, note))

    def catalogue_page(self, worker: Membership) -> None:
        """The catalogue as a social worker sees it: the first page of all programmes, and of
        each kind of measure in turn."""
        if not self.wanted(CATALOGUE):
            return
        canton = worker.organisation.canton
        programmes = Programme.objects.filter(canton=canton, is_active=True).count()
        if not programmes:
            self.skip(CATALOGUE, "no programme in the catalogue")
            return
        url = reverse("catalogue")
        urls = [url, *(f"{url}?category={c}" for c in ("language_course", "job_coaching"))]
        self.page(
            CATALOGUE,
            worker,
            lambda i: urls[i % len(urls)],
            f"{who(worker)}: {programmes:,} programmes of canton {canton}, "
            f"{Period.objects.filter(programme__canton=canton).count():,} periods",
        )

    def person_lists(self) -> None:
        """The person list with three filters and an XLSX export of 10,000 rows, as the
        largest social service's section head (filum.steering.listbench, decision 0034)."""
        services = social_services_by_size()
        head = member(services[0][0], Role.SECTION_HEAD) if services else None
        if head is None:
            for name in listbench.TARGETS_MS:
                self.skip(name, "no social service with a section head and dossiers")
            return
        listbench.measure(
            head,
            page=lambda name, m, url, note: self.page(name, m, url, note),
            add=lambda name, samples, queries, note: self.add(Figure(name, samples, queries, note)),
            wanted=self.wanted,
            repeat=min(3, self.o.repeat),
        )

    def api_lists(self, worker: Membership) -> None:
        """The REST API's lists with a token of the worker's service and of the largest other
        service's section head (filum.demo.apibench; rolled back afterwards)."""
        others = [org for org, _ in social_services_by_size() if org != worker.organisation_id]
        head = member(others[0], Role.SECTION_HEAD) if others else None
        members = {"worker": worker, **({"head": head} if head else {})}

        def timed(name: str, call: Callable[[int], Any], note: str) -> None:
            if not self.wanted(name):
                return
            samples = time_calls(call, self.o.repeat, self.o.figure_seconds)
            self.add(Figure(name, samples, count_queries(lambda: call(0)), note))

        apibench.measure(
            members,
            host=bench_host(),
            wanted=self.wanted,
            timed=timed,
            search_names=SEARCH_NAMES,
        )

    def canton_dataset(self) -> None:
        """The nightly canton extract and an indicator from it (filum.steering.bench)."""
        for name, samples, queries, note in steering_bench.measure(
            self.wanted, self.o.repeat, min(2, self.o.long_repeat)
        ):
            self.add(Figure(name, samples, queries, note))

    def import_speed(self) -> None:
        """The largest social service exported and imported again (M2), in dossiers/s and as a
        ratio to COPY of the same rows; rolled back afterwards (filum.exchange.bench)."""
        # hours at the full size, and they commit what they import: only when asked by name
        if not any(self.asked(name) for name in (IMPORT, RESUME, MEDIUM)):
            return
        # the organisations earlier import figures kept are not models for the next ones
        kept = set(
            Organisation.objects.filter(
                Q(name__contains="(import bench ") | Q(name__contains="(resume bench, ")
            ).values_list("pk", flat=True)
        )
        services = [s for s in social_services_by_size() if s[0] not in kept]
        if not services:
            for name in (IMPORT, RESUME, MEDIUM):
                self.skip(name, "no social service with dossiers")
            return
        model = Organisation.objects.get(pk=services[0][0])
        if self.asked(IMPORT):
            self.progress(
                f"{IMPORT}: {self.o.import_dossiers:,} dossiers, "
                f"{self.o.import_journal:,} journal entries"
            )
            self.imported = measure_import(
                model, dossiers=self.o.import_dossiers, journal=self.o.import_journal, keep=True
            )
        if self.asked(RESUME):
            self.progress(f"{RESUME}: {self.o.resume_dossiers:,} dossiers")
            self.resumed = measure_resume(
                model,
                dossiers=self.o.resume_dossiers,
                journal=self.o.resume_dossiers * self.o.import_journal // self.o.import_dossiers,
            )
        if self.asked(MEDIUM):
            self.progress(MEDIUM)
            self.medium = measure_medium(model)

    def retention_listing(self) -> None:
        """The nightly listing of dossiers past their retention (decision 0036), a dry run."""
        if self.wanted(retention_bench.NIGHTLY):
            samples, note = retention_bench.time_nightly_listing(self.o.long_repeat)
            queries = count_queries(retention_bench.list_once)
            self.add(Figure(retention_bench.NIGHTLY, samples, queries, note))
        if self.wanted(retention_bench.PAGE):
            samples, run, note = retention_bench.time_page_listing(self.o.long_repeat)
            if run is not None:
                # two pages: the queries of one are half
                self.add(Figure(retention_bench.PAGE, samples, count_queries(run) // 2, note))
        if self.wanted(retention_bench.JOB):
            samples, note = retention_bench.time_job(self.o.long_repeat)
            queries = count_queries(retention_bench.job_once)
            self.add(Figure(retention_bench.JOB, samples, queries, note))

    def mixed_load(self, rate: float) -> dict[str, Any]:
        """The mixed load paced at ``rate`` requests a second (the verdict: the rate kept, p95
        within the target), or, with ``rate`` 0, as fast as answers come (the capacity)."""
        workers = load.pick_load_workers(self.o.load_clients, self.rng)
        if not workers:
            raise CommandError("No social worker with open dossiers for the mixed load.")
        signed_in = load.open_sessions(workers, self.o.load_clients)
        try:
            with load.gunicorn() as server:
                # a warm-up, not counted: the workers' connections, their compiled and
                # prepared queries, the pages' rows in PostgreSQL's cache (a server that
                # runs all day has them)
                warm_up = load.run_load(
                    server.port, signed_in, self.o.load_seconds / WARM_UP_SHARE, self.o.seed
                )
                result = load.run_load(
                    server.port, signed_in, self.o.load_seconds, self.o.seed, server, rate
                )
        except RuntimeError as exc:  # gunicorn did not start; its log is in the message
            raise CommandError(str(exc)) from exc
        finally:
            load.close_sessions(signed_in)
        summary = load_summary(result, len(signed_in), len(workers))
        summary["warm_up_requests"] = sum(len(s) for s in warm_up.samples.values())
        summary["warm_up_recorded"] = len(warm_up.samples["record contact"])
        summary["warm_up_errors"] = sum(warm_up.errors.values())
        return summary


def load_summary(result: load.LoadResult, clients: int, workers: int) -> dict[str, Any]:
    def row(name: str, samples: list[float], errors: int) -> dict[str, Any]:
        return {
            "name": name,
            "requests": len(samples) + errors,
            "per_second": round((len(samples) + errors) / result.seconds, 1),
            "p50_ms": round(statistics.median(samples), 2) if samples else None,
            "p95_ms": round(percentile(samples, 0.95), 2) if samples else None,
            "p99_ms": round(percentile(samples, 0.99), 2) if samples else None,
            "errors": errors,
        }

    rows = [row(kind, result.samples[kind], result.errors[kind]) for kind in load.KINDS]
    everything = [ms for kind in load.KINDS for ms in result.samples[kind]]
    overall = row("all requests", everything, sum(result.errors.values()))
    p95 = overall["p95_ms"] if overall["p95_ms"] is not None else math.inf
    if result.rate:
        # paced: the server kept the offered rate (a Poisson stream varies by a few percent)
        # and answered within the target, from the moment each request was due
        passed = (
            result.rate >= LOAD_TARGET_RPS
            and overall["per_second"] >= KEPT_RATE * result.rate
            and p95 <= LOAD_TARGET_P95_MS
        )
    else:
        # as fast as answers come: the capacity must reach the target rate; the times are
        # the queue's (Little's law), not judged
        passed = overall["per_second"] >= LOAD_TARGET_RPS
    return {
        "paced_rate": result.rate,
        "clients": clients,
        "distinct_workers": workers,
        "seconds": round(result.seconds, 2),
        "kinds": rows,
        "overall": overall,
        "target_per_second": LOAD_TARGET_RPS,
        "target_p95_ms": LOAD_TARGET_P95_MS,
        "ratio_p95_to_target": round(p95 / LOAD_TARGET_P95_MS, 3),
        "ratio_rate_to_target": round(overall["per_second"] / LOAD_TARGET_RPS, 3),
        "pass": bool(passed and overall["errors"] == 0),
        "error_examples": result.error_examples,
        "generator_cpu_seconds": round(result.generator_cpu_seconds, 2),
        "server_cpu_seconds": round(result.server_cpu_seconds, 2),
    }


def server_figures() -> dict[str, Any]:
    """What the figures depend on besides the code: the server's settings, the machine's load."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), current_setting('shared_buffers'), "
            "current_setting('work_mem'), current_setting('jit')"
        )
        version, shared_buffers, work_mem, jit = cursor.fetchone()
    return {
        "postgresql": version,
        "shared_buffers": shared_buffers,
        "work_mem": work_mem,
        "jit": jit,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def database_figures() -> dict[str, Any]:
    rows: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for table in COUNTED_TABLES:
            cursor.execute(
                f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}"  # noqa: S608
            )
            count, size = cursor.fetchone()
            rows[table] = {"rows": count, "mb": round(size / 2**20, 1)}
        cursor.execute("SELECT current_database(), pg_database_size(current_database())")
        name, total = cursor.fetchone()
    return {"name": name, "tables": rows, "database_mb": round(total / 2**20, 1)}


def use_quick_database(name: str, size: int, log: Callable[[str], None]) -> None:
    """Switch this process to the database ``name``, made (as the owner) and filled with
    ``seed_demo --size SIZE`` unless it already holds organisations."""
    with owner_connection():
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                log(f"creating the database {name}")
                cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        connection.settings_dict["NAME"] = name
        call_command("migrate", "--no-input", verbosity=0)
        if not Organisation.objects.exists():
            log(f"filling {name} with seed_demo --size {size} (once)")
            started = time.monotonic()
            call_command("seed_demo", "--size", str(size), verbosity=0, stdout=io.StringIO())
            log(f"loaded in {time.monotonic() - started:.0f} s")
    connection.close()


class Command(BaseCommand):
    help = (
        "Time the pages that must stay fast at Bern's ten-year volume, on the data in the "
        "database (issue 7): duplicate person search, the person search for common names, "
        "the dossier lists (a worker's, a section head's whole organisation in the largest and "
        "a small service, the integration partner with the most active shares), a dossier, "
        "the cockpit, the team views and the DPO's audit page, each p50/p95 over --repeat runs "
        "after a warm-up (the slow team views --long-repeat) through the full Django stack "
        "with the test client (server time), with its SQL query count and PASS/FAIL on p95 and "
        "the ratio p95/target. Then a mixed load: --load-clients simulated social workers "
        "against gunicorn on loopback for --load-seconds (list, dossier, journal, recording a "
        "contact), with requests/s, p50/p95/p99 and errors. Then rows and size per table. "
        "Opening dossiers adds read-log rows and the mixed load records journal contacts. "
        "--quick runs everything with fewer runs on a small database of its own."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repeat", type=int, help="timed runs per page (default 100; 20 with --quick)"
        )
        parser.add_argument(
            "--long-repeat",
            type=int,
            help=f"timed runs of the team views (default {MIN_LONG_RUNS}; 10 with --quick)",
        )
        parser.add_argument(
            "--figure-seconds",
            type=float,
            default=90.0,
            help="a page slower than this over --repeat runs gets fewer runs (at least 30)",
        )
        parser.add_argument("--seed", type=int, default=7, help="random seed for the inputs")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")
        parser.add_argument(
            "--json-file", metavar="PATH", help="also write the figures as JSON to PATH"
        )
        parser.add_argument(
            "--only",
            action="append",
            default=[],
            metavar="NAME",
            help="only the figures whose name contains NAME (repeatable; 'load': the mixed load)",
        )
        parser.add_argument(
            "--load-seconds", type=float, help="length of the mixed load (default 60; 15 quick)"
        )
        parser.add_argument(
            "--load-clients", type=int, default=30, help="simulated workers of the mixed load"
        )
        parser.add_argument(
            "--load-rate",
            type=float,
            default=LOAD_TARGET_RPS,
            help="requests a second the simulated workers make together in the paced load "
            f"(default {LOAD_TARGET_RPS:.0f}, the target); the capacity run follows it",
        )
        parser.add_argument(
            "--quick",
            action="store_true",
            help="a few minutes on a small volume: a database of its own (--quick-database), "
            "filled once with seed_demo --size --quick-size; fewer runs, 15 s of load",
        )
        parser.add_argument(
            "--quick-database",
            help="database of --quick (default: this database's name + '_quick')",
        )
        parser.add_argument(
            "--quick-size", type=int, default=QUICK_SIZE, help="persons in the quick volume"
        )
        parser.add_argument(
            "--import-dossiers",
            type=int,
            default=100_000,
            help="dossiers of the synthetic delivery of the import figure (default 100,000)",
        )
        parser.add_argument(
            "--import-journal",
            type=int,
            help="its journal entries (default 40 per dossier: 4 million for 100,000)",
        )
        parser.add_argument(
            "--resume-dossiers",
            type=int,
            default=2_000,
            help="dossiers of the kill-and-resume figure (journal in the same proportion); "
            "its two imports are committed into two new organisations",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # as a gunicorn worker does once it has loaded the app (filum/gunicorn_conf.py): the
        # in-process page figures are the server's
        freeze_loaded()
        quick = options["quick"]
        options_ = Options(
            repeat=options["repeat"] or (QUICK_REPEAT if quick else 100),
            long_repeat=options["long_repeat"] or (QUICK_LONG_REPEAT if quick else 30),
            figure_seconds=options["figure_seconds"],
            only=options["only"],
            seed=options["seed"],
            load_seconds=options["load_seconds"] or (QUICK_LOAD_SECONDS if quick else 60.0),
            load_clients=options["load_clients"],
            load_rate=options["load_rate"],
            import_dossiers=options["import_dossiers"],
            import_journal=options["import_journal"] or 40 * options["import_dossiers"],
            resume_dossiers=options["resume_dossiers"],
        )
        if options_.repeat < 1 or options_.long_repeat < 1 or options_.load_clients < 1:
            raise CommandError("--repeat, --long-repeat and --load-clients must be at least 1")
        if not options_.load_rate > 0:
            raise CommandError("--load-rate must be a number of requests a second above 0")
        if quick:
            name = options["quick_database"] or f"{connection.settings_dict['NAME']}_quick"
            use_quick_database(name, options["quick_size"], self.stderr.write)
        result = Bench(options_, self.stderr.write).run()
        if options["json_file"]:
            with open(options["json_file"], "w", encoding="utf-8") as f:
                json.dump(result, f, indent=2, ensure_ascii=False)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        self.write_report(result)

    def write_report(self, result: dict[str, Any]) -> None:
        worker = result["worker"]
        database = result["database"]
        self.stdout.write(
            f"Database {database['name']}. Worker {worker['username']} "
            f"({worker['organisation']}), {worker['open_dossiers']} open dossiers; "
            f"{result['repeat']} runs per page, {result['long_repeat']} for the team views.\n"
        )
        header = (
            f"{'page':42} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} {'ratio':>6}  "
            f"{'':4} queries"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for f in result["figures"]:
            verdict = "PASS" if f["pass"] else "FAIL"
            self.stdout.write(
                f"{f['name']:42} {f['n']:>4} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f} "
                f"{f['target_ms']:7.0f} {f['ratio_p95_to_target']:6.2f}  {verdict:4} "
                f"{f['queries']}"
            )
        for s in result["skipped"]:
            self.stdout.write(f"{s['name']:42} skipped: {s['reason']}")
        for f in result["figures"]:
            if f["note"]:
                self.stdout.write(f"  {f['name']}: {f['note']}")
        if result["load"]:
            self.write_load(result["load"])
        if result["load_capacity"]:
            self.write_load(result["load_capacity"])
        self.write_import(result)
        server = result["server"]
        self.stdout.write(
            f"\nPostgreSQL {server['postgresql']} (shared_buffers {server['shared_buffers']}, "
            f"work_mem {server['work_mem']}, jit {server['jit']}); {server['cpus']} CPUs, "
            f"load average {server['load_average_1min']} at the end"
        )
        self.stdout.write(f"\nDatabase: {database['database_mb']:,.0f} MB")
        for table, figures in database["tables"].items():
            self.stdout.write(f"  {table:28} {figures['rows']:>12,} rows {figures['mb']:>9,.1f} MB")

    def write_import(self, result: dict[str, Any]) -> None:
        for key in ("import", "import_medium"):
            im = result.get(key)
            if not im:
                continue
            verdict = "PASS" if im["pass"] else "FAIL"
            kind = "synthetic delivery" if im["synthetic"] else "export"
            target = (
                f"target {im['target_seconds']:.0f} s"
                if "target_seconds" in im
                else f"target {im['target_dossiers_per_s']:,.0f}"
            )
            kept = "committed, kept" if im.get("committed") else "rolled back"
            self.stdout.write(
                f"\nImport ({im['label'] or kind} modelled on {im['organisation']}, {kept}): "
                f"{im['dossiers']:,} dossiers, {im['journal']:,} journal entries, "
                f"{im['documents']:,} documents, {im['records']:,} records, dry run and import "
                f"in {im['seconds']:.1f} s: {verdict} {im['dossiers_per_s']:,.0f} dossiers/s "
                f"({target}); {im['ratio_to_copy']}x the time of COPY of the same rows "
                f"({im['copy_seconds']:.2f} s)"
            )
        re = result.get("import_resume")
        if re:
            verdict = "PASS" if re["pass"] else "FAIL"
            self.stdout.write(
                f"\nImport killed and resumed: {re['dossiers']:,} dossiers, {re['journal']:,} "
                f"journal entries; SIGKILL after {re['done_when_killed']:,} of "
                f"{re['records']:,} records, resumed in {re['resume_seconds']:.1f} s: {verdict}"
            )
            for table, count in re["rows_resumed"].items():
                other = re["rows_uninterrupted"].get(table)
                self.stdout.write(f"  {table:28} resumed {count:>10,}  uninterrupted {other:>10,}")
            self.stdout.write(
                f"  content checksum resumed {re['checksum_resumed'][:16]}, uninterrupted "
                f"{re['checksum_uninterrupted'][:16]}"
            )

    def write_load(self, lo: dict[str, Any]) -> None:
        how = (
            f"paced at {lo['paced_rate']:.0f} requests/s (times from the moment each request "
            "was due)"
            if lo["paced_rate"]
            else "as fast as answers come (the capacity; times are the queue's)"
        )
        self.stdout.write(
            f"\nMixed load: {lo['clients']} simulated social workers ({lo['distinct_workers']} "
            f"distinct) against gunicorn on loopback for {lo['seconds']:.1f} s, {how}, after "
            f"{lo['warm_up_requests']} requests of warm-up (not counted)"
        )
        header = (
            f"{'request':20} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'p99 ms':>8} {'errors':>6}"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))

        def ms(value: float | None) -> str:
            return f"{value:8.1f}" if value is not None else f"{'-':>8}"

        for r in [*lo["kinds"], lo["overall"]]:
            self.stdout.write(
                f"{r['name']:20} {r['requests']:>6} {r['per_second']:7.1f} {ms(r['p50_ms'])} "
                f"{ms(r['p95_ms'])} {ms(r['p99_ms'])} {r['errors']:>6}"
            )
        verdict = "PASS" if lo["pass"] else "FAIL"
        rate = (
            f"{lo['overall']['per_second']:.1f} req/s of {lo['paced_rate']:.0f} offered"
            if lo["paced_rate"]
            else f"capacity {lo['overall']['per_second']:.1f} req/s"
        )
        p95 = (
            f"p95 {lo['overall']['p95_ms']} ms (target {lo['target_p95_ms']:.0f}, ratio "
            f"{lo['ratio_p95_to_target']:.2f})"
            if lo["paced_rate"]
            else f"p95 {lo['overall']['p95_ms']} ms (the queue's, not judged)"
        )
        self.stdout.write(
            f"{verdict}: {rate} (target {lo['target_per_second']:.0f}, ratio "
            f"{lo['ratio_rate_to_target']:.2f}), {p95}, {lo['overall']['errors']} errors"
        )
        self.stdout.write(
            f"CPU: load generator {lo['generator_cpu_seconds']:.1f} s, gunicorn "
            f"{lo['server_cpu_seconds']:.1f} s over {lo['seconds']:.1f} s"
        )
        for example in lo["error_examples"]:
            self.stdout.write(f"  error: {example}")
