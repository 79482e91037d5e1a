"""Steering data (D1-D7). Indicators (D1, D3; decision 0032): versioned definitions kept as
data, and the reports kept with the version and extract they were computed on. Person lists
saved per user (D2, D4; decision 0034)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.tenancy.models import Organisation


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
