"""`scripts/_bootstrap.py manage --database NAME` with DATABASE_URL given (issue 7): the same
server, database NAME (both connection URLs), created if missing, as the README's benchmark
instructions need."""

from __future__ import annotations

import importlib
import os
import sys
import uuid
from pathlib import Path
from types import ModuleType

import psycopg
import pytest
from psycopg import sql

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load(name: str) -> ModuleType:
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(name)


bootstrap = load("_bootstrap")


def test_database_option_names_the_database_in_both_urls_and_keeps_the_rest():
    env = {
        "DATABASE_URL": "postgresql://filum_app:s3cret@db.example:5433/filum?sslmode=require",
        "FILUM_DB_OWNER_URL": "postgresql://filum_owner@db.example:5433/filum",
        "PATH": "/usr/bin",
    }
    named = bootstrap.named_database(env, "filum_bench")
    assert named["DATABASE_URL"] == (
        "postgresql://filum_app:s3cret@db.example:5433/filum_bench?sslmode=require"
    )
    assert named["FILUM_DB_OWNER_URL"] == "postgresql://filum_owner@db.example:5433/filum_bench"
    assert named["PATH"] == "/usr/bin"
    assert env["DATABASE_URL"].endswith("/filum?sslmode=require")  # the caller's env unchanged


def test_database_option_without_owner_url_or_path():
    named = bootstrap.named_database({"DATABASE_URL": "postgresql://u@h"}, "filum_bench")
    assert named == {"DATABASE_URL": "postgresql://u@h/filum_bench"}
    socket = bootstrap.with_database_name("postgresql:///filum?host=/run/postgresql", "b")
    assert socket == "postgresql:///b?host=/run/postgresql"


def _maintenance(url: str) -> psycopg.Connection:
    return psycopg.connect(bootstrap.with_database_name(url, "postgres"), autocommit=True)


def test_the_named_database_is_created_on_the_given_server_once():
    url = os.environ.get("FILUM_DB_OWNER_URL") or os.environ.get("DATABASE_URL")
    if not url:
        pytest.skip("needs DATABASE_URL (a server where this role may create databases)")
    name = f"filum_bootstrap_{uuid.uuid4().hex[:10]}"
    env = bootstrap.named_database({**os.environ, "DATABASE_URL": url}, name)
    env.pop("FILUM_DB_OWNER_URL", None)
    try:
        bootstrap.ensure_database(env, name)
        bootstrap.ensure_database(env, name)  # it exists now: nothing to do
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        with _maintenance(url) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
