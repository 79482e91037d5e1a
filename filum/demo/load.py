"""The benchmark's mixed load: simulated social workers against a real gunicorn on loopback.

Each simulated worker signs in without a login round-trip (a session made on the server side,
as the test client's ``force_login`` does), then loops as fast as the answers come: their
dossier list, one of their open dossiers, its journal, the new-contact form and recording a
contact (POST with the form's CSRF and once-per-token fields). Every answer is checked: a page
must answer 200, the recorded contact a redirect to the journal; anything else is an error.

Two ways to load the server:

- **paced** (``rate`` requests a second, the design rate of 150 by default in the benchmark):
  each worker sends its requests at random moments (exponential gaps, so that the 30 workers
  together make a Poisson stream at ``rate``), one at a time as a person would. A request's
  time runs from the moment it was due, not the moment it could be sent: when the server
  falls behind, the wait to send counts too (no "coordinated omission"), and the figures say
  what a user would see at that rate.
- **as fast as answers come** (``rate`` 0): each worker sends its next request as soon as the
  last one is answered. This measures the server's capacity (requests a second with every
  core busy); its times are the queue's: 30 workers without a pause wait, by Little's law,
  30 / (requests a second) on average, whatever the server does.

The generator is threads over ``http.client`` (one connection each, kept alive when the server
allows; gunicorn's sync workers close it after each answer): it waits on sockets almost all the
time and shares the machine's cores with the server, so its own CPU time is measured too.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import Count
from django.middleware.csrf import _get_new_csrf_string
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case
from filum.dbroles import APP_ROLE_SETTINGS
from filum.journal.models import ContactKind, Topic
from filum.tenancy.middleware import SESSION_MEMBERSHIP_KEY
from filum.tenancy.models import Membership, Role

REPO_DIR = Path(__file__).resolve().parent.parent.parent
GUNICORN_CONF = REPO_DIR / "filum" / "gunicorn_conf.py"
# The server runs with FILUM_SECURE_COOKIES=0 (plain http on loopback): Django's cookie names.
SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
KINDS = ("dossier list", "dossier detail", "journal", "contact form", "record contact")
NOTE = "Recorded by the benchmark's mixed load (manage.py bench)."
_FORM_TOKEN = re.compile(r'name="form_token" value="([0-9a-f-]{36})"')
_CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class LoadWorker:
    membership: Membership
    cases: list[uuid.UUID]


@dataclass
class SignedIn:
    """One simulated worker: a session on the server and the dossiers they work on."""

    username: str
    session_key: str
    csrf_secret: str
    cases: list[uuid.UUID]


# --- who works --------------------------------------------------------------------------


def pick_load_workers(count: int, rng: random.Random, per_worker: int = 20) -> list[LoadWorker]:
    """Up to ``count`` social workers of organisations without mandatory MFA (or with a
    confirmed device, whose session is then marked verified), each with open dossiers of
    their own; a random but reproducible choice among those with the most open dossiers."""
    caseloads = (
        Case.objects.filter(status="open", responsible__isnull=False)
        .values("responsible", "owner")
        .annotate(n=Count("id"))
        .order_by("-n", "responsible")
    )
    loads = {(row["responsible"], row["owner"]): row["n"] for row in caseloads[: count * 20]}
    memberships = list(
        Membership.objects.active()
        .filter(role=Role.SOCIAL_WORKER, user_id__in={user for user, _ in loads})
        .select_related("user", "organisation")
        .order_by("user_id", "pk")
    )
    eligible = [
        m
        for m in memberships
        if (m.user_id, m.organisation_id) in loads
        and (not m.organisation.mfa_required or _confirmed_device(m) is not None)
    ]
    unique = list({m.user_id: m for m in reversed(eligible)}.values())[::-1]
    chosen = sorted(
        rng.sample(unique, min(count, len(unique))), key=lambda m: m.user.username.lower()
    )
    workers = []
    for m in chosen:
        cases = list(
            Case.objects.filter(status="open", responsible_id=m.user_id, owner=m.organisation_id)
            .order_by("-opened_on", "pk")
            .values_list("pk", flat=True)[:per_worker]
        )
        workers.append(LoadWorker(membership=m, cases=cases))
    return workers


def _confirmed_device(membership: Membership) -> Any:
    from django_otp import devices_for_user

    return next(iter(devices_for_user(membership.user, confirmed=True)), None)


def open_sessions(workers: list[LoadWorker], clients: int) -> list[SignedIn]:
    """One server-side session per simulated worker (``clients`` of them; workers are reused
    when there are fewer), as ``login()`` leaves it, plus the OTP device when MFA is required."""
    signed_in = []
    for i in range(clients):
        worker = workers[i % len(workers)]
        user = worker.membership.user
        session = SessionStore()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = "filum.tenancy.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[SESSION_MEMBERSHIP_KEY] = worker.membership.pk
        if worker.membership.organisation.mfa_required:
            from django_otp import DEVICE_ID_SESSION_KEY

            session[DEVICE_ID_SESSION_KEY] = _confirmed_device(worker.membership).persistent_id
        session.create()
        signed_in.append(
            SignedIn(
                username=user.username,
                session_key=str(session.session_key),
                csrf_secret=_get_new_csrf_string(),
                cases=worker.cases,
            )
        )
    return signed_in


def close_sessions(signed_in: list[SignedIn]) -> None:
    SessionStore.get_model_class().objects.filter(
        session_key__in=[s.session_key for s in signed_in]
    ).delete()


def contact_form_data() -> dict[str, str]:
    """A valid contact: a phone call today on an active social-work topic."""
    topic = Topic.objects.filter(is_active=True).order_by("-is_social_work", "position").first()
    if topic is None:
        raise RuntimeError("No active journal topic in the database.")
    return {
        "kind": ContactKind.PHONE,
        "date": timezone.localdate().isoformat(),
        "topic": str(topic.pk),
        "duration_minutes": "10",
        "participants": "",
        "note": NOTE,
    }


# --- the server ---------------------------------------------------------------------------


def database_url() -> str:
    """The connection the current process uses, as a DATABASE_URL for the server."""
    db = connection.settings_dict
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    name = quote(str(db["NAME"]), safe="")
    host, port = str(db.get("HOST") or ""), str(db.get("PORT") or "")
    if host.startswith("/"):
        query = f"?host={quote(host, safe='/')}" + (f"&port={port}" if port else "")
        return f"postgresql://{credentials}/{name}{query}"
    return f"postgresql://{credentials}{host}{':' + port if port else ''}/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (Linux /proc; 0 elsewhere)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        return total


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@contextmanager
def gunicorn(timeout: float = 60.0) -> Iterator[Server]:
    """gunicorn with filum/gunicorn_conf.py on a free loopback port, serving the database this
    process uses, DEBUG off; stopped (its whole process group) when the block ends, Ctrl-C
    included."""
    port = free_port()
    env = dict(os.environ)
    env.pop("FILUM_DB_OWNER_URL", None)
    env.update(
        {
            "FILUM_BIND": f"127.0.0.1:{port}",
            "FILUM_DEBUG": "0",
            "DATABASE_URL": database_url(),
            "FILUM_SECRET_KEY": settings.SECRET_KEY,  # the sessions made here are signed with it
            "FILUM_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "FILUM_SECURE_COOKIES": "0",
            "DJANGO_SETTINGS_MODULE": "filum.settings",
            "PYTHONPATH": str(REPO_DIR),
            # the app role's session defaults (JIT off, the statement timeout), which migrate
            # sets for that role only: served as production serves it, whatever role
            # DATABASE_URL names here (the bench often runs as the tables' owner)
            "PGOPTIONS": " ".join(f"-c {k}={v}" for k, v in APP_ROLE_SETTINGS.items()),
        }
    )
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (kept open while the server runs)
        prefix="filum-bench-gunicorn-", suffix=".log", delete=False
    )
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "filum.wsgi"]
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        command,
        cwd=REPO_DIR,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Server(port=port, process=process, log=Path(log_file.name))
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        _wait_until_ready(server, timeout)
        yield server
    finally:
        _stop(process)
        log_file.close()
        if process.returncode in (0, -signal.SIGTERM):
            Path(log_file.name).unlink(missing_ok=True)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_until_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f}s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


# --- the load -----------------------------------------------------------------------------


@dataclass
class LoadResult:
    seconds: float
    rate: float = 0.0
    samples: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    error_examples: list[str] = field(default_factory=list)
    generator_cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, kind: str, ms: float, error: str = "") -> None:
        with self.lock:
            if error:
                self.errors[kind] += 1
                if len(self.error_examples) < 10:
                    self.error_examples.append(f"{kind}: {error}")
            else:
                self.samples[kind].append(ms)


class Refused(Exception):
    pass


class SimulatedWorker:
    def __init__(
        self,
        port: int,
        signed_in: SignedIn,
        contact: dict[str, str],
        result: LoadResult,
        deadline: float,
        seed: int,
        gap: float = 0.0,
    ) -> None:
        self.port = port
        # paced: mean seconds between this worker's requests (0: as fast as answers come)
        self.gap = gap
        self.due = 0.0
        self.me = signed_in
        self.contact = contact
        self.result = result
        self.deadline = deadline
        self.rng = random.Random(seed)  # noqa: S311 (benchmark inputs)
        self.headers = {
            "Cookie": f"{SESSION_COOKIE}={signed_in.session_key}; "
            f"{CSRF_COOKIE}={signed_in.csrf_secret}",
            "Accept-Language": "fr",
        }
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def run(self) -> None:
        list_url = reverse("case_list")
        if self.gap:
            self.due = time.monotonic() + self.rng.expovariate(1 / self.gap)
        try:
            while time.monotonic() < self.deadline:
                case_id = self.rng.choice(self.me.cases)
                journal = reverse("journal_list", args=[case_id])
                new_contact = reverse("contact_create", args=[case_id])
                steps: list[tuple[str, str, str]] = [
                    ("dossier list", "GET", list_url),
                    ("dossier detail", "GET", reverse("case_detail", args=[case_id])),
                    ("journal", "GET", journal),
                    ("contact form", "GET", new_contact),
                ]
                page = ""
                for kind, method, url in steps:
                    page = self.request(kind, method, url)
                if not page:
                    continue
                form_token = _FORM_TOKEN.search(page)
                csrf = _CSRF_TOKEN.search(page)
                if form_token is None or csrf is None:
                    self.result.record("contact form", 0.0, "no form token in the form")
                    continue
                body = {
                    **self.contact,
                    "form_token": form_token.group(1),
                    "csrfmiddlewaretoken": csrf.group(1),
                }
                self.request("record contact", "POST", new_contact, body, expect_redirect=journal)
        finally:
            self.conn.close()

    def request(
        self,
        kind: str,
        method: str,
        url: str,
        data: dict[str, str] | None = None,
        expect_redirect: str = "",
    ) -> str:
        """The page's text, or "" after recording an error."""
        headers = dict(self.headers)
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        if self.gap:
            # wait for the moment the request is due; it is timed from then on, even when the
            # previous answer came too late to send it at that moment
            wait = self.due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            started = time.perf_counter() - max(0.0, time.monotonic() - self.due)
            self.due += self.rng.expovariate(1 / self.gap)
        try:
            self.conn.request(method, url, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.result.record(kind, 0.0, f"{method} {url}: {exc!r}")
            return ""
        ms = (time.perf_counter() - started) * 1000
        location = response.getheader("Location", "")
        if expect_redirect:
            ok = response.status == 302 and location.split("?")[0].endswith(expect_redirect)
        else:
            ok = response.status == 200
        if not ok:
            where = f" to {location}" if location else ""
            self.result.record(kind, ms, f"{method} {url} answered {response.status}{where}")
            return ""
        self.result.record(kind, ms)
        return text.decode("utf-8", errors="replace")


def run_load(
    port: int,
    signed_in: list[SignedIn],
    seconds: float,
    seed: int,
    server: Server | None = None,
    rate: float = 0.0,
) -> LoadResult:
    """All simulated workers at once for ``seconds``; a round started before the end is
    finished (so every kind of request is made at least once per worker). ``rate``: the
    requests a second the workers make together, paced (0: as fast as answers come)."""
    contact = contact_form_data()
    result = LoadResult(seconds=seconds, rate=rate)
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    server_before = server.cpu_seconds() if server else 0.0
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(
            target=SimulatedWorker(
                port, s, contact, result, deadline, seed + i, len(signed_in) / rate if rate else 0.0
            ).run,
            name=f"bench-load-{i}",
            daemon=True,
        )
        for i, s in enumerate(signed_in)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.generator_cpu_seconds = (usage.ru_utime - usage_before.ru_utime) + (
        usage.ru_stime - usage_before.ru_stime
    )
    if server:
        result.server_cpu_seconds = server.cpu_seconds() - server_before
    return result
