"""The read log (who saw which dossier section, when) and security events.

Writes are audited by pghistory triggers on the domain tables; reads cannot be seen by
triggers, so views record them here (X6, R25). The read log is a table partitioned by month
(created in migration 0001), kept apart from the write audit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
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
    LINK = "link", _("shown through a third-party link")


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
    # no SET NULL when a user is deleted: security events are never updated (R28)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
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
            # The denials of one dossier (or person) in its audit, newest first (U4).
            models.Index(
                KT("detail__object_type"),
                KT("detail__object_id"),
                F("at").desc(),
                F("id").desc(),
                condition=Q(kind=DENIAL),
                name="securityevent_denied_object",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class Problem(models.TextChoices):
    """What ``verify_audit`` found wrong with a chain (the command's texts: chain.PROBLEMS)."""

    UNCHAINED = "unchained", _("a row was written with the chain's trigger switched off")
    MISSING = "missing", _("rows were deleted")
    LINK = "link", _("a row before it was changed or replaced")
    CONTENT = "content", _("the row was changed after it was written")
    CHECKPOINT = "checkpoint", _("rows verified earlier were removed or rewritten")


class AuditVerification(models.Model):
    """One run of ``manage.py verify_audit`` (R28): what it checked and what it found.

    ``heads`` holds each chain's last position and hash ({table: [seq, hex]}): the next run
    checks those rows are still there unchanged (so rows removed at the end of a chain are
    noticed), and they are what an administrator exports elsewhere."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(default=timezone.now)
    intact = models.BooleanField()
    rows_checked = models.BigIntegerField()
    chains = models.IntegerField()
    broken_table = models.CharField(max_length=63, blank=True)
    broken_row = models.CharField(max_length=64, blank=True)
    problem = models.CharField(max_length=16, blank=True, choices=Problem.choices)
    position = models.BigIntegerField(null=True)  # the chain position the problem is about
    heads = models.JSONField(default=dict)

    class Meta:
        ordering = ["-finished_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(intact=True, broken_table="") | models.Q(intact=False),
                name="records_verification_intact_has_no_break",
            )
        ]

    def __str__(self) -> str:
        return f"{'intact' if self.intact else 'broken'} {self.finished_at:%Y-%m-%d %H:%M}"


# Retention and disposal (M3, decision 0036), in a module of their own.
from filum.records.retention_models import (  # noqa: E402, F401
    ArchiveDecision,
    ArchiveOffer,
    ArchiveReceipt,
    AuditTombstone,
    ChainCut,
    DisposalRecord,
    LegalHold,
    RetentionRule,
)
