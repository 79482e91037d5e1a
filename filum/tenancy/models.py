"""Organisations, the communes they serve, users and their role in each organisation."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from filum.records.tracking import audited


class OrganisationKind(models.TextChoices):
    SOCIAL_SERVICE = "social_service", _("Social service")
    PROTECTION_AUTHORITY = "protection_authority", _("Child and adult protection authority")
    INTEGRATION_PARTNER = "integration_partner", _("Integration partner")
    CANTON_OFFICE = "canton_office", _("Canton office")
    CII_PARTNER = "cii_partner", _("CII partner")


class Role(models.TextChoices):
    SOCIAL_WORKER = "social_worker", _("Social worker")
    SECTION_HEAD = "section_head", _("Section head")
    ADMIN_ASSISTANT = "admin_assistant", _("Administrative assistant")
    INTAKE_WORKER = "intake_worker", _("Intake worker")
    SUPER_USER = "super_user", _("Super-user")
    PARTNER_STAFF = "partner_staff", _("Integration partner staff")
    PROTECTION_STAFF = "protection_staff", _("Protection authority staff")
    CANTON_ANALYST = "canton_analyst", _("Canton analyst")
    DATA_PROTECTION_OFFICER = "dpo", _("Data protection officer")
    CANTON_OFFICER = "canton_officer", _("Canton integration officer")


@audited()
class Commune(models.Model):
    """A municipality, identified by its BFS number."""

    bfs_number = models.PositiveIntegerField(_("BFS number"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    canton = models.CharField(_("canton"), max_length=2, default="BE")

    class Meta:
        ordering = ["name"]
        verbose_name = _("commune")
        verbose_name_plural = _("communes")

    def __str__(self) -> str:
        return self.name


@audited()
class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=OrganisationKind.choices)
    canton = models.CharField(_("canton"), max_length=2, default="BE")
    communes = models.ManyToManyField(
        Commune, blank=True, related_name="organisations", verbose_name=_("communes served")
    )
    mfa_required = models.BooleanField(
        _("two-factor sign-in required"),
        default=False,
        help_text=_("Every member must confirm sign-in with a one-time code."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The language the organisation writes to people outside Filum in (a provider's link).
    language = models.CharField(
        _("language"), max_length=2, choices=[("fr", "Français"), ("de", "Deutsch")], default="fr"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


@audited(exclude=["password", "last_login"])
class User(AbstractUser):
    """A person who signs in. What they may do depends on their memberships."""

    language = models.CharField(
        _("language"), max_length=2, choices=[("fr", "Français"), ("de", "Deutsch")], default="fr"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


@audited()
class Team(models.Model):
    """A section of an organisation (e.g. Intake 2, Counselling 1), led by section heads."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="team_unique_name")
        ]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(is_active=True, organisation__is_active=True, user__is_active=True)


@audited()
class Membership(models.Model):
    """A user's role in one organisation. A user may hold several memberships."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="memberships"
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique_role"
            )
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} – {self.organisation}"


class LinkPurpose(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    RESET = "reset", _("Password reset")


class SignInLink(models.Model):
    """A single-use, expiring link by e-mail to choose a password (X1, R1).

    Only the SHA-256 of the token is stored: a copy of the table cannot be used to sign in.
    A link is open until it is used, replaced by a newer link for the same user, or expires.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signin_links")
    purpose = models.CharField(max_length=16, choices=LinkPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="signinlink_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=models.Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106
                name="signinlink_token_hash_is_sha256",
            ),
            models.CheckConstraint(
                condition=models.Q(used_at__isnull=True) | models.Q(replaced_at__isnull=True),
                name="signinlink_used_or_replaced_not_both",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} link for {self.user_id}"
