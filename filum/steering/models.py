"""Steering data (D1-D7). Each feature keeps its own classes here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.tenancy.models import Organisation


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
