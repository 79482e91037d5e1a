"""What an import keeps (M2, issue 9 item 3; decision 0029): the mapping of a delivery's
source ids to Filum's objects, and the runs with the batch each one reached."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.records.tracking import audited
from filum.tenancy.models import Organisation


class SourceRecord(models.Model):
    """One record of a delivery and the Filum object it became. ``checksum`` is the SHA-256 of
    the record as last imported: the same record again is skipped, a changed one updated."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16)
    source_id = models.CharField(max_length=200)
    target_id = models.CharField(max_length=64)
    checksum = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "source_id"], name="exchange_source_unique"
            )
        ]
        indexes = [models.Index(fields=["organisation", "kind", "target_id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}"


class ImportState(models.TextChoices):
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")
    REFUSED = "refused", _("refused")


@audited()
class ImportRun(models.Model):
    """One run of ``import_delivery``: the batch reached is written in the same transaction as
    the batch, so a killed run resumes after the last committed batch."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    delivery_sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=ImportState.choices)
    counts = models.JSONField(default=dict)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    kind_reached = models.CharField(max_length=16, blank=True)
    batch_reached = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["organisation", "delivery_sha256", "-started_at"])]

    def __str__(self) -> str:
        return f"import {self.delivery_sha256[:12]} ({self.state})"
