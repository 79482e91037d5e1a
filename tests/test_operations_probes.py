"""Health probes and the answer while the database is away (X7)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filum.web.management.commands.task_worker import beat
from filum.web.models import WorkerHeartbeat
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def database_away() -> Iterator[None]:
    """The database stops answering: the connection points where nothing listens."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT="9")
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def test_x7_pages_answer_503_in_french_and_german_while_the_database_is_away(transactional_db):
    user = factories.UserFactory(username="worker")
    browser = Client(raise_request_exception=False)
    browser.force_login(user)  # a session the server must load from the database
    with database_away():
        for url in (reverse("case_list"), reverse("home"), reverse("cockpit")):
            response = browser.get(url)
            body = response.content.decode()
            assert response.status_code == 503, url
            assert response["Retry-After"] == "30"
            assert "Filum est momentanément indisponible" in body
            assert "Filum ist vorübergehend nicht verfügbar" in body
            assert "OperationalError" not in body
        login = Client(raise_request_exception=False).post(
            reverse("login"), {"username": "worker", "password": "x"}
        )
        assert login.status_code == 503
    # back again: the same session serves pages
    assert browser.get(reverse("home")).status_code in (200, 302, 403)


def test_x7_healthz_answers_while_the_database_is_away_and_readyz_does_not(transactional_db):
    client = Client(raise_request_exception=False)
    with database_away():
        assert client.get(reverse("healthz")).json() == {"status": "ok"}
        response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "status": "unavailable",
        "checks": {
            "database": "failed",
            "migrations": "unknown",
            "worker": "unknown",
            "disk": "ok",
        },
    }


def test_x7_readyz_wants_a_live_worker_and_disk_space(db, settings):
    client = Client()
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "worker": "failed",
        "disk": "ok",
    }
    beat("worker-1")
    response = client.get(reverse("readyz"))
    assert (response.status_code, response.json()["status"]) == (200, "ok")
    settings.READYZ_MIN_FREE_DISK_MB = 10**12  # an exabyte: no disk has that much free
    assert client.get(reverse("readyz")).json()["checks"]["disk"] == "failed"
    settings.READYZ_MIN_FREE_DISK_MB = 1
    WorkerHeartbeat.objects.update(seen_at="2020-01-01T00:00:00Z")  # a worker long gone
    assert client.get(reverse("readyz")).json()["checks"]["worker"] == "failed"


def test_x7_probes_load_no_session(world):
    """A probe sent with someone's session cookie neither reads nor prolongs that session."""
    client = world.worker.client()
    beat("worker-1")
    for name in ("healthz", "readyz"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert not [q for q in queries if "django_session" in q["sql"]], name
        assert "sessionid" not in response.cookies


def test_x7_the_task_worker_writes_its_heartbeat(transactional_db):
    """The real worker process (manage.py task_worker) beats; readiness sees it."""
    db = connection.settings_dict
    host = f"?host={db['HOST']}" if db["HOST"].startswith("/") else ""
    netloc = "" if host else f"{db['HOST']}:{db['PORT'] or 5432}"
    url = f"postgresql://{db['USER']}:{db['PASSWORD']}@{netloc}/{db['NAME']}{host}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "filum.settings"}
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "task_worker", "--worker-id", "probe-test", "-v0"],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not WorkerHeartbeat.objects.filter(worker_id="probe-test").exists():
            assert worker.poll() is None, "the worker stopped"
            assert time.monotonic() < deadline, "no heartbeat within 60 s"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(20)
    assert Client().get(reverse("readyz")).json()["checks"]["worker"] == "ok"
