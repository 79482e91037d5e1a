"""Write the JSON Schemas of the intermediate format to docs/exchange/ (M1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from filum.exchange.schema import rendered_schemas, schema_dir


class Command(BaseCommand):
    help = "Write the JSON Schema of every kind of the exchange format to docs/exchange/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=None, help="another folder")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"] or schema_dir()
        out.mkdir(parents=True, exist_ok=True)
        for name, text in rendered_schemas().items():
            (out / name).write_text(text, encoding="utf-8")
        self.stdout.write(f"{len(rendered_schemas())} schemas written to {out}")
