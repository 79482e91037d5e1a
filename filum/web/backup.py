"""Backup and restore of a Filum installation: database, documents, manifest (X7).

A backup is a folder:

    manifest.json    Filum commit, PostgreSQL versions, per-table row counts, SHA-256 of
                     every other file in the folder
    database.dump    pg_dump -Fc, taken in the snapshot the row counts were read in
    documents/       a copy of the documents folder, made after that snapshot, so every
                     document row in the dump has its file

pg_dump and pg_restore must match the server's major version (an older pg_dump refuses a
newer server). They are looked for in FILUM_PG_BIN, the embedded server's wheel (off the
PATH), /usr/lib/postgresql/<major>/bin, /usr/pgsql-<major>/bin and the PATH; when none
matches, the command stops before writing anything and names the versions it found.
The commands are `manage.py backup` and `manage.py restore` (see docs/admin-guide.md).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import CommandError
from psycopg import sql
from psycopg.conninfo import make_conninfo

from filum import embedded_db
from filum.dbroles import BATCH_OPTIONS
from filum.settings import database_from_url

MANIFEST = "manifest.json"
DUMP = "database.dump"
DOCUMENTS = "documents"
FORMAT = 1
# tables of these schemas belong to PostgreSQL itself
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


@dataclass(frozen=True)
class Server:
    """Where a database is, as libpq's environment variables name it."""

    host: str
    port: str
    user: str
    password: str
    name: str

    @classmethod
    def from_settings(cls, entry: dict[str, Any]) -> Server:
        return cls(
            host=str(entry.get("HOST") or ""),
            port=str(entry.get("PORT") or ""),
            user=str(entry.get("USER") or ""),
            password=str(entry.get("PASSWORD") or ""),
            name=str(entry["NAME"]),
        )

    @classmethod
    def from_url(cls, url: str) -> Server:
        return cls.from_settings(database_from_url(url))

    def with_name(self, name: str) -> Server:
        return Server(self.host, self.port, self.user, self.password, name)

    def env(self) -> dict[str, str]:
        values = {
            "PGHOST": self.host,
            "PGPORT": self.port,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.name,
        }
        base = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return {**base, **{k: v for k, v in values.items() if v}}

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        params = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
        }
        conninfo = make_conninfo(dbname=self.name, **{k: v for k, v in params.items() if v})
        # counting rows of big tables, holding the snapshot open while pg_dump runs: none of
        # the web requests' limits of the app role (dbroles.APP_ROLE_SETTINGS) apply
        return psycopg.connect(conninfo, options=BATCH_OPTIONS, **kwargs)


def configured_server(url: str | None) -> Server:
    """The database to back up or restore into: `url`, else the owner connection of the
    settings (DATABASES["owner"] when the installation has one, else "default"): a dump
    must read every table and a restore must create them, which the app's role may not."""
    if url:
        return Server.from_url(url)
    owner = getattr(settings, "DATABASE_OWNER", None)
    return Server.from_settings(owner or settings.DATABASES["default"])


# --- client tools ----------------------------------------------------------------------------


def tool_major(path: Path) -> int | None:
    try:
        result = subprocess.run(  # noqa: S603
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", result.stdout)
    return int(found.group(1)) if found else None


def _candidates(name: str, major: int) -> Iterator[Path]:
    if os.environ.get("FILUM_PG_BIN"):
        yield Path(os.environ["FILUM_PG_BIN"]) / name
    wheel = embedded_db.client_tools_dir()
    if wheel is not None:
        yield wheel / name
    yield Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    yield Path(f"/usr/pgsql-{major}/bin/{name}")
    on_path = shutil.which(name)
    if on_path:
        yield Path(on_path)


def find_tool(name: str, major: int) -> Path:
    """`name` (pg_dump, pg_restore) of PostgreSQL `major`, or a CommandError naming the
    versions that were found instead."""
    seen: list[str] = []
    for path in _candidates(name, major):
        if not path.is_file() or str(path) in {s.split(" ")[0] for s in seen}:
            continue
        found = tool_major(path)
        if found == major:
            return path
        seen.append(f"{path} (PostgreSQL {found})")
    raise CommandError(
        f"no {name} of PostgreSQL {major} found: the server is PostgreSQL {major}, "
        f"{name} must be the same version; found: {', '.join(seen) or 'none'}. Install the "
        f"PostgreSQL {major} client tools (Debian: postgresql-client-{major}) or set "
        "FILUM_PG_BIN to the folder that holds them."
    )


def run_tool(server: Server, tool: Path, *args: str) -> None:
    """Run pg_dump or pg_restore against `server` (PGDATABASE names its database)."""
    database = ["-d", server.name] if tool.name == "pg_restore" else []
    result = subprocess.run(  # noqa: S603
        [str(tool), *database, *args], env=server.env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise CommandError(f"{tool.name} failed (exit {result.returncode}): {result.stderr}")


def add_arguments(parser: Any) -> None:
    """The arguments `backup` and `restore` share."""
    parser.add_argument("folder", type=Path)
    parser.add_argument("--database-url", help="default: the configured database")
    parser.add_argument(
        "--documents-dir", type=Path, help="default: the configured documents folder"
    )


# --- reading a database ----------------------------------------------------------------------


def server_version(conn: psycopg.Connection[Any]) -> tuple[int, str]:
    query = "SELECT current_setting('server_version_num')::int, version()"
    number, text = conn.execute(query).fetchone() or (0, "")
    return int(number) // 10000, str(text).split(" on ")[0]


def table_names(conn: psycopg.Connection[Any]) -> list[str]:
    """Every table with rows of its own (partitions yes, partitioned parents no)."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r' AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_temp%%'"
        " ORDER BY 1, 2",
        [list(SYSTEM_SCHEMAS)],
    ).fetchall()
    return [f"{schema}.{table}" for schema, table in rows]


def row_counts(conn: psycopg.Connection[Any], tables: list[str]) -> dict[str, int]:
    counts = {}
    for qualified in tables:
        schema, table = qualified.split(".", 1)
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        row = conn.execute(query).fetchone()
        counts[qualified] = int(row[0]) if row else 0
    return counts


# --- files -----------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: Path, *, prefix: str = "") -> dict[str, str]:
    """{path relative to `folder` (with `prefix`): SHA-256} of every file under `folder`."""
    return {
        prefix + path.relative_to(folder).as_posix(): sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _filum_commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def _is_empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


# --- backup ----------------------------------------------------------------------------------


def backup(target: Path, *, server: Server, documents: Path, say: Callable[[str], None]) -> dict:
    """Write a backup folder at `target` (new or empty); return its manifest."""
    if not _is_empty(target):
        raise CommandError(f"{target} is not empty: a backup goes into a new folder")
    with server.connect() as conn:
        major, version = server_version(conn)
    pg_dump = find_tool("pg_dump", major)  # before anything is written
    made = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        manifest = _backup_into(target, server=server, pg_dump=pg_dump, documents=documents)
    except BaseException:
        if made:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    manifest["postgresql"]["server"] = version
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    rows = sum(manifest["tables"].values())
    say(
        f"backup written to {target}: {len(manifest['tables'])} tables, {rows} rows, "
        f"{len(manifest['files']) - 1} documents (pg_dump {manifest['postgresql']['pg_dump']})"
    )
    return manifest


def _backup_into(target: Path, *, server: Server, pg_dump: Path, documents: Path) -> dict:
    with server.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        major, _version = server_version(conn)
        (snapshot,) = conn.execute("SELECT pg_export_snapshot()").fetchone() or ("",)
        counts = row_counts(conn, table_names(conn))
        # pg_dump reads the same snapshot while this transaction holds it open
        run_tool(server, pg_dump, "-Fc", f"--snapshot={snapshot}", "-f", str(target / DUMP))
        conn.rollback()
    # Documents are written before their row commits, so a copy made after the snapshot
    # holds the file of every document in the dump (and maybe a few newer ones).
    if documents.exists():
        shutil.copytree(documents, target / DOCUMENTS)
    else:
        (target / DOCUMENTS).mkdir()
    return {
        "format": FORMAT,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "filum": {"commit": _filum_commit()},
        "database": server.name,
        "postgresql": {"server_major": major, "pg_dump": _tool_version(pg_dump)},
        "tables": counts,
        "files": checksums(target),
    }


def _tool_version(path: Path) -> str:
    result = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return result.stdout.strip().rsplit(" ", 1)[-1]


# --- restore and verify ----------------------------------------------------------------------


def read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise CommandError(f"{source} holds no {MANIFEST}: not a Filum backup") from exc
    if manifest.get("format") != FORMAT:
        raise CommandError(f"{source}: unknown backup format {manifest.get('format')!r}")
    return dict(manifest)


def _compare_files(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    problems = [f"{name}: missing" for name in sorted(set(expected) - set(actual))]
    problems += [
        f"{name}: checksum differs"
        for name in sorted(set(expected) & set(actual))
        if expected[name] != actual[name]
    ]
    return problems


def check_backup(source: Path, manifest: dict) -> None:
    """Refuse a backup whose files are missing or changed since it was written."""
    problems = _compare_files(manifest["files"], checksums(source))
    if problems:
        raise CommandError(f"the backup in {source} is damaged: " + "; ".join(problems))


def _ensure_database(server: Server, say: Callable[[str], None]) -> None:
    try:
        server.connect().close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise CommandError(f"cannot reach the database {server.name}: {exc}") from exc
    with server.with_name("postgres").connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.name)))
    say(f"created the database {server.name}")


def restore(
    source: Path,
    *,
    server: Server,
    documents: Path,
    force: bool,
    say: Callable[[str], None],
) -> None:
    manifest = read_manifest(source)
    check_backup(source, manifest)
    pg_restore = find_tool("pg_restore", int(manifest["postgresql"]["pg_dump"].split(".")[0]))
    documents_full = not _is_empty(documents)
    if documents_full and not force:
        raise CommandError(
            f"the documents folder {documents} is not empty: restore into an empty "
            "folder, or add --force to replace its contents"
        )
    _ensure_database(server, say)
    with server.connect(autocommit=True) as conn:
        tables = table_names(conn)
        if tables and not force:
            raise CommandError(
                f"the database {server.name} is not empty ({len(tables)} tables): restore "
                "into an empty database, or add --force to replace its contents"
            )
        if tables:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    if documents_full:
        shutil.rmtree(documents)
    run_tool(server, pg_restore, "--exit-on-error", "--single-transaction", str(source / DUMP))
    shutil.copytree(source / DOCUMENTS, documents, dirs_exist_ok=True)
    say(f"restored {source} into the database {server.name} and {documents}")
    verify(manifest, server=server, documents=documents, say=say)


def verify(manifest: dict, *, server: Server, documents: Path, say: Callable[[str], None]) -> None:
    """Print the row count of every table next to the manifest's, and the documents'
    checksums; raise CommandError if anything differs."""
    with server.connect() as conn:
        counts = row_counts(conn, list(manifest["tables"]))
        extra = sorted(set(table_names(conn)) - set(manifest["tables"]))
    width = max((len(name) for name in counts), default=10)
    say(f"{'table':<{width}}  {'manifest':>9}  {'restored':>9}")
    problems = []
    for name, expected in manifest["tables"].items():
        mark = "" if counts[name] == expected else "  DIFFERS"
        say(f"{name:<{width}}  {expected:>9}  {counts[name]:>9}{mark}")
        if mark:
            problems.append(f"{name}: {counts[name]} rows, the manifest says {expected}")
    problems += [f"{name}: a table the backup does not have" for name in extra]
    expected_files = {
        name: digest
        for name, digest in manifest["files"].items()
        if name.startswith(DOCUMENTS + "/")
    }
    file_problems = _compare_files(expected_files, checksums(documents, prefix=DOCUMENTS + "/"))
    problems += file_problems
    say(
        f"documents: {len(expected_files)} files, "
        + ("checksums OK" if not file_problems else "; ".join(file_problems))
    )
    if problems:
        raise CommandError("verification failed: " + "; ".join(problems))
    rows = sum(manifest["tables"].values())
    say(f"verified: {len(counts)} tables and {rows} rows as in the manifest, checksums OK")
