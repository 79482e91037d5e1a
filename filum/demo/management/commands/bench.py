"""Response-time figures on whatever data the database holds (the ten-year volume for the
real run: `seed_demo --size 1500000`)."""

from __future__ import annotations

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
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count, F, Func
from django.template import TemplateDoesNotExist
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filum.cases.models import Case, Share
from filum.people.models import Person
from filum.people.search import find_candidates
from filum.records.roles import as_owner
from filum.tenancy.models import Membership, OrganisationKind, Role
from filum.tenancy.policy import Actor

TARGETS_MS = {
    "duplicate search (name with typo + birth date)": 50.0,
    "duplicate search (name only)": 50.0,
    "dossier list, first page": 50.0,
    "dossier detail": 100.0,
    # further pages, timed with fewer runs (--repeat / 10): lists should answer like the above
    "person search page (one name)": 50.0,
    "dossier list, section head, whole organisation": 50.0,
    "dossier list, integration partner": 50.0,
}
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
    "records_readlog",
)
WARM_UP = 5


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
        ordered = sorted(self.samples_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

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
            "ratio_p95_to_target": round(self.ratio, 3),
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


# --- timing --------------------------------------------------------------------------------


def time_calls(call: Callable[[int], Any], repeat: int) -> list[float]:
    """Milliseconds of ``call(i)`` for i in WARM_UP .. WARM_UP + repeat (after a warm-up)."""
    for i in range(WARM_UP):
        call(i)
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
        return "full request through the Django test client (server time)"


def bench_client(membership: Membership) -> Client:
    hosts = [h for h in settings.ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
    host = "testserver" if not hosts or "testserver" in hosts else hosts[0]
    client = Client(HTTP_HOST=host, secure=bool(getattr(settings, "SECURE_SSL_REDIRECT", False)))
    client.force_login(membership.user)
    return client


def run(repeat: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)  # noqa: S311 (benchmark inputs)
    membership = pick_worker()
    actor = Actor(user=membership.user, membership=membership)
    open_cases = list(
        Case.objects.filter(responsible=membership.user, status="open").values_list("pk", flat=True)
    )
    figures: list[Figure] = []

    persons = sample_persons(repeat + WARM_UP)
    if not persons:
        raise CommandError("No person with a birth date in the database.")
    inputs = [
        (p, misspell(p.last_name, rng))
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

    samples = time_calls(with_birth_date, repeat)
    hit_rate = found / (repeat + WARM_UP)
    figures.append(
        Figure(
            "duplicate search (name with typo + birth date)",
            samples,
            count_queries(lambda: with_birth_date(0)),
            f"the existing person was among the candidates in {hit_rate:.0%} of searches",
        )
    )

    def name_only(i: int) -> None:
        person, typed = inputs[i]
        find_candidates(actor=actor, last_name=typed, first_name=person.first_name)

    figures.append(
        Figure(
            "duplicate search (name only)",
            time_calls(name_only, repeat),
            count_queries(lambda: name_only(0)),
            "typed name with a typo or accent change, no birth date",
        )
    )

    page = Page(bench_client(membership))
    list_url = reverse("case_list")
    figures.append(
        Figure(
            "dossier list, first page",
            time_calls(lambda i: page.get(list_url), repeat),
            count_queries(lambda: page.get(list_url)),
        )
    )
    figures[-1].note = f"{len(open_cases)} open dossiers of the worker; {page.note}"

    page = Page(page.client)
    detail_urls = [reverse("case_detail", args=[uuid.UUID(str(pk))]) for pk in open_cases]
    figures.append(
        Figure(
            "dossier detail",
            time_calls(lambda i: page.get(detail_urls[i % len(detail_urls)]), repeat),
            count_queries(lambda: page.get(detail_urls[0])),
        )
    )
    figures[-1].note = page.note
    figures += further_pages(membership, persons, max(3, repeat // 10))

    return {
        "worker": {
            "username": membership.user.username,
            "organisation": membership.organisation.name,
            "open_dossiers": len(open_cases),
        },
        "repeat": repeat,
        "figures": [f.as_dict() for f in figures],
        "database": database_figures(),
        "server": server_figures(),
    }


def further_pages(worker: Membership, persons: list[Person], repeat: int) -> list[Figure]:
    figures = []
    page = Page(bench_client(worker))
    search_url = reverse("person_search")
    names = [p.last_name for p in persons]
    figures.append(
        Figure(
            "person search page (one name)",
            time_calls(lambda i: page.post(search_url, {"q": names[i % len(names)]}), repeat),
            count_queries(lambda: page.post(search_url, {"q": names[0]})),
            f"{page.note}; {repeat} runs",
        )
    )
    head = (
        Membership.objects.active()
        .filter(organisation_id=worker.organisation_id, role=Role.SECTION_HEAD)
        .select_related("user")
        .first()
    )
    if head is not None:
        page = Page(bench_client(head))
        url = reverse("case_list") + "?scope=all"
        figures.append(
            Figure(
                "dossier list, section head, whole organisation",
                time_calls(lambda i: page.get(url), repeat),
                count_queries(lambda: page.get(url)),
                f"{head.user.username}; {page.note}; {repeat} runs",
            )
        )
    busiest = (
        Share.objects.active()
        .filter(organisation__kind=OrganisationKind.INTEGRATION_PARTNER)
        .values("organisation")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    partner = (
        Membership.objects.active()
        .filter(organisation_id=busiest["organisation"], role=Role.PARTNER_STAFF)
        .select_related("user")
        .first()
        if busiest
        else None
    )
    if partner is not None and busiest is not None:
        page = Page(bench_client(partner))
        url = reverse("case_list")
        figures.append(
            Figure(
                "dossier list, integration partner",
                time_calls(lambda i: page.get(url), repeat),
                count_queries(lambda: page.get(url)),
                f"{partner.user.username}, {busiest['n']} active shares; {page.note}; "
                f"{repeat} runs",
            )
        )
    return figures


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
        cursor.execute("SELECT pg_database_size(current_database())")
        total = cursor.fetchone()[0]
    return {"tables": rows, "database_mb": round(total / 2**20, 1)}


class Command(BaseCommand):
    help = (
        "Time the pages that must stay fast at Bern's ten-year volume, on the data in the "
        "database: duplicate person search (find_candidates with a misspelt existing name, with "
        "and without birth date; target 50 ms), a worker's dossier list first page (50 ms) and "
        "a dossier's detail page (100 ms), each p50/p95 over --repeat runs after a warm-up, "
        "with the number of SQL queries per page, PASS/FAIL on p95 and the ratio p95/target; "
        "then rows and size per table. The worker is the one with an open caseload nearest 80. "
        "Further pages (person search, a section head's whole-organisation list, an integration "
        "partner's list) are timed with --repeat/10 runs. "
        "Pages are requested through the full Django stack with the test client (server time; "
        "each dossier view adds read-log rows). Load the volume first: "
        "`seed_demo --size 1500000` in a database of its own."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=200, help="timed runs per figure")
        parser.add_argument("--seed", type=int, default=7, help="random seed for the inputs")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    # the volume load turns triggers off and rebuilds indexes: the tables' owner does it (R28)
    @as_owner
    def handle(self, *args: Any, **options: Any) -> None:
        if options["repeat"] < 1:
            raise CommandError("--repeat must be at least 1")
        result = run(options["repeat"], options["seed"])
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        self.write_report(result)

    def write_report(self, result: dict[str, Any]) -> None:
        worker = result["worker"]
        self.stdout.write(
            f"Worker {worker['username']} ({worker['organisation']}), "
            f"{worker['open_dossiers']} open dossiers; {result['repeat']} runs per figure.\n"
        )
        header = (
            f"{'figure':48} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} {'ratio':>6}  {'':4} queries"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for f in result["figures"]:
            verdict = "PASS" if f["pass"] else "FAIL"
            self.stdout.write(
                f"{f['name']:48} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f} {f['target_ms']:7.0f} "
                f"{f['ratio_p95_to_target']:6.2f}  {verdict:4} {f['queries']}"
            )
        for f in result["figures"]:
            if f["note"]:
                self.stdout.write(f"  {f['name']}: {f['note']}")
        server = result["server"]
        self.stdout.write(
            f"\nPostgreSQL {server['postgresql']} (shared_buffers {server['shared_buffers']}, "
            f"work_mem {server['work_mem']}, jit {server['jit']}); {server['cpus']} CPUs, "
            f"load average {server['load_average_1min']} at the end"
        )
        database = result["database"]
        self.stdout.write(f"\nDatabase: {database['database_mb']:,.0f} MB")
        for table, figures in database["tables"].items():
            self.stdout.write(f"  {table:28} {figures['rows']:>12,} rows {figures['mb']:>9,.1f} MB")
