"""The nightly extract of the canton's anonymised dataset (D6, X3): ``manage.py canton_extract``
writes every canton's (or ``--canton BE``'s) Parquet files and makes them current."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from filum.steering.extract import extract_canton, extract_cantons


class Command(BaseCommand):
    help = "Write the canton's anonymised dataset (Parquet) and switch to it atomically."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--canton", action="append", help="only this canton (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        for canton in options["canton"] or extract_cantons():
            started = time.perf_counter()
            result = extract_canton(canton)
            rows = ", ".join(f"{name} {count:,}" for name, count in result.rows.items())
            self.stdout.write(
                f"{canton}: {result.folder} ({rows}) in {time.perf_counter() - started:.1f} s"
            )
