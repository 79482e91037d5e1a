"""Keep the run command's services up: restart what died, with a back-off (stdlib only, X7).

The run command supervises the web server, the task worker and (when it started it) the
embedded PostgreSQL. A service that stops is started again after a delay that doubles with
each failure in a row (1 s, 2 s, 4 s ... at most 30 s) and falls back to the first delay once
the service has stayed up for a minute. Each stop and each restart prints one log line.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 60.0


@dataclass
class Service:
    """Something to keep running: how to start it, whether it lives, why it stopped."""

    name: str
    start: Callable[[], None]
    alive: Callable[[], bool]
    why_stopped: Callable[[], str] = lambda: "stopped"


@dataclass
class _State:
    failures: int = 0  # stops in a row without a stable run in between
    started_at: float = field(default_factory=time.monotonic)
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        services: list[Service],
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        stable_after: float = STABLE_AFTER,
        log: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self.services = services  # in order: a database before what needs it
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.log = log
        self.states = {service.name: _State() for service in services}
        self.restarts = {service.name: 0 for service in services}

    def delay(self, failures: int) -> float:
        return float(min(self.max_delay, self.first_delay * 2**failures))

    def check(self) -> None:
        """One look at every service: note the dead, restart those whose delay is over."""
        for service in self.services:
            state = self.states[service.name]
            now = time.monotonic()
            if state.restart_at is None:
                if service.alive():
                    if state.failures and now - state.started_at >= self.stable_after:
                        state.failures = 0
                    continue
                delay = self.delay(state.failures)
                state.restart_at = now + delay
                self.log(f"{service.name} {service.why_stopped()}; restarting in {delay:g} s")
            elif now >= state.restart_at:
                state.failures += 1
                state.restart_at = None
                state.started_at = now
                try:
                    service.start()
                except Exception as error:  # noqa: BLE001 (any failure: try again later)
                    self.log(f"{service.name} did not start ({error})")
                    continue
                self.restarts[service.name] += 1
                self.log(f"{service.name} restarted")

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            self.check()
            stop.wait(interval)


def process_service(
    name: str, launch: Callable[[], subprocess.Popen[bytes]], proc: subprocess.Popen[bytes]
) -> Service:
    """A child process: alive while it runs, restarted by `launch`."""
    current = [proc]

    def start() -> None:
        current[0] = launch()

    return Service(
        name=name,
        start=start,
        alive=lambda: current[0].poll() is None,
        why_stopped=lambda: f"stopped (exit {current[0].poll()})",
    )


def postmaster_alive(data_dir: Path) -> bool:
    """True while the PostgreSQL server of `data_dir` runs (read from /proc, no psutil)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    # "<pid> (<comm>) <state> ...": a zombie (Z) or dead (X) process does not serve
    comm, _, rest = stat.partition(") ")
    return comm.endswith("(postgres") and rest[:1] not in {"Z", "X"}
