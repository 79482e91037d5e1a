"""The AIS timeline's data (I4, I5; decision 0021): the canton's milestone rules, and the
dated situation entries of a person (education, work, residence status)."""

from __future__ import annotations

import datetime

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case
from filum.dates import stored_range
from filum.people.models import Person, ResidenceStatus
from filum.plans import milestones
from filum.records.tracking import audited
from filum.tenancy.models import Organisation


class MilestoneKey(models.TextChoices):
    LANGUAGE_A1 = milestones.LANGUAGE_A1, _("Oral A1 in a national language")
    EDUCATION_16_25 = milestones.EDUCATION_16_25, _("Post-compulsory education (16 to 25)")
    LABOUR_MARKET = milestones.LABOUR_MARKET, _("First labour market (adults)")


class MilestoneRuleQuerySet(models.QuerySet["MilestoneRule"]):
    def valid_on(self, day: datetime.date) -> MilestoneRuleQuerySet:
        return self.filter(valid_from__lte=day)


@audited()
class MilestoneRule(models.Model):
    """When an AIS milestone falls due and for whom, valid from a date. Rows without a canton
    apply to every canton; a canton's own row for a key replaces them from its start."""

    canton = models.CharField(_("canton"), max_length=2, blank=True)
    key = models.CharField(_("milestone"), max_length=24, choices=MilestoneKey.choices)
    years = models.PositiveSmallIntegerField(_("years after arrival"))
    min_age = models.PositiveSmallIntegerField(_("from the age of"))
    max_age = models.PositiveSmallIntegerField(_("up to the age of"), null=True, blank=True)
    warning_months = models.PositiveSmallIntegerField(
        _("at risk this many months ahead"), default=12
    )
    valid_from = models.DateField(_("valid from"))
    note = models.CharField(_("source"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MilestoneRuleQuerySet.as_manager()

    class Meta:
        ordering = ["canton", "key", "-valid_from"]
        verbose_name = _("milestone rule")
        verbose_name_plural = _("milestone rules")
        constraints = [
            models.UniqueConstraint(
                fields=["canton", "key", "valid_from"], name="milestonerule_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(years__gte=1, years__lte=10), name="milestonerule_years_range"
            ),
            models.CheckConstraint(
                condition=Q(max_age__isnull=True) | Q(max_age__gte=models.F("min_age")),
                name="milestonerule_age_range",
            ),
            models.CheckConstraint(
                condition=Q(warning_months__lte=60), name="milestonerule_warning_range"
            ),
            stored_range("valid_from", name="milestonerule_valid_from_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_key_display()} ({self.valid_from:%d.%m.%Y})"

    def norm(self) -> milestones.MilestoneNorm:
        return milestones.MilestoneNorm(
            self.key, self.years, self.min_age, self.max_age, self.warning_months
        )


class SituationKind(models.TextChoices):
    EDUCATION = milestones.EDUCATION, _("education")
    WORK = milestones.WORK, _("work")
    RESIDENCE = milestones.RESIDENCE, _("residence status")


class EducationSituation(models.TextChoices):
    NONE = "none", _("no education or training")
    COMPULSORY = "compulsory", _("compulsory school")
    BRIDGING = "bridging", _("bridging offer, integration course")
    POST_COMPULSORY = (
        milestones.POST_COMPULSORY,
        _("post-compulsory education (apprenticeship, upper-secondary or higher education)"),
    )


class WorkSituation(models.TextChoices):
    NONE = "none", _("not working")
    SECOND = "second_labour_market", _("second labour market (subsidised, programme)")
    FIRST = milestones.FIRST_LABOUR_MARKET, _("first labour market")


SITUATION_VALUES: dict[str, type[models.TextChoices]] = {
    SituationKind.EDUCATION: EducationSituation,
    SituationKind.WORK: WorkSituation,
    SituationKind.RESIDENCE: ResidenceStatus,
}


def situation_label(kind: str, value: str) -> str:
    choices = SITUATION_VALUES.get(kind)
    try:
        return str(choices(value).label) if choices else value
    except ValueError:
        return value


@audited(history_of="case")
class SituationEntry(models.Model):
    """A person's situation from a date: in which education, in which work, with which
    residence status. The latest entry of a kind on or before a day is the situation then.

    An entry is never edited nor deleted: one recorded in error is marked so (who, when, why;
    once) and no longer counts; the right situation is a new entry, which may name the entry
    it ``corrects`` (decision 0021)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("person")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=SituationKind.choices)
    value = models.CharField(_("situation"), max_length=32)
    since = models.DateField(_("from"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    error_reason = models.CharField(_("why it was recorded in error"), max_length=300, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    corrects = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrected_by",
        verbose_name=_("corrects"),
    )

    class Meta:
        ordering = ["since", "id"]
        verbose_name = _("situation entry")
        verbose_name_plural = _("situation entries")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=SituationKind.EDUCATION, value__in=EducationSituation.values)
                | Q(kind=SituationKind.WORK, value__in=WorkSituation.values)
                | Q(kind=SituationKind.RESIDENCE, value__in=ResidenceStatus.values),
                name="situation_known_value",
            ),
            stored_range("since", name="situation_since_range"),
            # recorded in error: who, when and why, all three or none
            models.CheckConstraint(
                condition=Q(error_at__isnull=True, error_by__isnull=True, error_reason="")
                | (Q(error_at__isnull=False, error_by__isnull=False) & ~Q(error_reason="")),
                name="situation_error_complete",
            ),
            models.CheckConstraint(
                condition=~Q(corrects=models.F("id")), name="situation_corrects_another"
            ),
        ]
        triggers = [
            # append-only: the one change to a stored entry is marking it recorded in error,
            # and only once
            pgtrigger.Protect(
                name="situation_append_only",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange(exclude=["error_reason", "error_at", "error_by"]),
            ),
            pgtrigger.Protect(
                name="situation_error_once",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__error_at__isnull=False),
            ),
            pgtrigger.Protect(name="situation_no_delete", operation=pgtrigger.Delete),
        ]
        indexes = [
            # a person's timeline, and the milestones read with the dossier
            models.Index(fields=["person", "case", "since"], name="situation_by_person"),
            models.Index(fields=["case", "since"], name="situation_by_case"),
        ]

    def __str__(self) -> str:
        return f"{self.since:%d.%m.%Y} {self.label}"

    @property
    def label(self) -> str:
        return situation_label(self.kind, self.value)

    @property
    def in_error(self) -> bool:
        return self.error_at is not None
