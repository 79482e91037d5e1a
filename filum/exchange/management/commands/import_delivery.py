"""Import a delivery in the exchange format (M2). For now the dry run: the report of every
problem, with file, line and field, and what the import would create; nothing is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from filum.exchange.dryrun import dry_run


class Command(BaseCommand):
    help = "Check a delivery (folder or zip) and report what its import would do (--dry-run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true", required=True)
        parser.add_argument("--language", choices=["fr", "de"], default="fr")
        parser.add_argument("--json", type=Path, help="also write the report as JSON here")

    def handle(self, *args: Any, **options: Any) -> None:
        result = dry_run(options["path"])
        report = result.report
        with translation.override(options["language"]):
            for problem in report.problems:
                self.stdout.write(problem.message())
        for kind, count in result.create.items():
            self.stdout.write(f"{kind}: {count} to create")
        if options["json"]:
            data = {
                "ok": report.ok,
                "create": result.create,
                "problems": [p.as_dict() for p in report.problems],
            }
            options["json"].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        if not report.ok:
            raise CommandError(f"{len(report.problems)} problem(s): nothing can be imported.")
        self.stdout.write("ready to import")
