"""The readiness check of a delivery (M4; decision 0031): before migrating, what is missing,
wrong or likely duplicated, per kind and field, with examples (file and line). Stores
nothing; ``--pdf`` also prints the report as a PDF, ``--json`` writes its language-neutral
result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from filum.batch import batch_job
from filum.exchange.readiness import check_readiness, lines_of, present
from filum.tenancy.models import Organisation


class Command(BaseCommand):
    help = (
        "Check a delivery (folder or zip) for a migration: missing data, invalid AHV numbers, "
        "likely duplicate persons (in the delivery and in Filum), dossiers without a "
        "responsible worker, documents missing or unreadable. Read-only: run it as often as "
        "needed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--pdf", type=Path, help="also print the report as a PDF here")
        parser.add_argument("--json", type=Path, help="also write the result as JSON here")
        parser.add_argument("--language", choices=["fr", "de"], default="fr")
        parser.add_argument(
            "--organisation", help="the organisation to import into (name), if not the manifest's"
        )

    @batch_job
    def handle(self, *args: Any, **options: Any) -> None:
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(name=options["organisation"]).first()
            if organisation is None:
                raise CommandError(f"no organisation named {options['organisation']!r}")
        result = check_readiness(options["path"], organisation=organisation)
        with translation.override(options["language"]):
            for line in lines_of(result):
                self.stdout.write(line)
            if options["pdf"]:
                import datetime

                from filum.web.pdf import render_pdf

                context = {
                    "readiness": result,
                    "sections": present(result),
                    "checked_at": datetime.datetime.fromisoformat(result.checked_at),
                }
                options["pdf"].write_bytes(render_pdf(None, "exchange/readiness_pdf.html", context))
        if options["json"]:
            options["json"].write_text(
                json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"
            )
        self.stdout.write(
            f"errors: {result.errors}, warnings: {result.warnings}"
            + (" - ready to import" if result.ready else " - not ready")
        )
