"""Retention and disposal as data (M3, decision 0036): the rules, legal holds, the archive
offers waiting for the super-user's approval, the record each disposal leaves, and the
tombstones of audit rows removed with a disposed dossier."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Domain
from filum.records.tracking import audited

# Until the cantons' archive laws give verified periods (domain.md section 5): ten years after
# the legal closure, the Bernese State Archive's offering cycle (decision 0036).
DEFAULT_RETENTION_YEARS = 10


@audited()
class RetentionRule(models.Model):
    """How long a closed dossier of a kind is kept, counted from its legal closure date.
    An empty canton or kind means every canton or every kind; the most specific rule wins
    (canton and kind, then canton, then kind, then the general one)."""

    canton = models.CharField(_("canton"), max_length=2, blank=True)
    domain = models.CharField(_("domain"), max_length=32, choices=Domain.choices, blank=True)
    years = models.PositiveSmallIntegerField(
        _("retention in years"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("retention rule")
        constraints = [
            models.UniqueConstraint(fields=["canton", "domain"], name="retention_rule_unique"),
            models.CheckConstraint(
                condition=Q(years__gte=1, years__lte=100), name="retention_rule_years"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.canton or '*'}/{self.domain or '*'}: {self.years}"


@audited()
class LegalHold(models.Model):
    """A dossier that must not be disposed of (litigation, an inquiry) until the hold is
    lifted. Set and lifted by the organisation's super-user, with a reason."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="legal_holds")
    reason = models.CharField(_("reason"), max_length=300)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(lifted_at__isnull=True), name="legal_hold_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"hold {self.case_id}"


@audited()
class ArchiveOffer(models.Model):
    """A dossier past its retention, its archive package written and offered to the archive,
    waiting for the super-user's approval of its disposal."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(RetentionRule, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    package = models.CharField(max_length=200)  # file name in FILUM_ARCHIVE_DIR
    package_sha256 = models.CharField(max_length=64)
    offered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["owner", "due_on", "id"], name="archive_offer_list")]

    def __str__(self) -> str:
        return f"offer {self.case_id}"


class ArchiveDecision(models.TextChoices):
    """The archive's answer to an offered package: both end the offering (archive law), so
    either lets the super-user approve the disposal."""

    TAKEN = "taken", _("taken by the archive")
    DECLINED = "declined", _("declined by the archive (not worth archiving)")


@audited()
class ArchiveReceipt(models.Model):
    """The archive's receipt of an offered package (decision 0036, amendment): it took the
    package (with its reference) or declined it, and names the SHA-256 of the package it
    received, which matched the offered package's. Entered by the organisation's super-user
    (``entered_by``) or by the archive interface (``manage.py archive_receipt``, no user)."""

    offer = models.OneToOneField(ArchiveOffer, on_delete=models.CASCADE, related_name="receipt")
    decision = models.CharField(max_length=16, choices=ArchiveDecision.choices)
    reference = models.CharField(_("archive reference"), max_length=100, blank=True)
    package_sha256 = models.CharField(max_length=64)
    # the receipt file as uploaded, kept in FILUM_ARCHIVE_DIR/receipts (never served)
    receipt_file = models.CharField(max_length=200, blank=True)
    receipt_sha256 = models.CharField(max_length=64, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(decision="declined") | ~Q(reference=""),
                name="archive_receipt_taken_has_reference",
            )
        ]

    def __str__(self) -> str:
        return f"receipt {self.offer_id} {self.decision}"


class DisposalRecord(models.Model):
    """What a disposal leaves: which dossier (number, kind, legacy ids), when, by which rule,
    who approved it and the archive package handed over. No content, no names."""

    organisation = models.ForeignKey(
        "tenancy.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    case_number = models.BigIntegerField()
    domain = models.CharField(max_length=32)
    legacy_ids = models.JSONField(default=list)
    opened_on = models.DateField()
    closed_on = models.DateField()
    rule = models.ForeignKey(RetentionRule, on_delete=models.PROTECT, related_name="+")
    rule_years = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    disposed_at = models.DateTimeField(default=timezone.now)
    package = models.CharField(max_length=200)
    package_sha256 = models.CharField(max_length=64)
    # the archive's receipt (decision 0036, amendment): taken or declined, its reference, when
    archive_decision = models.CharField(max_length=16, blank=True)
    archive_reference = models.CharField(max_length=100, blank=True)
    archive_receipt_at = models.DateTimeField(null=True)
    # rows removed per table, audit rows removed, persons disposed of with the dossier
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-disposed_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-disposed_at", "-id"])]

    def __str__(self) -> str:
        return f"disposed D-{self.case_number:07d}"


class AuditTombstone(models.Model):
    """An audit row removed with a disposed dossier: its table, key and chain columns, so that
    ``verify_audit`` still checks every link of the chain (decision 0036). Written only by the
    database function ``filum_dispose_events``; append-only and chained itself."""

    relation = models.CharField(max_length=63)
    row_pk = models.CharField(max_length=64)
    event_seq = models.BigIntegerField()
    event_prev = models.BinaryField(null=True)
    event_hash = models.BinaryField()
    disposal = models.ForeignKey(
        DisposalRecord, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["relation", "event_seq"], name="audit_tombstone_chain")]

    def __str__(self) -> str:
        return f"{self.relation}#{self.event_seq}"


class ChainCut(models.Model):
    """The oldest rows of a chained log dropped past their retention (security events,
    decision 0036 amendment): which positions, how many, and the hash of the last one, from
    which ``verify_audit`` walks the rest of the chain. Written only by the database function
    ``filum_drop_security_events``; append-only and chained itself."""

    relation = models.CharField(max_length=63)
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    rows = models.BigIntegerField()
    last_hash = models.BinaryField()
    before = models.DateTimeField()  # every dropped row was written before this moment
    made_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["relation", "last_seq"], name="chain_cut_last")]

    def __str__(self) -> str:
        return f"{self.relation} cut {self.first_seq}-{self.last_seq}"
