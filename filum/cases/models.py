"""Dossiers (cases), the shares that open sections of them to other organisations, consent."""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.people.models import AssistanceUnit, Person
from filum.records.tracking import audited
from filum.tenancy.models import Organisation, Team
from filum.tenancy.policy import Relation, Section, allowed_relations

if TYPE_CHECKING:
    from filum.tenancy.policy import Actor


class Domain(models.TextChoices):
    ECONOMIC_AID = "economic_aid", _("Economic social assistance")
    ASYLUM_AID = "asylum_aid", _("Asylum and refugee social assistance")
    CHILD_PROTECTION = "child_protection", _("Child protection")
    ADULT_PROTECTION = "adult_protection", _("Adult protection")
    JOB_INTEGRATION = "job_integration", _("Job integration")
    CII = "cii", _("Interinstitutional collaboration (CII)")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class Stage(models.TextChoices):
    INTAKE_1 = "intake_1", _("Intake 1")
    INTAKE_2 = "intake_2", _("Intake 2")
    COUNSELLING = "counselling", _("Counselling")
    CLOSED = "closed", _("Closed")


class ClosureReason(models.TextChoices):
    REJECTED = "rejected", _("Request rejected (not competent or subsidiary)")
    EMPLOYMENT = "employment", _("Exit through employment")
    SOCIAL_INSURANCE = "social_insurance", _("Exit through social insurance benefits")
    MOVED = "moved", _("Moved to another commune")
    OTHER_INCOME = "other_income", _("Other income or assets")
    NO_COOPERATION = "no_cooperation", _("No cooperation")
    DEATH = "death", _("Death")
    MEASURE_ENDED = "measure_ended", _("Measure or mandate ended")
    OTHER = "other", _("Other reason")


class NextVal(models.Func):
    function = "nextval"
    template = "%(function)s('cases_case_number_seq')"
    output_field = models.BigIntegerField()


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(self, actor: Actor, *, section: str = Section.CORE, write: bool = False) -> CaseQuerySet:
        """Dossiers on which the actor may read (or write) the given section, in SQL."""
        action = f"{section}.{'write' if write else 'read'}"
        relations = allowed_relations(actor.role, action)
        condition = Q(pk__in=[])
        if Relation.OWN_ORG in relations:
            condition |= Q(owner_id=actor.organisation_id)
        elif Relation.OWN_CASE in relations:
            condition |= Q(owner_id=actor.organisation_id, responsible_id=actor.user.pk)
        access = [
            level
            for level, rel in ((Share.Access.READ, Relation.SHARED_READ), (Share.Access.WRITE, Relation.SHARED_WRITE))
            if rel in relations
        ]
        if access:
            shares = Share.objects.active().filter(
                case=OuterRef("pk"),
                organisation_id=actor.organisation_id,
                sections__contains=[str(section)],
                access__in=access,
            )
            condition |= Exists(shares)
        return self.filter(condition)

    def open(self) -> CaseQuerySet:
        return self.filter(status=CaseStatus.OPEN)


@audited()
class Case(models.Model):
    """One dossier per case, owned by one organisation (P1)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.BigIntegerField(_("number"), unique=True, db_default=NextVal())
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="cases", verbose_name=_("organisation")
    )
    domain = models.CharField(_("domain"), max_length=32, choices=Domain.choices)
    client = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="cases", verbose_name=_("client")
    )
    assistance_unit = models.ForeignKey(
        AssistanceUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("assistance unit"),
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responsible_cases",
        verbose_name=_("responsible worker"),
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="cases", verbose_name=_("team")
    )
    opened_on = models.DateField(_("opened on"))
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, default=Stage.INTAKE_1)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closure_reason = models.CharField(
        _("closure reason"), max_length=32, choices=ClosureReason.choices, blank=True
    )
    title = models.CharField(_("subject"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_on", "-number"]
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=models.F("opened_on")),
                name="case_closed_after_opened",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_on__isnull=True)
                | Q(status="closed", closed_on__isnull=False) & ~Q(closure_reason=""),
                name="case_closed_has_date_and_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "-opened_on", "-number"], name="case_owner_list"),
            models.Index(
                fields=["responsible", "status", "-opened_on", "-number"], name="case_worker_list"
            ),
            models.Index(fields=["client"], name="case_client"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}"

    @property
    def reference(self) -> str:
        return f"D-{self.number:07d}" if self.number else "D-…"

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


class ShareQuerySet(models.QuerySet["Share"]):
    def active(self, on: datetime.date | None = None) -> ShareQuerySet:
        today = on or timezone.localdate()
        return self.filter(revoked_at__isnull=True, valid_until__gte=today).filter(
            Q(consent__isnull=True) | Q(consent__withdrawn_on__isnull=True)
        )


@audited()
class Consent(models.Model):
    """A person's authorisation to pass on information (X4)."""

    class Kind(models.TextChoices):
        GENERAL = "general", _("general authorisation for the whole case")
        SPECIFIC = "specific", _("specific authorisation")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="consents")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    scope = models.TextField(_("scope"), help_text=_("Which information, to whom, for what."))
    sections = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    signed_on = models.DateField(_("signed on"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_on"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("signed_on")),
                name="consent_withdrawn_after_signed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.signed_on:%d.%m.%Y})"

    @property
    def is_active(self) -> bool:
        today = timezone.localdate()
        return self.withdrawn_on is None and (self.valid_until is None or self.valid_until >= today)

    def covers(self, sections: list[str]) -> bool:
        return self.kind == self.Kind.GENERAL or set(sections) <= set(self.sections)


@audited()
class Share(models.Model):
    """Opens named sections of a dossier to another organisation, for a reason, until a date."""

    class Access(models.TextChoices):
        READ = "read", _("read")
        WRITE = "write", _("read and write")

    class Basis(models.TextChoices):
        LEGAL = "legal", _("legal basis")
        CONSENT = "consent", _("consent of the person")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shares")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="received_shares", verbose_name=_("shared with")
    )
    sections = ArrayField(models.CharField(max_length=16), verbose_name=_("sections"))
    access = models.CharField(_("access"), max_length=8, choices=Access.choices)
    basis = models.CharField(_("basis"), max_length=16, choices=Basis.choices)
    reason = models.CharField(_("reason"), max_length=300, help_text=_("Legal basis or consent reference"))
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="shares")
    valid_until = models.DateField(_("valid until"))
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ShareQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [
            models.CheckConstraint(condition=~Q(owner=models.F("organisation")), name="share_not_to_owner"),
            models.CheckConstraint(
                condition=Q(sections__contained_by=[s.value for s in Section]) & ~Q(sections=[]),
                name="share_known_sections",
            ),
            models.CheckConstraint(
                condition=Q(basis="legal") | Q(consent__isnull=False), name="share_consent_basis"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "case"], name="share_grantee"),
        ]

    def __str__(self) -> str:
        return f"{self.case} → {self.organisation}"

    @property
    def is_active(self) -> bool:
        return (
            self.revoked_at is None
            and self.valid_until >= timezone.localdate()
            and (self.consent_id is None or self.consent is None or self.consent.withdrawn_on is None)
        )


@audited()
class CaseTransition(models.Model):
    """A lifecycle step of a dossier (opening, transitions, closure, transfer): who, when, why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="lifecycle")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32)
    from_stage = models.CharField(max_length=16, blank=True)
    to_stage = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_transition_case")]
