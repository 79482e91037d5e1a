"""The run command keeps its services up (X7): real processes die and are started again, with
a delay that doubles with each failure in a row and falls back after a stable run."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load(name: str) -> ModuleType:
    """A module of scripts/ (they import each other by bare name, as the run command does)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(name)


sv = load("_supervise")


class Launches:
    """Starts `argv` and notes when each start happened."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.times: list[float] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def __call__(self) -> subprocess.Popen[bytes]:
        self.times.append(time.monotonic())
        self.procs.append(subprocess.Popen(self.argv))  # noqa: S603
        return self.procs[-1]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def supervise(supervisor, until, timeout: float = 20.0) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop, 0.02))
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join()


def test_x7_a_process_that_keeps_dying_is_restarted_with_a_doubling_delay():
    launches = Launches(["sleep", "0.05"])
    lines: list[str] = []
    service = sv.process_service("worker", launches, launches())
    supervisor = sv.Supervisor(
        [service], first_delay=0.2, max_delay=0.8, stable_after=30, log=lines.append
    )
    try:
        supervise(supervisor, lambda: len(launches.times) >= 6)
    finally:
        launches.stop()
    gaps = [b - a for a, b in zip(launches.times, launches.times[1:], strict=False)]
    # each gap: the run (0.05 s) plus the delay; the delay doubles up to its ceiling
    for gap, delay in zip(gaps, [0.2, 0.4, 0.8, 0.8, 0.8], strict=True):
        assert delay + 0.05 <= gap < delay + 0.4, (gaps, lines)
    assert lines[:4] == [
        "worker stopped (exit 0); restarting in 0.2 s",
        "worker restarted",
        "worker stopped (exit 0); restarting in 0.4 s",
        "worker restarted",
    ]


def test_x7_a_killed_process_is_restarted_and_the_delay_falls_back_after_a_stable_run():
    launches = Launches(["sleep", "60"])
    lines: list[str] = []
    service = sv.process_service("gunicorn", launches, launches())
    supervisor = sv.Supervisor(
        [service], first_delay=0.1, max_delay=10, stable_after=0.5, log=lines.append
    )
    try:
        for round_ in (1, 2, 3):
            launches.procs[-1].send_signal(signal.SIGKILL)
            supervise(supervisor, lambda n=round_: supervisor.restarts["gunicorn"] == n)
            time.sleep(0.6)  # a stable run: the next failure starts from the first delay
            supervise(supervisor, lambda: True)
    finally:
        launches.stop()
    assert [line for line in lines if "stopped" in line] == [
        "gunicorn stopped (exit -9); restarting in 0.1 s"
    ] * 3
    assert launches.procs[-1].returncode == -9  # stopped by launches.stop(): it was running


def test_x7_a_start_that_fails_is_tried_again_later():
    lines: list[str] = []
    attempts: list[float] = []

    def start() -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise RuntimeError("socket in use")

    service = sv.Service(name="PostgreSQL", start=start, alive=lambda: len(attempts) >= 3)
    supervisor = sv.Supervisor([service], first_delay=0.05, max_delay=1, log=lines.append)
    supervise(supervisor, lambda: supervisor.restarts["PostgreSQL"] == 1)
    assert lines == [
        "PostgreSQL stopped; restarting in 0.05 s",
        "PostgreSQL did not start (socket in use)",
        "PostgreSQL stopped; restarting in 0.1 s",
        "PostgreSQL did not start (socket in use)",
        "PostgreSQL stopped; restarting in 0.2 s",
        "PostgreSQL restarted",
    ]


def test_x7_postmaster_alive_reads_the_pid_file(tmp_path):
    fake = tmp_path / "postgres"  # a process whose name is "postgres"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", fake)
    proc = subprocess.Popen([str(fake), "60"])  # noqa: S603
    try:
        assert not sv.postmaster_alive(tmp_path)  # no postmaster.pid
        (tmp_path / "postmaster.pid").write_text(f"{proc.pid}\n{tmp_path}\n")
        assert sv.postmaster_alive(tmp_path)
        (tmp_path / "postmaster.pid").write_text(f"{os.getpid()}\n")  # not a postgres
        assert not sv.postmaster_alive(tmp_path)
        (tmp_path / "postmaster.pid").write_text(f"{proc.pid}\n")
    finally:
        proc.kill()
        proc.wait()
    assert not sv.postmaster_alive(tmp_path)


@pytest.mark.skipif(
    not (SCRIPTS.parent / ".venv" / "bin" / "python").exists(), reason="needs the venv"
)
def test_x7_the_embedded_database_is_restarted_after_kill_9():
    """The crash drill: kill -9 of the embedded PostgreSQL; the run command's supervisor
    starts it again within seconds, with the data it had."""
    run = load("run")
    folder = Path(tempfile.gettempdir()) / f"filum-drill-{uuid.uuid4().hex[:8]}"
    env = run.bs.base_env()
    restarted = threading.Event()
    service = run.embedded_database(env, folder, restarted)
    lines: list[str] = []
    supervisor = sv.Supervisor([service], first_delay=0.1, log=lines.append)
    try:
        service.start()
        assert service.alive()
        restarted.clear()  # the run command starts it first through the set-up, not the service
        pid = int((folder / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        supervise(supervisor, lambda: supervisor.restarts["PostgreSQL"] == 1, timeout=60)
        assert service.alive()
        assert time.monotonic() - killed < 30
        assert lines[0] == "PostgreSQL stopped; restarting in 0.1 s"
        # restarted by this run: the run command stops it at exit even if it found one running
        assert restarted.is_set()
    finally:
        subprocess.run(  # noqa: S603
            [str(run.bs.VENV_PYTHON), "-m", "filum.embedded_db", "stop", "--data-dir", folder],
            cwd=run.bs.REPO_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
