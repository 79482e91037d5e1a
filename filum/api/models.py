"""API tokens of an organisation and their use (issue 9 item 6, decision 0028).

A token is shown once, when it is made; only its SHA-256 is stored, so a copy of the table
cannot call the API. Each token acts as its own technical user (``user``): the read log, the
security events and the audit name it like any member.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.records.tracking import audited
from filum.tenancy.models import Organisation


class Scope(models.TextChoices):
    PERSONS_READ = "persons:read", _("Persons: read")
    CASES_READ = "cases:read", _("Dossiers: read")
    JOURNAL_READ = "journal:read", _("Journal: read")
    JOURNAL_WRITE = "journal:write", _("Journal: write")
    TASKS_READ = "tasks:read", _("Tasks: read")
    ASSESSMENTS_READ = "assessments:read", _("Assessments: read")
    PLANS_READ = "plans:read", _("Plans and measures: read")
    CATALOGUE_READ = "catalogue:read", _("Providers and programmes: read")
    TRANSFERS_READ = "transfers:read", _("Dossier transfers: read")
    TRANSFERS_WRITE = "transfers:write", _("Dossier transfers: offer and decide")


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def in_force(self) -> ApiTokenQuerySet:
        """Not revoked, not expired, of an active organisation."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, organisation__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


@audited(exclude=["token_hash"])
class ApiToken(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    # the technical user the token acts as (no password, no membership: it cannot sign in)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_token"
    )
    name = models.CharField(_("name"), max_length=100)
    # the token's first characters, shown in the list to tell tokens apart
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), size=None)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106
                name="apitoken_token_hash_is_sha256",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__isnull=True)
                | models.Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=models.Q(scopes__len__gt=0), name="apitoken_has_a_scope"
            ),
        ]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_in_force(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class ApiTokenUse(models.Model):
    """A token's last use and its rate-limit window: one row per token, upserted by every
    request in one statement (``filum.api.auth.count_request``). Not audited: it is the
    meter, not data."""

    token = models.OneToOneField(
        ApiToken, on_delete=models.CASCADE, primary_key=True, related_name="use"
    )
    window_start = models.DateTimeField()
    window_count = models.PositiveIntegerField()
    last_used_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.token_id}: {self.window_count} since {self.window_start:%H:%M}"
