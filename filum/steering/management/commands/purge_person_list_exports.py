"""Delete the person-list export files past their 24 hours (D4, decision 0034)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from filum.batch import batch_job
from filum.steering.export_jobs import purge_expired_exports
from filum.steering.models import EXPORT_HOURS


class Command(BaseCommand):
    help = (
        f"Mark expired the person-list exports finished more than {EXPORT_HOURS} hours ago "
        "(or asked for that long ago and never finished) and delete their files from private "
        "storage. The download refuses them already; each new export job purges first, too. "
        "Idempotent: a rerun expires what is left."
    )

    @batch_job
    def handle(self, *args: Any, **options: Any) -> None:
        expired = purge_expired_exports()
        self.stdout.write(f"person-list exports expired: {expired}")
