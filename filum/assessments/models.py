"""Potential assessments (A1-A7): templates kept as data and versioned per canton, and dated,
structured assessments of a person in a dossier.

A template (``AssessmentTemplate``) belongs to a canton and has numbered versions. A version
holds sections, fields and code lists; while it is a draft the canton's integration officer
edits it, once published it never changes (a database trigger refuses every change to a
published version and to its parts). An assessment keeps the version it was made with, so
publishing a new version never changes an old assessment.

An assessment is a draft (its answers kept as JSON, in the template's keys) until it is
finalised; a final assessment is never changed (trigger) and its answers are also written,
one row per value, into ``AssessmentAnswer``: the table that history, synthesis and steering
lists query in SQL. See docs/decisions/0018-assessments.md.
"""

from __future__ import annotations

import uuid
from typing import Any

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case
from filum.dates import stored_range
from filum.people.models import Person
from filum.records.tracking import audited
from filum.tenancy.models import Organisation


def in_reader_language(obj: Any, name: str) -> str:
    """``obj.<name>_de`` for German readers, ``obj.<name>_fr`` otherwise (the French text is
    the fallback when the German one is empty)."""
    french = str(getattr(obj, f"{name}_fr"))
    if (get_language() or "fr").startswith("de"):
        return str(getattr(obj, f"{name}_de")) or french
    return french


class Bilingual:
    """Labels kept as data in French and German, read in the reader's language."""

    @property
    def label(self) -> str:
        return in_reader_language(self, "label")

    @property
    def help(self) -> str:
        return in_reader_language(self, "help")


# The CEFR scale with a step below A1 (domain 9); the rank orders it for history and synthesis.
CEFR_LEVELS: tuple[str, ...] = ("pre_a1", "a1", "a2", "b1", "b2", "c1", "c2")
CEFR_LABELS: dict[str, Any] = {
    "pre_a1": _("pre-A1"),
    "a1": "A1",
    "a2": "A2",
    "b1": "B1",
    "b2": "B2",
    "c1": "C1",
    "c2": "C2",
}
CEFR_RANK: dict[str, int] = {code: rank for rank, code in enumerate(CEFR_LEVELS)}


class Dimension(models.TextChoices):
    """Language skills are recorded oral and written separately, as fide does (domain 9)."""

    ORAL = "oral", _("oral")
    WRITTEN = "written", _("written")


class FieldKind(models.TextChoices):
    TEXT = "text", _("Text (one line)")
    LONG_TEXT = "long_text", _("Text (several lines)")
    NUMBER = "number", _("Number")
    YEAR = "year", _("Year")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice from a code list")
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice from a code list")
    YES_NO = "yes_no", _("Yes / no")
    LANGUAGE_LEVELS = "language_levels", _("Language levels (CEFR, oral and written)")


# Kinds that take their choices from a code list (for language levels: the languages).
CODED_KINDS: frozenset[str] = frozenset(
    {FieldKind.CHOICE, FieldKind.MULTIPLE_CHOICE, FieldKind.LANGUAGE_LEVELS}
)
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"


@audited()
class AssessmentTemplate(models.Model):
    """A canton's structured form (e.g. the potential assessment), in numbered versions."""

    canton = models.CharField(_("canton"), max_length=2)
    code = models.CharField(_("code"), max_length=48)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    name_de = models.CharField(_("name (German)"), max_length=200)
    # The canton office that made it; empty for the templates shipped with Filum.
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["canton", "code"]
        verbose_name = _("assessment template")
        verbose_name_plural = _("assessment templates")
        constraints = [
            models.UniqueConstraint(fields=["canton", "code"], name="template_code_unique"),
            models.CheckConstraint(condition=Q(code__regex=KEY_PATTERN), name="template_code"),
            models.CheckConstraint(
                condition=Q(canton__regex=r"^[A-Z]{2}$"), name="template_canton"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_reader_language(self, "name")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")


# Refuses any change to a published version's part (section, field, code list, item): the
# version is looked up through the row's ``version_id``, which every part carries.
_PART_FROZEN = """
    IF TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM assessments_templateversion
                                     WHERE id = OLD.version_id AND status = 'published')
       OR TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM assessments_templateversion
                                        WHERE id = NEW.version_id AND status = 'published')
    THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = TG_TABLE_NAME || ': a published template version cannot be changed';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
"""


def frozen_when_published(name: str) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func=_PART_FROZEN,
    )


@audited()
class TemplateVersion(models.Model):
    """One version of a template: a draft while it is edited, then published and frozen."""

    template = models.ForeignKey(
        AssessmentTemplate, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["template", "-number"]
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique"),
            # one draft at a time per template: the next version is edited in one place
            models.UniqueConstraint(
                fields=["template"], condition=Q(status="draft"), name="template_one_draft"
            ),
            models.CheckConstraint(
                condition=Q(status="draft", published_at__isnull=True)
                | Q(status="published", published_at__isnull=False),
                name="template_version_published_at",
            ),
        ]
        triggers = [
            # A published version is immutable: the one allowed change is publishing a draft.
            pgtrigger.Trigger(
                name="template_version_frozen",
                when=pgtrigger.Before,
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="published"),
                func="""
                    RAISE EXCEPTION USING ERRCODE = 'check_violation',
                        MESSAGE = 'a published template version cannot be changed';
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


@audited()
class TemplateSection(Bilingual, models.Model):
    """A theme of the form (schooling, languages, health...)."""

    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="sections")
    key = models.CharField(_("key"), max_length=48)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    label_fr = models.CharField(_("title (French)"), max_length=200)
    label_de = models.CharField(_("title (German)"), max_length=200)
    help_fr = models.TextField(_("help text (French)"), blank=True)
    help_de = models.TextField(_("help text (German)"), blank=True)

    class Meta:
        ordering = ["version", "position", "id"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="template_section_key"),
            models.CheckConstraint(condition=Q(key__regex=KEY_PATTERN), name="template_section_kf"),
        ]
        triggers = [frozen_when_published("template_section_frozen")]

    def __str__(self) -> str:
        return self.label


@audited()
class CodeList(Bilingual, models.Model):
    """The choices of one or more fields of a version (levels of schooling, languages...).
    ``ordinal``: the items are ordered steps with a score, shown as a level in the synthesis."""

    version = models.ForeignKey(
        TemplateVersion, on_delete=models.CASCADE, related_name="code_lists"
    )
    key = models.CharField(_("key"), max_length=48)
    label_fr = models.CharField(_("name (French)"), max_length=200)
    label_de = models.CharField(_("name (German)"), max_length=200)
    ordinal = models.BooleanField(
        _("ordered levels"),
        default=False,
        help_text=_("The items are levels from low to high; the synthesis shows them as steps."),
    )

    class Meta:
        ordering = ["version", "key"]
        verbose_name = _("code list")
        verbose_name_plural = _("code lists")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="template_codelist_key"),
            models.CheckConstraint(
                condition=Q(key__regex=KEY_PATTERN), name="template_codelist_kf"
            ),
        ]
        triggers = [frozen_when_published("template_codelist_frozen")]

    def __str__(self) -> str:
        return self.label


@audited()
class CodeItem(Bilingual, models.Model):
    code_list = models.ForeignKey(CodeList, on_delete=models.CASCADE, related_name="items")
    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("code"), max_length=48)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    label_fr = models.CharField(_("label (French)"), max_length=200)
    label_de = models.CharField(_("label (German)"), max_length=200)

    class Meta:
        ordering = ["code_list", "position", "id"]
        verbose_name = _("code")
        verbose_name_plural = _("codes")
        constraints = [
            models.UniqueConstraint(fields=["code_list", "code"], name="template_item_code"),
            models.CheckConstraint(condition=Q(code__regex=KEY_PATTERN), name="template_item_kf"),
        ]
        triggers = [frozen_when_published("template_item_frozen")]

    def __str__(self) -> str:
        return self.label


@audited()
class TemplateField(Bilingual, models.Model):
    """One question of a section. ``key`` names it across versions: history and synthesis
    follow a field by its key."""

    section = models.ForeignKey(TemplateSection, on_delete=models.CASCADE, related_name="fields")
    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("key"), max_length=48)
    kind = models.CharField(_("type"), max_length=24, choices=FieldKind.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    required = models.BooleanField(_("required"), default=False)
    label_fr = models.CharField(_("label (French)"), max_length=200)
    label_de = models.CharField(_("label (German)"), max_length=200)
    help_fr = models.TextField(_("help text (French)"), blank=True)
    help_de = models.TextField(_("help text (German)"), blank=True)
    code_list = models.ForeignKey(
        CodeList,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fields",
        verbose_name=_("code list"),
    )
    in_synthesis = models.BooleanField(
        _("shown in the synthesis"),
        default=False,
        help_text=_(
            "Language levels, and choices from a list of ordered levels, appear as steps in "
            "the person's profile; other values appear as they are."
        ),
    )

    class Meta:
        ordering = ["section", "position", "id"]
        verbose_name = _("field")
        verbose_name_plural = _("fields")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="template_field_key"),
            models.CheckConstraint(condition=Q(key__regex=KEY_PATTERN), name="template_field_kf"),
            models.CheckConstraint(
                condition=Q(kind__in=sorted(CODED_KINDS), code_list__isnull=False)
                | (~Q(kind__in=sorted(CODED_KINDS)) & Q(code_list__isnull=True)),
                name="template_field_code_list",
            ),
        ]
        triggers = [frozen_when_published("template_field_frozen")]

    def __str__(self) -> str:
        return self.label


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    FINAL = "final", _("final")
    # a provider's entry through a link that the worker refused (A8): kept, never changed
    REJECTED = "rejected", _("rejected")


class Review(models.TextChoices):
    """Where a provider's entry through a link stands (A8); empty for the staff's own."""

    NONE = "", _("made in Filum")
    PENDING = "pending", _("to review")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")


class AssessmentQuerySet(models.QuerySet["Assessment"]):
    def drafts(self) -> AssessmentQuerySet:
        return self.filter(status=AssessmentStatus.DRAFT)

    def final(self) -> AssessmentQuerySet:
        return self.filter(status=AssessmentStatus.FINAL)

    def of_record(self) -> AssessmentQuerySet:
        """The staff's own assessments and accepted entries of providers: without the entries
        that wait for review or were rejected (A8). Lists and timelines start from here."""
        return self.exclude(review__in=[Review.PENDING, Review.REJECTED])


@audited(history_of="case")
class Assessment(models.Model):
    """A dated assessment of one person (the dossier's client or a member of its assistance
    unit), made with one published template version. ``answers`` maps field keys to values
    (``filum.assessments.answers``); only filled fields are kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person")
    )
    version = models.ForeignKey(
        TemplateVersion,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name=_("template"),
    )
    assessed_on = models.DateField(_("date of the assessment"))
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=AssessmentStatus.choices,
        default=AssessmentStatus.DRAFT,
    )
    answers = models.JSONField(default=dict, blank=True)
    # optimistic concurrency: a save names the revision it was made from (R37)
    revision = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    finalised_at = models.DateTimeField(null=True, blank=True)
    # A provider's entry through a link (``AssessmentLink.assessment``): pending until the
    # worker accepts it (it becomes final) or rejects it (status ``rejected``, with the reason).
    review = models.CharField(
        _("review"), max_length=8, choices=Review.choices, default=Review.NONE, blank=True
    )
    review_reason = models.CharField(_("reason"), max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-assessed_on", "-created_at"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["draft", "rejected"],
                    finalised_at__isnull=True,
                    finalised_by__isnull=True,
                )
                | Q(status="final", finalised_at__isnull=False, finalised_by__isnull=False),
                name="assessment_final_has_who_and_when",
            ),
            # rejected: only a provider's entry, by a named worker, with the reason
            models.CheckConstraint(
                condition=~Q(status="rejected")
                | Q(review="rejected", reviewed_by__isnull=False, reviewed_at__isnull=False)
                & ~Q(review_reason=""),
                name="assessment_rejected_has_who_and_why",
            ),
            models.CheckConstraint(
                condition=~Q(review="pending") | Q(status="draft"),
                name="assessment_pending_is_draft",
            ),
            stored_range("assessed_on", name="assessment_assessed_on_range"),
        ]
        indexes = [
            # the dossier's list, newest first (keyset)
            models.Index(fields=["case", "-assessed_on", "-id"], name="assessment_by_case"),
            models.Index(fields=["person", "-assessed_on"], name="assessment_by_person"),
            # drafts per template version, for the check before publishing a new one
            models.Index(fields=["version"], condition=Q(status="draft"), name="assessment_drafts"),
        ]
        triggers = [
            # A final assessment is never changed nor deleted: a new one is made.
            pgtrigger.Trigger(
                name="assessment_final_frozen",
                when=pgtrigger.Before,
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="final"),
                func="""
                    RAISE EXCEPTION USING ERRCODE = 'check_violation',
                        MESSAGE = 'a final assessment cannot be changed';
                """,
            ),
            # A rejected entry is kept as it came, with the reason.
            pgtrigger.Trigger(
                name="assessment_rejected_frozen",
                when=pgtrigger.Before,
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="rejected"),
                func="""
                    RAISE EXCEPTION USING ERRCODE = 'check_violation',
                        MESSAGE = 'a rejected entry cannot be changed';
                """,
            ),
            # Made with a published version, for the dossier's client or a member of its
            # assistance unit, owned by the dossier's organisation, not before its opening.
            pgtrigger.Trigger(
                name="assessment_fits_its_dossier",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("assessed_on", "version_id"),
                func="""
                    IF NOT EXISTS (SELECT 1 FROM assessments_templateversion
                                   WHERE id = NEW.version_id AND status = 'published') THEN
                        RAISE EXCEPTION USING ERRCODE = 'check_violation',
                            MESSAGE = 'an assessment is made with a published template version';
                    END IF;
                    IF TG_OP = 'INSERT' AND NOT EXISTS (
                        SELECT 1 FROM cases_case c
                        WHERE c.id = NEW.case_id AND c.owner_id = NEW.owner_id
                          AND (c.client_id = NEW.person_id OR EXISTS (
                              SELECT 1 FROM people_unitmember m
                              WHERE m.unit_id = c.assistance_unit_id
                                AND m.person_id = NEW.person_id))
                    ) THEN
                        RAISE EXCEPTION USING ERRCODE = 'check_violation',
                            MESSAGE = 'an assessment concerns a person of its dossier';
                    END IF;
                    IF NEW.assessed_on < (SELECT opened_on FROM cases_case
                                          WHERE id = NEW.case_id) THEN
                        RAISE EXCEPTION USING ERRCODE = 'check_violation',
                            MESSAGE = 'an assessment lies before its dossier''s opening';
                    END IF;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessed_on:%d.%m.%Y}"

    @property
    def is_draft(self) -> bool:
        return self.status == AssessmentStatus.DRAFT

    @property
    def is_pending(self) -> bool:
        """A provider's entry that the worker has not accepted or rejected yet."""
        return self.review == Review.PENDING

    @property
    def is_rejected(self) -> bool:
        return self.status == AssessmentStatus.REJECTED

    @property
    def link(self) -> AssessmentLink | None:
        """The third-party link the entry came through, if any."""
        try:
            return self.third_party_link
        except AssessmentLink.DoesNotExist:
            return None

    @property
    def is_editable(self) -> bool:
        """A draft made in Filum (or accepted); a provider's entry is reviewed first."""
        return self.is_draft and not self.is_pending


class LinkChannel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")


@audited(history_of="case", exclude=["token_hash"])
class AssessmentLink(models.Model):
    """A single-use, expiring link that lets a provider (a language school, a job coach) fill
    in one form about one person of a dossier without an account (A8). Only the SHA-256 of
    its token is stored. See docs/decisions/0023-third-party-links.md."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    # the keys of the sections asked for; empty: the whole form
    sections = ArrayField(models.CharField(max_length=48), default=list, blank=True)
    provider = models.ForeignKey(
        "plans.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("provider"),
    )
    recipient = models.CharField(_("recipient"), max_length=200)
    channel = models.CharField(_("sent by"), max_length=8, choices=LinkChannel.choices)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assessment = models.OneToOneField(
        Assessment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="third_party_link",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("third-party link")
        verbose_name_plural = _("third-party links")
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="assessmentlink_expires_after_creation",
            ),
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106
                name="assessmentlink_token_hash_is_sha256",
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="assessmentlink_used_or_revoked_not_both",
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True, assessment__isnull=True)
                | Q(used_at__isnull=False, assessment__isnull=False),
                name="assessmentlink_used_with_its_entry",
            ),
            models.CheckConstraint(
                condition=Q(channel="email") & ~Q(email="") | Q(channel="sms") & ~Q(phone=""),
                name="assessmentlink_has_an_address",
            ),
        ]
        indexes = [
            # the dossier's links, newest first
            models.Index(fields=["case", "-created_at"], name="assessmentlink_by_case"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.created_at:%d.%m.%Y}"

    @property
    def is_open(self) -> bool:
        """Not used, revoked or expired: the provider can still fill it in."""
        return self.used_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class AssessmentAnswer(models.Model):
    """One value of a final assessment, flattened: one row per field, per chosen code of a
    multiple choice, and per language and dimension of language levels. Derived from the final
    assessment (whose answers are audited) in the same transaction, append-only.

    ``rank``/``scale_max``: the step on an ordered scale (CEFR: pre-A1 = 0 ... C2 = 6; an
    ordinal code list: the item's position), so "at least A1 oral in German" is
    ``field_key = 'languages' AND item = 'de' AND dimension = 'oral' AND rank >= 1``."""

    id = models.BigAutoField(primary_key=True)
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="answer_rows")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", db_index=False)
    field = models.ForeignKey(TemplateField, on_delete=models.PROTECT, related_name="+")
    field_key = models.CharField(max_length=48)
    item = models.CharField(max_length=48, blank=True)  # the language of language levels
    dimension = models.CharField(max_length=8, blank=True)  # oral / written
    assessed_on = models.DateField()
    code = models.CharField(max_length=48, blank=True)  # choice, yes/no ("yes"/"no"), level
    number = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    text = models.TextField(blank=True)
    date = models.DateField(null=True, blank=True)
    rank = models.SmallIntegerField(null=True, blank=True)
    scale_max = models.SmallIntegerField(null=True, blank=True)
    in_synthesis = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("assessment value")
        verbose_name_plural = _("assessment values")
        constraints = [
            models.CheckConstraint(
                condition=Q(rank__isnull=True) | Q(scale_max__gte=models.F("rank"), rank__gte=0),
                name="assessment_answer_rank_on_scale",
            ),
        ]
        indexes = [
            # a person's history and synthesis
            models.Index(
                fields=["person", "field_key", "item", "dimension", "-assessed_on"],
                name="answer_person_history",
            ),
            # steering lists: who has which level (filter by language level)
            models.Index(fields=["field_key", "item", "dimension", "rank"], name="answer_level"),
            models.Index(fields=["assessment"], name="answer_assessment"),
        ]
        triggers = [
            pgtrigger.Protect(name="assessment_answer_append_only", operation=pgtrigger.Update),
            pgtrigger.Protect(name="assessment_answer_kept", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.field_key} {self.item} {self.dimension}".strip()
