"""The read log (who saw which dossier section, when) and security events.

Writes are audited by pghistory triggers on the domain tables; reads cannot be seen by
triggers, so views record them here (X6, R25). The read log is a table partitioned by month
(created in migration 0001), kept apart from the write audit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReadKind(models.TextChoices):
    VIEW = "view", _("viewed")
    EXPORT = "export", _("exported")
    PRINT = "print", _("printed")
    SEARCH = "search", _("found in a search")
    AUDIT = "audit", _("read in the audit")


class ReadLog(models.Model):
    """One row per read of a dossier section. Partitioned by month on ``at``; the primary key
    in the database is (id, at), Django sees ``id`` alone, which is unique by its sequence."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    organisation_id = models.BigIntegerField()
    case_id = models.UUIDField(null=True)
    person_id = models.UUIDField(null=True)
    section = models.CharField(max_length=16)
    kind = models.CharField(max_length=16, choices=ReadKind.choices)
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        managed = False
        db_table = "records_readlog"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.section} {self.at:%Y-%m-%d %H:%M}"


DENIAL = "access_denied"


class SecurityEvent(models.Model):
    """Sign-ins, failures, lockouts, MFA changes, access denials, grants (R14, R26)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation_id = models.BigIntegerField(null=True)
    detail = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            # A refused request for an existing object leaves one event per user, object and
            # hour (R14); inserts use ON CONFLICT DO NOTHING, so a scan cannot flood the table.
            models.UniqueConstraint(
                "user",
                KT("detail__object_type"),
                KT("detail__object_id"),
                TruncHour("at"),
                condition=Q(kind=DENIAL),
                name="securityevent_denial_once_per_hour",
            ),
        ]
        indexes = [
            # The DPO's list of denials of their organisation, newest first (keyset pages).
            models.Index(
                fields=["organisation_id", "-at", "-id"],
                condition=Q(kind=DENIAL),
                name="securityevent_denials",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"
