"""Export dossiers in the intermediate format (issue 9 item 5): one dossier, one organisation
or every organisation (one delivery each), to a folder or a zip."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from filum.cases.models import Case
from filum.exchange.export import Written, export_all, export_case, export_organisation
from filum.tenancy.models import Organisation


class Command(BaseCommand):
    help = (
        "Export in the exchange format: --case ID, --organisation ID-or-NAME or --all, "
        "to --out PATH (a folder, or a .zip file; with --all a folder of deliveries)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--case", help="the dossier's id (UUID) or number")
        which.add_argument("--organisation", help="the organisation's id or exact name")
        which.add_argument("--all", action="store_true", help="every organisation")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--zip", action="store_true", help="with --all: zips, not folders")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if out.exists() and not out.is_dir():
            raise CommandError(f"{out} exists already.")
        if out.is_dir() and any(out.iterdir()):
            raise CommandError(f"{out} is a folder that is not empty.")
        written: list[Written]
        if options["all"]:
            written = export_all(out, as_zip=options["zip"])
        elif options["case"]:
            written = [export_case(self._case(options["case"]), out)]
        else:
            written = [export_organisation(self._organisation(options["organisation"]), out)]
        for delivery in written:
            counts = ", ".join(f"{kind} {n}" for kind, n in sorted(delivery.counts.items()))
            self.stdout.write(f"{delivery.path}: {counts}")

    def _case(self, value: str) -> Case:
        try:
            lookup: dict[str, Any] = {"pk": uuid.UUID(value)}
        except ValueError:
            if not value.isdigit():
                raise CommandError(f"{value} is neither a dossier id nor a number.") from None
            lookup = {"number": int(value)}
        case = Case.objects.select_related("owner").filter(**lookup).first()
        if case is None:
            raise CommandError(f"No dossier {value}.")
        return case

    def _organisation(self, value: str) -> Organisation:
        found = Organisation.objects.filter(name=value).first()
        if found is None and value.isdigit():
            found = Organisation.objects.filter(pk=int(value)).first()
        if found is None:
            raise CommandError(f"No organisation {value}.")
        return found
