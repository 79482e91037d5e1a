"""The test command: install what is missing, run the quality checks, then pytest.

    scripts/test                      everything (what CI runs)
    scripts/test tests/test_x.py -k y only pytest, with those arguments

PostgreSQL: DATABASE_URL if set, else an embedded server in var/pg-test/ that is
stopped at the end. Exits non-zero if any step failed, after a summary of all steps.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bootstrap as bs  # noqa: E402

RUFF = str(bs.VENV_BIN / "ruff")
MYPY = str(bs.VENV_BIN / "mypy")
PYTEST_NO_TESTS_COLLECTED = 5

# what `check --deploy` must accept: the settings a production server runs with
DEPLOY_ENV = {
    "FILUM_DEBUG": "0",
    "FILUM_SECRET_KEY": "deploy-check-" + "k7Qx9vR2mW4pL8nZ" * 4,
    "FILUM_ALLOWED_HOSTS": "filum.example.ch",
    "FILUM_SECURE_COOKIES": "1",
}


def quality_steps(env: bs.Env) -> list[tuple[str, list[str], bs.Env]]:
    return [
        ("ruff check", [RUFF, "check", "."], env),
        ("ruff format", [RUFF, "format", "--check", "."], env),
        ("mypy", [MYPY, "filum"], env),
        ("migrations", [*bs.MANAGE, "makemigrations", "--check", "--dry-run"], env),
        ("django check", [*bs.MANAGE, "check"], env),
        (
            "deploy check",
            [*bs.MANAGE, "check", "--deploy", "--fail-level", "WARNING"],
            {**env, **DEPLOY_ENV},
        ),
    ]


def pytest_command(args: list[str]) -> list[str]:
    cmd = [str(bs.VENV_PYTHON), "-m", "pytest"]
    if not args:
        # the whole suite in parallel, one process per core (FILUM_TEST_WORKERS=0: serial)
        workers = os.environ.get("FILUM_TEST_WORKERS", "auto")
        if workers != "0":
            cmd += ["-n", workers]
    return cmd + args


def run_step(name: str, cmd: list[str], env: bs.Env) -> tuple[str, bool, float, str]:
    bs.log(name)
    started = time.monotonic()
    code = subprocess.run(cmd, cwd=bs.REPO_DIR, env=env).returncode
    note = ""
    if name == "pytest" and code == PYTEST_NO_TESTS_COLLECTED:
        code, note = 0, "no tests collected"
    elif code != 0:
        note = f"exit {code}"
    return name, code == 0, time.monotonic() - started, note


def print_summary(results: list[tuple[str, bool, float, str]]) -> None:
    print("\n" + "-" * 60)
    for name, ok, seconds, note in results:
        status = "ok" if ok else "FAILED"
        print(f"  {status:<7}{name:<16}{seconds:6.1f}s  {note}")
    failed = [name for name, ok, _, _ in results if not ok]
    print("-" * 60)
    print(f"FAILED: {', '.join(failed)}" if failed else "all steps passed", flush=True)


def main(args: list[str]) -> int:
    bs.exit_on_signal()
    try:
        bs.ensure_venv("requirements-dev.txt")
        bs.ensure_node_assets()
        bs.ensure_apt_package("/usr/bin/chromium", "chromium")  # for the Playwright tests
        env = bs.base_env()
        bs.ensure_messages(env)
        # as the owner: pytest creates the test databases; the tests then act as the app
        # role (tests/conftest.py)
        with bs.database(env, data_dir="pg-test", as_owner=True) as env:
            steps = [] if args else quality_steps(env)
            steps.append(("pytest", pytest_command(args), env))
            results = [run_step(name, cmd, step_env) for name, cmd, step_env in steps]
    except bs.SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        print("FAILED: set-up", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    print_summary(results)
    return 0 if all(ok for _, ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
