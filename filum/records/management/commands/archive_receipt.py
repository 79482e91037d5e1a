"""The archive interface's receipt of an offered package (M3, decision 0036 amendment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from filum.records.receipts import ReceiptRefused, offer_of_package, record_receipt
from filum.records.retention_models import ArchiveDecision


class Command(BaseCommand):
    help = (
        "Record the archive's answer to an offered package: --taken REFERENCE (the archive's "
        "reference) or --declined (not worth archiving), with the SHA-256 of the package the "
        "archive received (--sha256) and/or its receipt file (--receipt FILE, in which the "
        "checksum is looked for). The checksum must be the offered package's; a package "
        "answered once cannot be answered again. Nothing is recorded on a refusal (exit 1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("package", help="the package's file name (SIP_..._D-nnnnnnn.zip)")
        answer = parser.add_mutually_exclusive_group(required=True)
        answer.add_argument("--taken", metavar="REFERENCE")
        answer.add_argument("--declined", action="store_true")
        parser.add_argument("--reference", default="", help="the archive's decision (declined)")
        parser.add_argument("--sha256", default="")
        parser.add_argument("--receipt", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        file = options["receipt"].read_bytes() if options["receipt"] else None
        translation.activate("en")
        try:
            offer = offer_of_package(options["package"])
            receipt = record_receipt(
                offer,
                decision=ArchiveDecision.DECLINED if options["declined"] else ArchiveDecision.TAKEN,
                reference=options["taken"] or options["reference"],
                sha256=options["sha256"],
                file=file,
                file_name=options["receipt"].name if options["receipt"] else "",
            )
        except ReceiptRefused as refused:
            raise CommandError(f"{refused.code}: {refused.message}") from refused
        self.stdout.write(f"{receipt.decision} {offer.package} {receipt.reference}".rstrip())
