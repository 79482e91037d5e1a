"""Shared set-up for scripts/run, scripts/test and scripts/bench (stdlib only).

It runs under the system Python before any package is installed: it makes the venv,
installs what changed, copies the front-end assets, compiles messages and starts the
embedded PostgreSQL (through filum/embedded_db.py, run with the venv's Python) unless
DATABASE_URL points at a server already.

Also a CLI for one-off management commands with the same set-up (used by scripts/bench):

    python3 scripts/_bootstrap.py manage [--database NAME] COMMAND [ARGS...]

`--database NAME` is a database of the embedded server, or, with DATABASE_URL set, the
database NAME on that server (FILUM_DB_OWNER_URL likewise); either is created if missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_DIR / ".venv"
VENV_BIN = VENV_DIR / "bin"
VENV_PYTHON = VENV_BIN / "python"
VAR_DIR = REPO_DIR / "var"
NODE_MODULES = REPO_DIR / "node_modules"
MANAGE = [str(VENV_PYTHON), str(REPO_DIR / "manage.py")]
# compilemessages walks the whole tree looking for locale/ folders; skip the big ones
COMPILEMESSAGES = [*MANAGE, "compilemessages", "-v0", "-i", ".venv", "-i", "node_modules"]

Env = dict[str, str]


class SetupError(Exception):
    """A set-up step failed; the message says which and what to do."""


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(cmd: Sequence[str | Path], *, env: Env | None = None, what: str = "") -> None:
    """Run a set-up command; raise SetupError (naming `what`) if it fails."""
    argv = [str(part) for part in cmd]
    result = subprocess.run(argv, cwd=REPO_DIR, env=env)
    if result.returncode != 0:
        raise SetupError(f"{what or argv[0]} failed (exit {result.returncode}): {' '.join(argv)}")


def base_env() -> Env:
    """The environment for everything run inside the venv."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV_DIR)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DJANGO_SETTINGS_MODULE", "filum.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.pop("PYTHONHOME", None)
    return env


def production_like_env(env: Env) -> Env:
    """Settings for serving plain http on localhost (run and bench): DEBUG off, a real key."""
    env = dict(env)
    env.setdefault("FILUM_DEBUG", "0")
    env.setdefault("FILUM_SECRET_KEY", secret_key())
    env.setdefault("FILUM_ALLOWED_HOSTS", "127.0.0.1,localhost")
    env.setdefault("FILUM_SECURE_COOKIES", "0")
    return env


def secret_key() -> str:
    """The local installation's secret key, made on first use in var/secret_key (mode 600)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


# --- stamps: redo a step only when its input changed -------------------------------------


def _requirements_files(path: Path) -> Iterator[Path]:
    yield path
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("-r", "--requirement"):
            yield from _requirements_files(path.parent / parts[1])


def _digest(paths: Sequence[Path]) -> str:
    h = hashlib.sha256(sys.version.encode())
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _stamp_is_current(stamp: Path, digest: str) -> bool:
    return stamp.exists() and stamp.read_text().strip() == digest


# --- the steps -------------------------------------------------------------------------


def ensure_venv(requirements: str) -> None:
    """Create .venv if missing; pip install -r `requirements` when it changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 (runs under whatever python3 is)
        raise SetupError(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if VENV_PYTHON.exists():
        probe = subprocess.run([str(VENV_PYTHON), "-c", ""], capture_output=True)
        if probe.returncode != 0:
            log(".venv is broken (its Python does not start); making it anew")
            shutil.rmtree(VENV_DIR)
    if not VENV_PYTHON.exists():
        log(f"creating .venv with {sys.executable}")
        run([sys.executable, "-m", "venv", VENV_DIR], what="python -m venv")
    req = REPO_DIR / requirements
    digest = _digest(list(_requirements_files(req)))
    stamp = VENV_DIR / f".filum-{req.name}.sha256"
    if not _stamp_is_current(stamp, digest):
        log(f"installing Python packages from {requirements}")
        pip = [VENV_PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        result = subprocess.run(
            [str(c) for c in [*pip, "-r", req]], cwd=REPO_DIR, capture_output=True, text=True
        )
        print(_without_pip_noise(result.stdout + result.stderr), end="", flush=True)
        if result.returncode != 0:
            raise SetupError(f"pip install -r {requirements} failed (exit {result.returncode})")
        stamp.write_text(digest)


def _without_pip_noise(output: str) -> str:
    """Drop pip's warnings about configured local index folders that do not exist."""
    lines = output.splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("WARNING: Location 'file:"))


def ensure_apt_package(path: str, package: str) -> None:
    """Install a Debian package when `path` (a binary it ships) is missing."""
    if Path(path).exists() or shutil.which(path):
        return
    if os.geteuid() != 0:
        raise SetupError(f"{path} is missing: install it with `sudo apt-get install {package}`")
    log(f"installing Debian package {package} ({path} is missing)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", package]
    result = subprocess.run(install, env=env)
    if result.returncode != 0:  # the package lists may be missing or stale
        run(["apt-get", "update", "-q"], env=env, what="apt-get update")
        run(install, env=env, what=f"apt-get install {package}")


def ensure_node_assets() -> None:
    """npm ci when package-lock.json changed, then copy the dist files to static/vendor/."""
    lock = REPO_DIR / "package-lock.json"
    stamp = NODE_MODULES / ".filum-package-lock.sha256"
    digest = _digest([REPO_DIR / "package.json", lock])
    if not _stamp_is_current(stamp, digest):
        if not shutil.which("npm"):
            raise SetupError("npm is missing: install Node.js 18 or newer (Debian: nodejs npm)")
        log("installing front-end packages (npm ci)")
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], what="npm ci")
        stamp.write_text(digest)
    run([sys.executable, REPO_DIR / "scripts" / "vendor_assets.py"], what="vendor_assets.py")


def _po_files() -> Iterator[Path]:
    for root in (REPO_DIR / "locale", REPO_DIR / "filum"):
        yield from root.glob("**/LC_MESSAGES/*.po")


def ensure_messages(env: Env) -> None:
    """compilemessages when a .mo is missing or older than its .po."""
    stale = [
        po
        for po in _po_files()
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if not stale:
        return
    ensure_apt_package("msgfmt", "gettext")
    log(f"compiling translations ({len(stale)} catalogue(s) changed)")
    run(COMPILEMESSAGES, env=env, what="compilemessages")


@contextmanager
def database(
    env: Env, *, data_dir: str, name: str = "filum", as_owner: bool = False
) -> Iterator[Env]:
    """Yield `env` with DATABASE_URL set, starting the embedded PostgreSQL if it is unset.

    With the embedded server, DATABASE_URL is the unprivileged app role and
    FILUM_DB_OWNER_URL the owner, used by migrate (R28); `as_owner` (the test command, whose
    pytest creates databases) makes DATABASE_URL the owner instead. The server is stopped on
    exit only if this call started it (another command may be using a server that was already
    running in the same folder).
    """
    if env.get("DATABASE_URL"):
        log("using the PostgreSQL server in DATABASE_URL")
        yield env
        return
    folder = VAR_DIR / data_dir
    VAR_DIR.mkdir(exist_ok=True)
    log(f"starting the embedded PostgreSQL in {folder.relative_to(REPO_DIR)}/")
    cmd = [VENV_PYTHON, "-m", "filum.embedded_db", "start", "--data-dir", folder]
    cmd += ["--database", name]
    result = subprocess.run(
        [str(c) for c in cmd], cwd=REPO_DIR, env=env, stdout=subprocess.PIPE, text=True
    )
    if result.returncode != 0:
        raise SetupError(f"the embedded PostgreSQL did not start (see {folder}/log)")
    info = json.loads(result.stdout.strip().splitlines()[-1])
    try:
        yield {**env, **database_urls(info, as_owner=as_owner)}
    finally:
        if info["started"]:
            stop_database(env, data_dir=data_dir)


def database_urls(info: dict[str, str], *, as_owner: bool) -> Env:
    """The connection variables for the embedded server `start` described in `info`."""
    if as_owner or "app_uri" not in info:
        return {"DATABASE_URL": info["uri"]}
    return {"DATABASE_URL": info["app_uri"], "FILUM_DB_OWNER_URL": info["uri"]}


def stop_database(env: Env, *, data_dir: str) -> None:
    log("stopping the embedded PostgreSQL")
    cmd = [VENV_PYTHON, "-m", "filum.embedded_db", "stop", "--data-dir", VAR_DIR / data_dir]
    subprocess.run([str(c) for c in cmd], cwd=REPO_DIR, env=env, stdout=subprocess.DEVNULL)


def with_database_name(url: str, name: str) -> str:
    """`url` naming database `name` instead (the URL's path), all else kept."""
    parts = urllib.parse.urlsplit(url)
    # built by hand: urlunsplit drops the "//" of a URL without host (a Unix socket's)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}/{urllib.parse.quote(name)}{query}"


def named_database(env: Env, name: str) -> Env:
    """`env` with DATABASE_URL (and FILUM_DB_OWNER_URL, if set) naming database `name` on
    the same server."""
    env = dict(env)
    for key in ("DATABASE_URL", "FILUM_DB_OWNER_URL"):
        if env.get(key):
            env[key] = with_database_name(env[key], name)
    return env


# Run with the venv's Python (psycopg): creates database argv[1] unless it exists, connected
# to the maintenance database of the URL in FILUM_CREATE_DB_URL (not on the command line: it
# may hold a password).
_CREATE_DATABASE = """
import os, sys
import psycopg
from psycopg import sql
with psycopg.connect(os.environ["FILUM_CREATE_DB_URL"], autocommit=True) as conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [sys.argv[1]]).fetchone():
        sys.exit(0)
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(sys.argv[1])))
    print(f"==> created the database {sys.argv[1]}", flush=True)
"""


def ensure_database(env: Env, name: str) -> None:
    """Create database `name` on the server of FILUM_DB_OWNER_URL (or DATABASE_URL) as that
    role, unless it exists."""
    owner = env.get("FILUM_DB_OWNER_URL") or env["DATABASE_URL"]
    child = {**env, "FILUM_CREATE_DB_URL": with_database_name(owner, "postgres")}
    run(
        [VENV_PYTHON, "-c", _CREATE_DATABASE, name],
        env=child,
        what=f"creating the database {name} (or create it yourself: createdb {name})",
    )


def has_command(env: Env, command: str) -> bool:
    """True if `manage.py COMMAND` exists (some are written by others, later)."""
    result = subprocess.run([*MANAGE, "help", command], cwd=REPO_DIR, env=env, capture_output=True)
    return result.returncode == 0


def main(argv: list[str]) -> int:
    """`manage [--database NAME] COMMAND ARGS...`: one management command, fully set up."""
    if not argv or argv[0] != "manage" or len(argv) < 2:
        print(__doc__)
        return 2
    args = argv[1:]
    name = "filum"
    named = args[0] == "--database" and len(args) >= 3
    if named:
        name, args = args[1], args[2:]
    try:
        ensure_venv("requirements.txt")
        env = production_like_env(base_env())
        if named and env.get("DATABASE_URL"):
            # the given server, database NAME (created if missing)
            env = named_database(env, name)
            ensure_database(env, name)
        with database(env, data_dir="pg", name=name) as env:
            run([*MANAGE, "migrate", "--no-input", "-v0"], env=env, what="migrate")
            return subprocess.run([*MANAGE, *args], cwd=REPO_DIR, env=env).returncode
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def exit_on_signal() -> None:
    """Turn SIGINT and SIGTERM into KeyboardInterrupt so `finally` blocks stop what was
    started (SIGINT explicitly too: a shell starting us in the background ignores it)."""

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, raise_interrupt)
    signal.signal(signal.SIGTERM, raise_interrupt)


if __name__ == "__main__":
    exit_on_signal()
    sys.exit(main(sys.argv[1:]))
