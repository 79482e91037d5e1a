"""Create the monthly partitions of the read log ahead of time."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from filum.batch import batch_job
from filum.records.services import ensure_read_log_partitions


class Command(BaseCommand):
    help = (
        "Create the read log's monthly partitions from the current month on (default: 13 "
        "months). Idempotent: existing partitions are left alone. Rows outside every monthly "
        "partition land in the default partition, so a missed run loses nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months", type=int, default=13)

    @batch_job
    def handle(self, *args: Any, months: int, **options: Any) -> None:
        created = ensure_read_log_partitions(start=timezone.localdate(), months=months)
        self.stdout.write(
            f"read log partitions created: {len(created)} ({', '.join(created) or '-'})"
        )
