"""The database roles Filum runs under (R28), without Django: used by the embedded server,
the set-up scripts' helpers and the test fixtures.

- the **owner** owns the tables and runs `migrate` (FILUM_DB_OWNER_URL; the embedded server's
  superuser `postgres`, or a dedicated `filum_owner` in production);
- the **app role** (`filum_app`, DATABASE_URL) serves requests and runs the batch jobs. It may
  read and write the domain tables but only INSERT and SELECT the audit tables, and it owns
  nothing, so it cannot ALTER, TRUNCATE or disable triggers (the grants are applied after
  every migrate, see `filum.records.integrity`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlparse, urlunparse

APP_ROLE = "filum_app"
# The app role's session defaults in Filum's database (U4), set after every migrate
# (filum/records/chain.py). They are meant for web requests: a runaway query or a request
# stuck on a lock ends instead of holding a worker thread and a connection. Batch jobs that
# run as the app role lift them for their own sessions (BATCH_OPTIONS, filum/records/roles.py).
APP_ROLE_SETTINGS = {
    "jit": "off",  # compiling costs more than it saves on short queries
    "statement_timeout": "30s",
    "lock_timeout": "10s",
    "idle_in_transaction_session_timeout": "60s",
}
# libpq start-up options for a batch job's connection: no statement, lock or idle limit
BATCH_OPTIONS = "-c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0"
# role names go into SQL as identifiers: plain lower-case names only
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# Roles are cluster-wide: several test processes (or checkouts) may try to create the same role
# at once; the loser of the race gets unique_violation/duplicate_object and ignores it.
_ENSURE_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} {options};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$
"""


def checked_role_name(role: str) -> str:
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError(f"unsupported database role name {role!r} (use [a-z_][a-z0-9_]*)")
    return role


def ensure_role(execute: Callable[[str], Any], role: str = APP_ROLE, *, login: bool = True) -> None:
    """Create `role` (no superuser, CREATEDB or CREATEROLE) unless it exists.

    `execute` runs one SQL statement as a role allowed to create roles (a psycopg
    connection's or a Django cursor's `execute`).
    """
    options = "LOGIN" if login else "NOLOGIN"
    execute(_ENSURE_ROLE.format(role=checked_role_name(role), options=options))


def url_for_role(url: str, role: str = APP_ROLE) -> str:
    """`url` with its user replaced by `role` (and no password: the same trust/peer rules)."""
    parsed = urlparse(url)
    host = parsed.netloc.rsplit("@", 1)[-1]
    return urlunparse(parsed._replace(netloc=f"{quote(role)}@{host}"))
