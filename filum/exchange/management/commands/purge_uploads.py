"""Remove the deliveries uploaded on the import page and left behind (decision 0031)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from filum.exchange.uploads import import_folder, purge_uploads


class Command(BaseCommand):
    help = (
        "Remove the uploads of the import page (the zip, its dry run's notes and its readiness "
        "check) uploaded more than --days days ago (default 2): never imported, or whose import "
        "stopped. An import that ends removes its own upload. Idempotent: a rerun removes what "
        "is left to remove."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=2)

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        removed = purge_uploads(older_than=datetime.timedelta(days=days))
        self.stdout.write(f"uploads removed: {removed} (older than {days} days, {import_folder()})")
