"""Refresh the kept monthly figures of each service's monitoring (D7; decision 0035)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from filum.steering.monitoring import refresh


class Command(BaseCommand):
    help = "Recompute the monitoring figures of every social service for the kept months."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = refresh(timezone.localdate())
        self.stdout.write(f"monitoring: {rows} service months")
