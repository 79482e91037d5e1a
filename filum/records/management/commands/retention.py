"""The nightly retention job (M3, decision 0036)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from filum.batch import batch_job
from filum.records.retention import (
    Nightly,
    drop_expired_partitions,
    drop_expired_security_events,
    offer_due,
)


class Command(BaseCommand):
    help = (
        "List the closed dossiers past their retention period, offer each one that is not on "
        "legal hold to the archive (an eCH-0160 package in FILUM_ARCHIVE_DIR, then waiting for "
        "the archive's receipt and the super-user's approval), and drop the read-log "
        "partitions and the security events past their retention. "
        "--dry-run lists what would happen and changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true")

    @batch_job
    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        today = timezone.localdate()
        report = Nightly()
        offer_due(today, dry_run=dry_run, report=report)
        drop_expired_partitions(today, dry_run=dry_run, report=report)
        drop_expired_security_events(dry_run=dry_run, report=report)
        verb = "would be" if dry_run else "were"
        for label, items in (
            (f"offered to the archive ({verb})", report.offered),
            ("offered earlier, waiting for the archive or the approval", report.waiting),
            ("under legal hold", report.held),
            (f"read-log partitions dropped ({verb})", report.dropped),
        ):
            self.stdout.write(f"{label}: {len(items)} {' '.join(items)}".rstrip())
        self.stdout.write(f"security events dropped ({verb}): {report.security_events}")
        for reference, error in report.failed:
            self.stderr.write(f"FAILED {reference}: {error}")
