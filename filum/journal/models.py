"""The journal of a dossier: contacts with the client (S6, S7) and service agreements (S9).

A journal entry is never edited in place: a correction is a new version that ``supersedes``
the previous one, which is then marked ``superseded_at`` and keeps its text (X2). A database
trigger refuses any other change to a stored entry.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case, after_opening
from filum.dates import stored_range
from filum.records.tracking import audited
from filum.tenancy.models import Organisation
from filum.web.choices import ChoiceLabels


class ContactKind(models.TextChoices):
    INTERVIEW = "interview", _("Face-to-face interview")
    HOME_VISIT = "home_visit", _("Home visit")
    NETWORK_INTERNAL = "network_internal", _("Internal network meeting")
    NETWORK_EXTERNAL = "network_external", _("External network meeting")
    SPONTANEOUS = "spontaneous", _("Spontaneous (emergency) interview")
    PHONE = "phone", _("Telephone call")
    EMAIL = "email", _("E-mail")
    LETTER = "letter", _("Letter")
    DOCUMENT_DROP = "document_drop", _("Documents dropped off")


# S6: what counts as face to face, and what is no contact at all (an interview is a
# conversation: dropping off documents and letters are not).
FACE_TO_FACE_KINDS: frozenset[str] = frozenset(
    {
        ContactKind.INTERVIEW,
        ContactKind.HOME_VISIT,
        ContactKind.NETWORK_INTERNAL,
        ContactKind.NETWORK_EXTERNAL,
        ContactKind.SPONTANEOUS,
    }
)
NOT_A_CONTACT_KINDS: frozenset[str] = frozenset({ContactKind.DOCUMENT_DROP, ContactKind.LETTER})


class Topic(models.Model):
    """A subject of a journal entry, kept as data. Only social-work topics make an entry count
    as a contact (S6: a contact needs a social-work topic; dropping off documents is none)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name_fr = models.CharField(_("name (French)"), max_length=100)
    name_de = models.CharField(_("name (German)"), max_length=100)
    is_social_work = models.BooleanField(_("social-work topic"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_de if (get_language() or "fr").startswith("de") else self.name_fr


# The one definition of a counted contact on the reading side (S6): the current, not retracted
# version of an entry classified as counting when it was recorded (``counts``: written by the
# responsible organisation's staff, on a social-work topic, a conversation with the client;
# see ``filum.journal.services.counts_as_contact``). The nightly SQL is generated from it.
COUNTED = Q(superseded_at__isnull=True, is_retracted=False, counts=True)


class ContactQuerySet(models.QuerySet["Contact"]):
    def current(self) -> ContactQuerySet:
        """The latest version of each entry (corrections replace, retractions hide)."""
        return self.filter(superseded_at__isnull=True)

    def visible(self) -> ContactQuerySet:
        """What the journal shows: current versions that were not retracted."""
        return self.current().filter(is_retracted=False)

    def counted(self) -> ContactQuerySet:
        """Entries that count as contacts for the norms (S6)."""
        return self.filter(COUNTED)

    def face_to_face(self) -> ContactQuerySet:
        return self.counted().filter(is_face_to_face=True)


@audited(history_of="case")
class Contact(ChoiceLabels, models.Model):
    """One event with the client in the journal. ``counts`` and ``is_face_to_face`` are fixed at
    recording time from the kind and the topic (S6), so the norms can be counted in SQL."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("type"), max_length=24, choices=ContactKind.choices)
    date = models.DateField(_("date"))
    participants = models.CharField(_("participants"), max_length=300, blank=True)
    topic = models.ForeignKey(
        Topic, on_delete=models.PROTECT, related_name="+", verbose_name=_("topic")
    )
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    # Who wrote the entry: the dossier's organisation or a partner with a journal share. Empty
    # on entries recorded before the field existed (then the dossier's organisation).
    author_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written by"),
    )
    counts = models.BooleanField(_("counts as a contact"))
    is_face_to_face = models.BooleanField(_("face to face"))
    is_retracted = models.BooleanField(_("retracted"), default=False)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("corrects"),
    )
    correction_reason = models.CharField(_("reason for the correction"), max_length=300, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-recorded_at"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            # S7: every face-to-face interview has a duration, however short.
            models.CheckConstraint(
                # (NULL > 0 is not false, so the null test is spelled out)
                condition=~Q(kind__in=sorted(FACE_TO_FACE_KINDS))
                | Q(duration_minutes__isnull=False, duration_minutes__gt=0),
                name="contact_face_to_face_has_duration",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True) | Q(duration_minutes__gt=0),
                name="contact_duration_positive",
            ),
            models.CheckConstraint(
                condition=Q(is_face_to_face=False) | Q(counts=True), name="contact_f2f_counts"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=sorted(NOT_A_CONTACT_KINDS)) | Q(counts=False),
                name="contact_document_drop_not_counted",
            ),
            # Entries of partner organisations are shown but never counted (S6).
            models.CheckConstraint(
                condition=Q(author_organisation__isnull=True)
                | Q(author_organisation=models.F("owner"))
                | Q(counts=False),
                name="contact_partner_entry_not_counted",
            ),
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True) | ~Q(correction_reason=""),
                name="contact_correction_has_reason",
            ),
            stored_range("date", name="contact_date_range"),
        ]
        indexes = [
            # The journal list and the norm counts read only current versions.
            models.Index(
                fields=["case", "-date"],
                condition=Q(superseded_at__isnull=True),
                name="contact_current_by_case",
            ),
        ]
        triggers = [
            # Entries are corrected by a new version only: the one allowed change to a stored
            # row is marking it superseded.
            pgtrigger.Protect(
                name="contact_append_only",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange(exclude=["superseded_at"]),
            ),
            after_opening("contact_after_opening", "journal_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.get_kind_display()}"

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None

    @property
    def is_partner_entry(self) -> bool:
        return self.author_organisation_id not in (None, self.owner_id)


class ServiceAgreementQuerySet(models.QuerySet["ServiceAgreement"]):
    def latest_per_case(self) -> ServiceAgreementQuerySet:
        return self.order_by("case_id", "-recorded_at", "-id").distinct("case_id")


@audited(history_of="case")
class ServiceAgreement(models.Model):
    """A service agreement (convention de prestations) of a dossier, or the recorded reason why
    there is none (S9). The latest row is the current state; earlier rows are the history."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="service_agreements")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    summary = models.TextField(_("content"), blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    no_agreement_reason = models.TextField(_("reason why there is no agreement"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = ServiceAgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("service agreement")
        verbose_name_plural = _("service agreements")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(signed_on__isnull=False, no_agreement_reason="") & ~Q(summary__regex=r"^\s*$")
                )
                | (Q(signed_on__isnull=True, summary="") & ~Q(no_agreement_reason__regex=r"^\s*$")),
                name="agreement_signed_or_reason",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("signed_on")),
                name="agreement_valid_after_signed",
            ),
            stored_range("signed_on", name="agreement_signed_on_range"),
            stored_range("valid_until", name="agreement_valid_until_range"),
        ]
        triggers = [after_opening("agreement_after_opening", "journal_serviceagreement")]
        indexes = [models.Index(fields=["case", "-recorded_at"], name="agreement_by_case")]

    def __str__(self) -> str:
        if self.signed_on:
            return f"{self.signed_on:%d.%m.%Y}"
        return str(_("no agreement"))

    @property
    def exists(self) -> bool:
        return self.signed_on is not None
