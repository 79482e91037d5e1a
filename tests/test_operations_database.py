"""PostgreSQL settings (U4, issue 7): the app role's session defaults for web requests, the
batch jobs' way around them, the embedded server's configuration and the web server's."""

from __future__ import annotations

import runpy
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg.conninfo import make_conninfo

import filum.batch
from filum import embedded_db
from filum.batch import batch_connections
from filum.dbroles import APP_ROLE_SETTINGS, BATCH_OPTIONS

GB = 1024**3


def connect_as_app_role(**kwargs: object) -> psycopg.Connection:
    """A new session of the app role in the test database, as the web server opens one (the
    tests' own connection only SETs ROLE, which does not load a role's defaults)."""
    params = connection.settings_dict
    conninfo = make_conninfo(
        dbname=params["NAME"],
        user=settings.DB_APP_ROLE,
        **{k.lower(): v for k, v in params.items() if k in {"HOST", "PORT", "PASSWORD"} and v},
    )
    return psycopg.connect(conninfo, autocommit=True, **kwargs)


def current(conn: psycopg.Connection, name: str) -> str:
    row = conn.execute("SELECT current_setting(%s)", [name]).fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.django_db
def test_u4_app_role_sessions_have_no_jit_and_a_statement_timeout():
    with connect_as_app_role() as conn:
        assert conn.execute("SELECT current_user").fetchone() == (settings.DB_APP_ROLE,)
        assert current(conn, "jit") == "off"
        assert current(conn, "statement_timeout") == "30s"
        assert current(conn, "lock_timeout") == "10s"
        assert current(conn, "idle_in_transaction_session_timeout") == "1min"


@pytest.mark.django_db
def test_u4_batch_sessions_of_the_app_role_have_no_limits():
    with connect_as_app_role(options=BATCH_OPTIONS) as conn:
        assert current(conn, "statement_timeout") == "0"
        assert current(conn, "lock_timeout") == "0"
        assert current(conn, "idle_in_transaction_session_timeout") == "0"
        assert current(conn, "jit") == "off"


class FakeConnection:
    def __init__(self, options: dict[str, str]) -> None:
        self.settings_dict = {"OPTIONS": options}
        self.in_atomic_block = False
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize("options", [{}, {"options": "-c search_path=public"}])
def test_u4_batch_job_connections_start_with_the_batch_options(monkeypatch, options):
    """@batch_job reopens the connection with the options, and puts the settings back."""
    fake = FakeConnection(dict(options))
    monkeypatch.setattr(filum.batch, "connections", {"default": fake})
    with batch_connections():
        assert fake.settings_dict["OPTIONS"]["options"].endswith(BATCH_OPTIONS)
        if options:
            assert fake.settings_dict["OPTIONS"]["options"].startswith(options["options"])
    assert fake.settings_dict["OPTIONS"] == options
    assert fake.closed == 2


def test_u4_batch_job_leaves_a_connection_inside_a_transaction_alone(monkeypatch):
    fake = FakeConnection({})
    fake.in_atomic_block = True
    monkeypatch.setattr(filum.batch, "connections", {"default": fake})
    with batch_connections():
        assert fake.settings_dict["OPTIONS"] == {}
    assert fake.closed == 0


def test_u4_app_role_settings_are_meant_for_web_requests():
    assert APP_ROLE_SETTINGS["jit"] == "off"
    assert APP_ROLE_SETTINGS["statement_timeout"] == "30s"


# --- the embedded server's configuration -------------------------------------------------------


@pytest.mark.parametrize(
    ("memory", "cores", "shared_buffers", "cache", "parallel"),
    [
        (8 * GB, 2, "2048MB", "4096MB", "0"),
        (2 * GB, 1, "512MB", "1024MB", "0"),
        (64 * GB, 16, "2048MB", "16384MB", "2"),
    ],
)
def test_u4_embedded_server_settings_follow_the_machine(
    memory, cores, shared_buffers, cache, parallel
):
    conf = embedded_db.server_settings(memory, cores)
    assert conf["max_parallel_workers_per_gather"] == parallel
    assert conf["shared_buffers"] == shared_buffers
    assert conf["effective_cache_size"] == cache
    assert conf["jit"] == "off"
    assert conf["random_page_cost"] == "1.1"
    assert conf["work_mem"] == "16MB"
    assert conf["maintenance_work_mem"].endswith("MB")


def test_u4_embedded_server_config_is_written_and_included(tmp_path: Path):
    (tmp_path / "postgresql.conf").write_text("max_connections = 100\n")
    conf = embedded_db.server_settings(8 * GB, 2)
    assert embedded_db.write_config(tmp_path, conf) is True
    written = (tmp_path / embedded_db.CONFIG_FILE).read_text()
    for name, value in conf.items():
        assert f"{name} = '{value}'" in written
    main = (tmp_path / "postgresql.conf").read_text()
    assert main.splitlines().count("include_if_exists = 'filum.conf'") == 1
    # a second start with the same settings changes nothing (no reload, no restart)
    assert embedded_db.write_config(tmp_path, conf) is False
    assert (tmp_path / "postgresql.conf").read_text() == main
    # other settings (another machine's memory) are written again
    assert embedded_db.write_config(tmp_path, embedded_db.server_settings(2 * GB, 2)) is True
    assert "shared_buffers = '512MB'" in (tmp_path / embedded_db.CONFIG_FILE).read_text()


# --- the web server ----------------------------------------------------------------------------


def test_u4_gunicorn_config_threads_and_connections(monkeypatch):
    for name in ("FILUM_BIND", "FILUM_WEB_WORKERS", "FILUM_WEB_THREADS", "PORT"):
        monkeypatch.delenv(name, raising=False)
    path = str(Path(settings.BASE_DIR) / "filum" / "gunicorn_conf.py")
    conf = runpy.run_path(path)
    assert conf["worker_class"] == "gthread"
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] >= 2 and conf["threads"] >= 2
    # one connection per thread: far below max_connections (100) with the task worker and jobs
    assert conf["workers"] * conf["threads"] <= 40
    monkeypatch.setenv("FILUM_BIND", "0.0.0.0:9000")
    monkeypatch.setenv("FILUM_WEB_WORKERS", "3")
    monkeypatch.setenv("FILUM_WEB_THREADS", "6")
    conf = runpy.run_path(path)
    assert (conf["bind"], conf["workers"], conf["threads"]) == (["0.0.0.0:9000"], 3, 6)
