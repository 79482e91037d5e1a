"""Load the demo data, or the ten-year volume for benchmarks."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from filum.demo import seed as demo
from filum.demo.management.commands.demo_logins import format_table
from filum.records.roles import as_owner


def parse_size(value: str) -> int | None:
    """``demo`` -> None; a number of persons otherwise (``1500000`` or ``1_500_000``)."""
    if value == "demo":
        return None
    try:
        persons = int(value.replace("_", ""))
    except ValueError as exc:
        raise CommandError(f"--size takes 'demo' or a number of persons, not {value!r}") from exc
    if persons < 20:
        raise CommandError("--size needs at least 20 persons")
    return persons


class Command(BaseCommand):
    help = (
        "Load demo data: Bernese social services, a protection authority (KESB/APEA), an "
        "integration partner and the canton office, with a demo login for every role (shared "
        f"password {demo.DEMO_PASSWORD!r}; see `demo_logins`). "
        "--size demo (the default) writes a few hundred persons, households and dossiers "
        "through the domain services, audited like real work. "
        "--size N writes the benchmark volume: N persons and N/2 dossiers (1500000 is Bern's "
        "ten years: 85 organisations, about 2,500 users) with PostgreSQL COPY; during that "
        "load the audit triggers of the bulk tables are DISABLED (benchmark data, not audited "
        "work; the audit trail it writes for the open dossiers is hash-chained by the load itself) "
        "and their indexes and foreign keys are rebuilt afterwards; then ANALYZE. "
        "Refuses to run when an organisation exists, unless --if-empty, which then does "
        "nothing (so the run command can call it on every start)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and succeed) when the database already has an organisation",
        )
        parser.add_argument(
            "--size",
            default="demo",
            help="'demo' (default) or a number of persons for the benchmark volume",
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    # bulk loading turns triggers off and rebuilds indexes: the tables' owner does it (R28)
    @as_owner
    def handle(self, *args: Any, **options: Any) -> None:
        persons = parse_size(options["size"])
        if not demo.database_is_empty():
            if options["if_empty"]:
                self.stdout.write("seed_demo: the database already has data; nothing to do.")
                return
            raise CommandError(
                "The database already has organisations: seed_demo loads into an empty "
                "database only (use --if-empty to skip silently)."
            )
        started = time.perf_counter()
        if persons is None:
            demo.seed_demo(seed=options["seed"])
        else:
            from filum.demo.volume import seed_volume

            self.stdout.write(f"Loading {persons:,} persons and {persons // 2:,} dossiers ...")
            seed_volume(persons=persons, seed=options["seed"], log=self.stdout.write)
        elapsed = time.perf_counter() - started
        counts = demo.table_counts()
        self.stdout.write(f"Demo data loaded in {elapsed:.1f} s:")
        self.stdout.write(
            format_table([(k, f"{v:,}") for k, v in counts.items()], ("table", "rows"))
        )
        self.stdout.write("")
        self.stdout.write(
            format_table(demo.login_rows(), ("username", "role", "organisation", "password"))
        )
