"""Import a delivery in the exchange format (M2): ``--dry-run`` reports every problem, with
file, line and field, and what the import would create, storing nothing; without it the
delivery is checked the same way and, when it has no problem, imported in batches (a run
that was killed goes on after its last committed batch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from filum.batch import batch_job
from filum.exchange.dryrun import dry_run
from filum.exchange.importer import BATCH, import_delivery
from filum.exchange.models import ImportRun, ImportState
from filum.exchange.reader import Report
from filum.tenancy.models import Organisation, User


class Command(BaseCommand):
    help = "Check a delivery (folder or zip) and import it (or only report, with --dry-run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--language", choices=["fr", "de"], default="fr")
        parser.add_argument("--json", type=Path, help="also write the report as JSON here")
        parser.add_argument("--by", help="the username of who runs the import (the audit)")
        parser.add_argument(
            "--organisation", help="import into this organisation (name) instead of the manifest's"
        )
        parser.add_argument("--batch-size", type=int, default=BATCH)

    def _report(self, report: Report, options: dict[str, Any], extra: dict[str, Any]) -> None:
        with translation.override(options["language"]):
            for problem in report.problems:
                self.stdout.write(problem.message())
        if options["json"]:
            data = {"ok": report.ok, **extra, "problems": [p.as_dict() for p in report.problems]}
            options["json"].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        if not report.ok:
            raise CommandError(f"{len(report.problems)} problem(s): nothing can be imported.")

    @batch_job
    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            result = dry_run(options["path"])
            for kind, count in result.create.items():
                self.stdout.write(f"{kind}: {count} to create")
            self._report(result.report, options, {"create": result.create})
            self.stdout.write("ready to import")
            return
        by = organisation = None
        try:
            if options["by"]:
                by = User.objects.get(username=options["by"])
            if options["organisation"]:
                organisation = Organisation.objects.get(name=options["organisation"])
        except (User.DoesNotExist, Organisation.DoesNotExist) as missing:
            raise CommandError(str(missing)) from missing
        try:
            imported = import_delivery(
                options["path"], by=by, organisation=organisation, batch_size=options["batch_size"]
            )
        except Exception as error:
            run = ImportRun.objects.filter(state=ImportState.FAILED).order_by("-pk").first()
            where = f" after {run.kind_reached} batch {run.batch_reached}" if run else ""
            raise CommandError(
                f"import stopped{where}: {error}. The batches before are stored; "
                "run the same command again to go on from there."
            ) from error
        self._report(imported.report, options, {"counts": imported.counts})
        for kind, counts in imported.counts.items():
            self.stdout.write(
                f"{kind}: {counts['created']} created, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged"
            )
        self.stdout.write("imported")
