"""Forget the one-time tokens of forms sent long ago (see filum/web/once.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from filum.batch import batch_job
from filum.web.models import SubmittedForm


class Command(BaseCommand):
    help = (
        "Delete the one-time tokens of forms sent more than --days days ago (default 7): a page "
        "that old is not resent by a browser. Idempotent: a rerun deletes what is left to delete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=7)

    @batch_job
    def handle(self, *args: Any, days: int, **options: Any) -> None:
        before = timezone.now() - datetime.timedelta(days=days)
        deleted, _ = SubmittedForm.objects.filter(created_at__lt=before).delete()
        self.stdout.write(f"form tokens deleted: {deleted} (sent before {before:%Y-%m-%d %H:%M})")
