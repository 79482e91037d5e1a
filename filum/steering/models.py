"""Steering data (D1-D7)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from filum.tenancy.models import Organisation

# --- Federal social assistance statistics (SHS, D6; decision 0035) ---------------------------


class ShsMappingVersion(models.Model):
    """One version of a canton's table from Filum values to SHS codes. A version is never
    changed once a delivery used it: editing the table makes the next version (decision 0035)."""

    canton = models.CharField(_("canton"), max_length=2)
    number = models.PositiveIntegerField(_("version"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["canton", "-number"]
        verbose_name = _("SHS mapping version")
        verbose_name_plural = _("SHS mapping versions")
        constraints = [
            models.UniqueConstraint(fields=["canton", "number"], name="shs_mapping_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.canton} v{self.number}"


class ShsMappingEntry(models.Model):
    """Filum value → SHS code, for one variable of the delivery."""

    version = models.ForeignKey(ShsMappingVersion, on_delete=models.CASCADE, related_name="entries")
    variable = models.CharField(_("variable"), max_length=32)
    filum_value = models.CharField(_("Filum value"), max_length=64)
    shs_code = models.CharField(_("SHS code"), max_length=16)

    class Meta:
        ordering = ["variable", "filum_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "variable", "filum_value"], name="shs_mapping_entry_unique"
            ),
            models.CheckConstraint(condition=~Q(shs_code=""), name="shs_mapping_entry_has_code"),
        ]

    def __str__(self) -> str:
        return f"{self.variable}: {self.filum_value} → {self.shs_code}"


class ShsDelivery(models.Model):
    """The SHS delivery of one service for one month, made with one mapping version: the file
    as delivered, and the values the mapping did not know (marked in the file, listed here)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"))  # the first day of the month
    mapping = models.ForeignKey(ShsMappingVersion, on_delete=models.PROTECT, related_name="+")
    content = models.TextField()
    sha256 = models.CharField(max_length=64)
    dossiers = models.PositiveIntegerField(_("dossiers"))
    rows = models.PositiveIntegerField(_("rows"))
    # [{"dossier": number, "person": index, "variable": ..., "value": ...}, ...]
    errors = models.JSONField(default=list, blank=True)
    # the dossiers in the file: a download logs their export (X6)
    case_ids = ArrayField(models.UUIDField(), default=list, blank=True)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "organisation_id", "-mapping_id"]
        verbose_name = _("SHS delivery")
        verbose_name_plural = _("SHS deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "month", "mapping"], name="shs_delivery_unique"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="shs_delivery_month_first"),
        ]

    def __str__(self) -> str:
        return f"SHS {self.month:%Y-%m} {self.organisation_id}"

    @property
    def filename(self) -> str:
        return f"shs-{self.month:%Y-%m}-{self.organisation_id}-v{self.mapping.number}.csv"


# --- Each service's monitoring (D7; decision 0035) -------------------------------------------


class ServiceMonth(models.Model):
    """One service's case figures for one month: kept state, refreshed nightly by
    ``monitoring_refresh`` from the dossiers, read by the monitoring page (never a dossier)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    canton = models.CharField(max_length=2)
    month = models.DateField()  # first day of the month
    open_end = models.PositiveIntegerField()  # open at the end of the month
    opened = models.PositiveIntegerField()
    closed = models.PositiveIntegerField()
    # median days from opening to closure of the dossiers closed in the month
    median_days = models.FloatField(null=True)
    workers = models.PositiveIntegerField()  # caseworkers with an active membership
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "month"], name="service_month_unique")
        ]
        indexes = [models.Index(fields=["canton", "month"], name="service_month_canton")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.month:%Y-%m}"
