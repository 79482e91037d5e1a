"""Steering data (D1-D7). Indicators (D1, D3; decision 0032): versioned definitions kept as
data, and the reports kept with the version and extract they were computed on. Person lists
saved per user (D2, D4; decision 0034). The federal statistics' mapping table and deliveries,
and each service's kept monthly figures (D6, D7; decision 0035)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from filum.records.tracking import audited
from filum.tenancy.models import Organisation


@audited()
class IndicatorDefinition(models.Model):
    """One version of an indicator. Rows are never changed: a change is a new version
    (``filum.steering.indicators.revise``), so a report can be re-run on the version it used.
    The definition is a small JSON language over the canton dataset's fields
    (``filum.steering.indicators.validate``), checked on every save."""

    key = models.SlugField(_("indicator"), max_length=48)
    version = models.PositiveIntegerField(_("version"))
    label_fr = models.CharField(_("name (French)"), max_length=200)
    label_de = models.CharField(_("name (German)"), max_length=200)
    description_fr = models.TextField(_("description (French)"))
    description_de = models.TextField(_("description (German)"))
    definition = models.JSONField(_("definition"))
    # A retired indicator's latest version has this set: it leaves the list, its versions and
    # kept figures stay (decision 0039). Bringing it back is another version without it.
    retired = models.BooleanField(_("retired"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="indicator_key_version"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="indicator_version_1"),
        ]
        verbose_name = _("indicator definition")
        verbose_name_plural = _("indicator definitions")

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("an indicator definition is never changed: make a new version")
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from filum.steering.indicators import check_definition

        check_definition(self.definition)

    def label(self, language: str) -> str:
        return self.label_de if language == "de" else self.label_fr

    def description(self, language: str) -> str:
        return self.description_de if language == "de" else self.description_fr


class IndicatorReport(models.Model):
    """A figure kept by an analyst: the definition version and the extract it was computed
    on, the drill-down, and the result as it was shown."""

    definition = models.ForeignKey(
        IndicatorDefinition, on_delete=models.PROTECT, related_name="reports"
    )
    canton = models.CharField(max_length=2)
    extract = models.CharField(max_length=64)
    as_of = models.DateField()
    by = models.CharField(max_length=32, blank=True)
    filters = models.JSONField(default=dict)
    result = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["canton", "-created_at"], name="indicatorreport_canton")]

    def __str__(self) -> str:
        return f"{self.definition} {self.as_of}"


class SavedPersonList(models.Model):
    """A person list a user saved (D4, decision 0034): a name and the list's filter, as the
    query-string values of the filter form (language-neutral codes and numbers). Owned by one
    user in one organisation; nobody else sees, changes or deletes it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved person list")
        verbose_name_plural = _("saved person lists")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "name"], name="saved_person_list_unique_name"
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="saved_person_list_has_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ExportStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("export", "waiting")
    RUNNING = "running", pgettext_lazy("export", "being written")
    DONE = "done", pgettext_lazy("export", "ready")
    FAILED = "failed", pgettext_lazy("export", "failed")
    EXPIRED = "expired", pgettext_lazy("export", "expired")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


# Why an export failed: a code kept on the row, rendered in the reader's language.
EXPORT_ERRORS: dict[str, Any] = {
    "access": _("You may no longer list persons in this organisation: nothing was written."),
    "filter": _("The filter is no longer valid (a programme was removed?): nothing was written."),
    "limit": _(
        "The filter now matches more persons than an export writes: narrow it. Nothing was written."
    ),
    "error": _("The export failed; nothing was kept. Try again, or tell your administrator."),
}
EXPORT_HOURS = 24  # a file is kept this long after it was written, then purged


class PersonListExport(models.Model):
    """A person-list export written by the task worker (D4, decision 0034): who asked (user,
    organisation and the role they acted in), the filter as the form's query values
    (language-neutral), the language the file is written in, and the job's progress. The file
    lies in private storage (never served directly), downloadable by its owner only, for
    ``EXPORT_HOURS`` hours."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    role = models.CharField(max_length=32)
    format = models.CharField(max_length=4, choices=ExportFormat.choices)
    filters = models.JSONField(default=dict)
    language = models.CharField(max_length=8)
    status = models.CharField(
        max_length=8, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(null=True)
    rows_written = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=16, blank=True)
    file = models.CharField(max_length=200, blank=True)  # the name in private storage
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("person-list export")
        verbose_name_plural = _("person-list exports")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="person_list_export_status"
            ),
            models.CheckConstraint(
                condition=Q(format__in=ExportFormat.values), name="person_list_export_format"
            ),
            models.CheckConstraint(
                condition=Q(rows_total__isnull=True) | Q(rows_written__lte=F("rows_total")),
                name="person_list_export_progress",
            ),
            # a ready export has its file; no other state keeps one
            models.CheckConstraint(
                condition=(
                    Q(status="done", sha256__regex=r"^[0-9a-f]{64}$", size__isnull=False)
                    & ~Q(file="")
                )
                | (~Q(status="done") & Q(file="")),
                name="person_list_export_file",
            ),
            models.CheckConstraint(
                condition=Q(status="failed", error__in=list(EXPORT_ERRORS))
                | (~Q(status="failed") & Q(error="")),
                name="person_list_export_error",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "organisation", "-created_at"], name="person_list_export_user"
            ),
            models.Index(
                fields=["created_at"],
                condition=~Q(status="expired"),
                name="person_list_export_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.format} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def expires_at(self) -> datetime.datetime:
        return (self.finished_at or self.created_at) + datetime.timedelta(hours=EXPORT_HOURS)

    @property
    def is_expired(self) -> bool:
        return self.status == ExportStatus.EXPIRED or (
            self.status == ExportStatus.DONE and self.expires_at <= timezone.now()
        )

    @property
    def is_pending(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def error_message(self) -> str:
        return str(EXPORT_ERRORS.get(self.error, EXPORT_ERRORS["error"])) if self.error else ""

    @property
    def filename(self) -> str:
        made = timezone.localtime(self.created_at)
        return f"persons-{made:%Y%m%d-%H%M}.{self.format}"


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
