"""The run command: set up what is missing, then serve Filum on http://127.0.0.1:$PORT.

Steps: venv and packages, front-end assets, PostgreSQL (embedded unless DATABASE_URL is
set), migrate, demo data on first start, translations, collectstatic; then gunicorn, the
task worker and a daily scheduler for the batch jobs; the web server, the worker and the
embedded database are restarted when they die (scripts/_supervise.py). Ctrl-C stops all of it.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bootstrap as bs  # noqa: E402
import _supervise as sv  # noqa: E402

GUNICORN = str(bs.VENV_BIN / "gunicorn")
# workers, threads, timeouts: filum/gunicorn_conf.py (shared with the benchmark and production)
GUNICORN_CONFIG = str(bs.REPO_DIR / "filum" / "gunicorn_conf.py")


def gunicorn_command(port: int) -> list[str]:
    return [GUNICORN, "-c", GUNICORN_CONFIG, "--bind", f"127.0.0.1:{port}", "filum.wsgi"]


# batch jobs run once a day (each stamps var/<command>.last when it succeeded)
DAILY_COMMANDS = [
    "read_log_partitions",
    "nightly_rules",
    "retention",
    "verify_audit",
    "purge_form_tokens",
    "purge_uploads",
    "purge_person_list_exports",
    "canton_extract",
    "monitoring_refresh",
    "shs_delivery",
]
SCHEDULE_CHECK_SECONDS = 300


class Children:
    """Long-running child processes, each in its own process group.

    Own groups keep the terminal's Ctrl-C away from them, so they are stopped in order
    by `stop_all` (the web server and worker first, the database after).
    """

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.lock = threading.Lock()
        self.stopping = False

    def start(self, name: str, cmd: list[str], env: bs.Env) -> subprocess.Popen[bytes]:
        with self.lock:
            if self.stopping:
                raise KeyboardInterrupt
            proc = subprocess.Popen(cmd, cwd=bs.REPO_DIR, env=env, start_new_session=True)
            self.procs[name] = proc
            return proc

    def stop_all(self, timeout: float = 20.0) -> None:
        with self.lock:
            self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in {timeout:.0f}s; killing it", flush=True)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def schedule_daily(
    children: Children, env: bs.Env, stop: threading.Event, commands: list[str]
) -> None:
    """Run each batch command once per calendar day, the first time at start-up."""
    while not stop.is_set():
        today = datetime.date.today().isoformat()
        for command in commands:
            stamp = bs.VAR_DIR / f"{command}.last"
            last = stamp.read_text().strip() if stamp.exists() else ""
            if last == today or stop.is_set():
                continue
            try:
                proc = children.start(command, [*bs.MANAGE, command], env)
            except KeyboardInterrupt:
                return
            if proc.wait() == 0:
                stamp.write_text(today)
            elif not stop.is_set():
                print(f"{command} failed (exit {proc.returncode}); retrying later", flush=True)
        stop.wait(SCHEDULE_CHECK_SECONDS)


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if port_in_use(port):
            return True
        time.sleep(0.2)
    return False


def prepare(env: bs.Env) -> None:
    """Everything between a running database and starting the servers."""
    bs.run([*bs.MANAGE, "migrate", "--no-input"], env=env, what="migrate")
    if bs.has_command(env, "seed_demo"):
        # seed_demo decides whether this is a first start (no organisation yet) and
        # prints the demo logins it creates
        bs.run([*bs.MANAGE, "seed_demo", "--if-empty"], env=env, what="seed_demo")
    else:
        bs.log("no seed_demo command yet: starting without demo data")
    bs.ensure_messages(env)
    bs.run([*bs.MANAGE, "collectstatic", "--no-input", "-v0"], env=env, what="collectstatic")


def embedded_database(env: bs.Env, folder: Path, restarted: threading.Event) -> sv.Service:
    """The embedded PostgreSQL in `folder`, started again by the same command as at first.
    `restarted` is set once this run has started it again: that server is then ours to stop,
    even if the run found one already running at start-up."""
    command = [str(bs.VENV_PYTHON), "-m", "filum.embedded_db", "start", "--data-dir", str(folder)]

    def start() -> None:
        result = subprocess.run(command, cwd=bs.REPO_DIR, env=env, stdout=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"exit {result.returncode}, see {folder}/log")
        restarted.set()

    return sv.Service(name="PostgreSQL", start=start, alive=lambda: sv.postmaster_alive(folder))


def serve(env: bs.Env, port: int, database_dir: Path | None = None) -> int:
    """Start the servers and keep them up; `database_dir`: the embedded server's folder."""
    children = Children()
    stop = threading.Event()
    database_restarted = threading.Event()
    try:
        services = (
            [embedded_database(env, database_dir, database_restarted)] if database_dir else []
        )
        for name, cmd in (
            ("gunicorn", gunicorn_command(port)),
            ("worker", [*bs.MANAGE, "task_worker"]),
        ):
            proc = children.start(name, cmd, env)
            services.append(
                sv.process_service(name, lambda n=name, c=cmd: children.start(n, c, env), proc)
            )
        web = children.procs["gunicorn"]
        daily = [c for c in DAILY_COMMANDS if bs.has_command(env, c)]
        if daily:
            threading.Thread(
                target=schedule_daily, args=(children, env, stop, daily), daemon=True
            ).start()
        if not wait_for_port(port, web):
            print("error: gunicorn did not start listening", file=sys.stderr)
            return 1
        print(f"\nFilum is running at http://127.0.0.1:{port}/  (Ctrl-C stops it)", flush=True)
        logins = subprocess.run(
            [*bs.MANAGE, "demo_logins"], cwd=bs.REPO_DIR, env=env, capture_output=True, text=True
        )
        if logins.returncode == 0 and logins.stdout.strip():
            print(logins.stdout.rstrip() + "\n", flush=True)
        sv.Supervisor(services).run(stop)
        return 0
    except KeyboardInterrupt:
        print("\nstopping Filum ...", flush=True)
        return 0
    finally:
        stop.set()
        children.stop_all()
        if database_dir is not None and database_restarted.is_set():
            bs.stop_database(env, data_dir=database_dir.name)  # the database last


def main() -> int:
    bs.exit_on_signal()
    port = int(os.environ.get("PORT", "8000"))
    try:
        if port_in_use(port):
            raise bs.SetupError(f"port {port} is in use: stop what uses it or set PORT")
        bs.ensure_venv("requirements.txt")
        bs.ensure_node_assets()
        env = bs.production_like_env(bs.base_env())
        embedded = None if env.get("DATABASE_URL") else bs.VAR_DIR / "pg"
        with bs.database(env, data_dir="pg") as env:
            prepare(env)
            return serve(env, port, embedded)
    except bs.SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
