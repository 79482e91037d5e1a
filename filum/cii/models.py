"""Shared interinstitutional collaboration (CII) cases: the record beside a CII dossier, its
partner institutions with their own case numbers, and the structured entry profile and exit
state that the monitoring counts (X4, X5, D8; docs/decisions/0020-cii-cases.md).

A CII case is a dossier (``cases.Case`` with domain ``cii``) owned by the organisation that
opened it, plus one ``CiiCase`` row. Each partner institution is a ``CiiPartner`` row holding
its body, its own case number and the share that opens the dossier's journal and plan to it."""

from __future__ import annotations

import datetime

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case, Consent, Share
from filum.dates import not_before, stored_range
from filum.plans.goals import IntermediateGoal
from filum.records.tracking import audited
from filum.tenancy.models import Organisation, OrganisationKind


class Body(models.TextChoices):
    """The three partner bodies of a CII case (X5): only these."""

    SOCIAL_ASSISTANCE = "social_assistance", _("Social assistance")
    INVALIDITY = "invalidity_insurance", _("Invalidity insurance (IV/AI)")
    UNEMPLOYMENT = "unemployment_insurance", _("Unemployment insurance (ALV/AC, RAV/ORP)")


# Which body an organisation may be, by its kind: a social service is social assistance; an
# organisation of kind "CII partner" is an invalidity or an unemployment insurance office.
BODIES_OF_KIND: dict[str, tuple[Body, ...]] = {
    OrganisationKind.SOCIAL_SERVICE: (Body.SOCIAL_ASSISTANCE,),
    OrganisationKind.CII_PARTNER: (Body.INVALIDITY, Body.UNEMPLOYMENT),
}


class Health(models.TextChoices):
    NONE = "none", _("No health problem")
    PHYSICAL = "physical", _("Physical")
    PSYCHOLOGICAL = "psychological", _("Psychological")
    BOTH = "both", _("Physical and psychological combined")


class OutOfWork(models.TextChoices):
    """Time since the person last worked, in the bands the CaseNet figures need (over 2 years,
    of which over 4 years)."""

    UNDER_1 = "under_1", _("Less than 1 year")
    YEARS_1_2 = "1_2", _("1 to 2 years")
    YEARS_2_4 = "2_4", _("More than 2 and up to 4 years")
    OVER_4 = "over_4", _("More than 4 years")


class LanguageLevel(models.TextChoices):
    """The level in the local language on the CEFR scale (domain.md section 9)."""

    PRE_A1 = "pre_a1", _("below A1 (pre-A1)")
    A1 = "a1", "A1"
    A2 = "a2", "A2"
    B1 = "b1", "B1"
    B2 = "b2", "B2"
    C1 = "c1", "C1"
    C2 = "c2", "C2"
    FIRST_LANGUAGE = "first", _("first language")


# The levels the monitoring counts as "low or medium" (the seed: between A1 and B2); below A1
# is counted with them (decision 0020).
LOW_OR_MEDIUM_LANGUAGE = (
    LanguageLevel.PRE_A1,
    LanguageLevel.A1,
    LanguageLevel.A2,
    LanguageLevel.B1,
    LanguageLevel.B2,
)


class Education(models.TextChoices):
    NONE = "none", _("No education")
    COMPULSORY = "compulsory", _("Compulsory school")
    VOCATIONAL = "vocational", _("Vocational training")
    HIGHER = "higher", _("Higher education")


class Nationality(models.TextChoices):
    SWISS = "swiss", _("Swiss")
    FOREIGN = "foreign", _("Foreign")


class ExitState(models.TextChoices):
    """The states at the exit of a CII case, exactly the CaseNet seed's five."""

    LABOUR_MARKET = "labour_market", _("Reinsertion in the labour market")
    GOALS_REACHED = "goals_reached", _("Intermediate goals reached")
    NON_COLLABORATION = "non_collaboration", _("Non-collaboration")
    CRITERIA_NOT_MET = "criteria_not_met", _("Does not meet the CII criteria")
    OUTSIDE_AREA = "outside_area", _("Outside the CII geographical area")


GOAL_KEYS = [goal.value for goal in IntermediateGoal]


def _known(field: str, choices: type[models.TextChoices], *, name: str) -> models.CheckConstraint:
    """A coded column holds one of its keys, or nothing yet."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": ["", *choices.values]}), name=name)


def _body_of_kind_sql(organisation: str, body: str) -> str:
    """PL/pgSQL raising unless the organisation in ``NEW.<organisation>`` may be the body in
    ``NEW.<body>`` (``BODIES_OF_KIND``). Column names and codes are constants of this module."""
    allowed = " OR ".join(
        "(kind = '{}' AND NEW.{} IN ({}))".format(kind, body, ", ".join(f"'{b}'" for b in bodies))
        for kind, bodies in BODIES_OF_KIND.items()
    )
    return f"""
        IF NOT EXISTS (
            SELECT 1 FROM tenancy_organisation WHERE id = NEW.{organisation} AND ({allowed})
        ) THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'cii_body_of_kind',
                MESSAGE = 'organisation ' || NEW.{organisation} || ' cannot be ' || NEW.{body};
        END IF;
    """  # noqa: S608 (constant names)


# A CII record belongs to a CII dossier of its owner, rests on an authorisation of that dossier,
# and its owner is one of the three bodies.
_CASE_CHECKS = """
    IF NOT EXISTS (SELECT 1 FROM cases_case WHERE id = NEW.case_id
                   AND domain = 'cii' AND owner_id = NEW.owner_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'cii_case_dossier',
            MESSAGE = 'a CII record belongs to a CII dossier of its owner';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cases_consent WHERE id = NEW.consent_id
                   AND case_id = NEW.case_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'cii_case_consent',
            MESSAGE = 'the authorisation of a CII case is one of its dossier';
    END IF;
"""
_CASE_GUARD_SQL = _CASE_CHECKS + _body_of_kind_sql("owner_id", "owner_body") + "RETURN NEW;"  # noqa: S608

# A partner belongs to the CII case's dossier, works through a share of that dossier to it, and
# is one of the three bodies.
_PARTNER_CHECKS = """
    IF NOT EXISTS (SELECT 1 FROM cii_ciicase WHERE id = NEW.cii_case_id
                   AND case_id = NEW.case_id AND owner_id = NEW.owner_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'cii_partner_case',
            MESSAGE = 'a CII partner belongs to the dossier of its CII case';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cases_share WHERE id = NEW.share_id AND case_id = NEW.case_id
                   AND organisation_id = NEW.organisation_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'cii_partner_share',
            MESSAGE = 'a CII partner works through a share of the dossier';
    END IF;
"""
_PARTNER_GUARD_SQL = (
    _PARTNER_CHECKS + _body_of_kind_sql("organisation_id", "body") + "RETURN NEW;"  # noqa: S608
)


class CiiCaseQuerySet(models.QuerySet["CiiCase"]):
    def countable_by(self, *, organisation: Organisation, canton_wide: bool) -> CiiCaseQuerySet:
        """The CII cases a reader of the monitoring may count: the canton office's whole
        canton, or the reader's own organisation's."""
        if canton_wide:
            return self.filter(owner__canton=organisation.canton)
        return self.filter(owner_id=organisation.pk)

    def active_in(self, year: int) -> CiiCaseQuerySet:
        """Cases running at some time in the year: opened by its end, not ended before it. A
        case ends at its exit, or when its dossier was closed without one."""
        start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        not_ended = (
            Q(exit_on__gte=start)
            | Q(exit_on__isnull=True, case__closed_on__isnull=True)
            | Q(exit_on__isnull=True, case__closed_on__gte=start)
        )
        return self.filter(opened_on__lte=end).filter(not_ended)


@audited(history_of="case")
class CiiCase(models.Model):
    """The CII record of a dossier: lead coordinator, the authorisation it rests on, the entry
    profile and the exit (D8)."""

    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, related_name="cii_record", verbose_name=_("dossier")
    )
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    owner_body = models.CharField(_("body of the organisation"), max_length=24, choices=Body)
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("lead coordinator"),
    )
    consent = models.ForeignKey(
        Consent,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed authorisation"),
    )
    opened_on = models.DateField(_("CII case opened on"))
    # Entry profile (D8); empty until recorded.
    health = models.CharField(
        _("health problems"), max_length=16, choices=Health, blank=True, default=""
    )
    out_of_work = models.CharField(
        _("time out of work"), max_length=8, choices=OutOfWork, blank=True, default=""
    )
    language_level = models.CharField(
        _("level in the local language"),
        max_length=8,
        choices=LanguageLevel,
        blank=True,
        default="",
        help_text=_("Common European Framework of Reference (CEFR)."),
    )
    education = models.CharField(
        _("education"), max_length=16, choices=Education, blank=True, default=""
    )
    nationality = models.CharField(
        _("nationality"), max_length=8, choices=Nationality, blank=True, default=""
    )
    debts = models.BooleanField(
        _("debts"),
        null=True,
        blank=True,
        help_text=_("Debts other than social-assistance debts, which are not counted here."),
    )
    goals_aimed = ArrayField(
        models.CharField(max_length=24, choices=IntermediateGoal),
        default=list,
        blank=True,
        verbose_name=_("intermediate goals aimed at"),
    )
    # Exit (D8): all three together, or none.
    exit_on = models.DateField(_("exit on"), null=True, blank=True)
    exit_state = models.CharField(
        _("state at exit"), max_length=24, choices=ExitState, blank=True, default=""
    )
    goals_reached = ArrayField(
        models.CharField(max_length=24, choices=IntermediateGoal),
        default=list,
        blank=True,
        verbose_name=_("intermediate goals reached"),
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CiiCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("CII case")
        verbose_name_plural = _("CII cases")
        constraints = [
            _known("owner_body", Body, name="cii_case_owner_body_known"),
            models.CheckConstraint(condition=~Q(owner_body=""), name="cii_case_owner_body_set"),
            _known("health", Health, name="cii_case_health_known"),
            _known("out_of_work", OutOfWork, name="cii_case_out_of_work_known"),
            _known("language_level", LanguageLevel, name="cii_case_language_known"),
            _known("education", Education, name="cii_case_education_known"),
            _known("nationality", Nationality, name="cii_case_nationality_known"),
            _known("exit_state", ExitState, name="cii_case_exit_state_known"),
            models.CheckConstraint(
                condition=Q(goals_aimed__contained_by=GOAL_KEYS), name="cii_case_goals_aimed_known"
            ),
            # Reached goals are among those aimed at (which are known keys, above).
            models.CheckConstraint(
                condition=Q(goals_reached__contained_by=models.F("goals_aimed")),
                name="cii_case_goals_reached_aimed",
            ),
            models.CheckConstraint(
                condition=Q(exit_on__isnull=True, exit_state="", goals_reached=[])
                | Q(exit_on__isnull=False) & ~Q(exit_state=""),
                name="cii_case_exit_complete",
            ),
            models.CheckConstraint(
                condition=~Q(exit_state=ExitState.GOALS_REACHED) | ~Q(goals_reached=[]),
                name="cii_case_goals_reached_named",
            ),
            not_before("exit_on", "opened_on", name="cii_case_exit_after_opening"),
            stored_range("opened_on", name="cii_case_opened_on_range"),
            stored_range("exit_on", name="cii_case_exit_on_range"),
        ]
        indexes = [
            # The monitoring counts by owner and year (cases running in the year, exits in it).
            models.Index(fields=["owner", "opened_on"], name="cii_case_owner_opened"),
            models.Index(fields=["owner", "exit_on"], name="cii_case_owner_exit"),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="cii_case_fits_its_dossier",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert
                | pgtrigger.UpdateOf("case_id", "owner_id", "owner_body", "consent_id"),
                func=_CASE_GUARD_SQL,
            ),
        ]

    def __str__(self) -> str:
        return f"CII {self.case_id}"

    @property
    def has_exit(self) -> bool:
        return self.exit_on is not None

    @property
    def authorisation_in_force(self) -> bool:
        return self.consent.is_active

    @property
    def to_be_closed(self) -> bool:
        """The authorisation ended (withdrawn or expired) and no exit is recorded yet: the
        partners' access has ended, the owner records the exit (decision 0020)."""
        return not self.has_exit and not self.authorisation_in_force

    @property
    def goal_lines(self) -> list[tuple[str, bool]]:
        """The goals aimed at in the list's order, in the reader's language, and whether each
        was reached."""
        return [
            (str(goal.label), goal.value in self.goals_reached)
            for goal in IntermediateGoal
            if goal.value in self.goals_aimed
        ]

    @property
    def profile_recorded(self) -> bool:
        return all(
            value not in ("", None)
            for value in (
                self.health,
                self.out_of_work,
                self.language_level,
                self.education,
                self.nationality,
                self.debts,
            )
        )


class CiiPartnerQuerySet(models.QuerySet["CiiPartner"]):
    def current(self) -> CiiPartnerQuerySet:
        return self.filter(left_at__isnull=True)


@audited(history_of="case")
class CiiPartner(models.Model):
    """A partner institution of a CII case: its body, its own case number, and the share of
    the dossier's journal and plan it works through (X5)."""

    cii_case = models.ForeignKey(CiiCase, on_delete=models.PROTECT, related_name="partners")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="cii_partnerships",
        verbose_name=_("partner institution"),
    )
    body = models.CharField(_("body"), max_length=24, choices=Body)
    case_number = models.CharField(
        _("the partner's case number"),
        max_length=40,
        help_text=_("The number under which the partner institution keeps its own file."),
    )
    share = models.OneToOneField(Share, on_delete=models.PROTECT, related_name="cii_partner")
    joined_on = models.DateField(_("joined on"), default=timezone.localdate)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    left_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = CiiPartnerQuerySet.as_manager()

    class Meta:
        ordering = ["joined_on", "id"]
        verbose_name = _("CII partner")
        verbose_name_plural = _("CII partners")
        constraints = [
            _known("body", Body, name="cii_partner_body_known"),
            models.CheckConstraint(
                condition=~Q(organisation=models.F("owner")), name="cii_partner_not_owner"
            ),
            models.CheckConstraint(
                condition=~Q(case_number__regex=r"^\s*$"), name="cii_partner_has_case_number"
            ),
            models.CheckConstraint(
                condition=Q(left_at__isnull=True, left_by__isnull=True)
                | Q(left_at__isnull=False, left_by__isnull=False),
                name="cii_partner_left_by_whom",
            ),
            models.UniqueConstraint(
                fields=["cii_case", "organisation"],
                condition=Q(left_at__isnull=True),
                name="cii_partner_once",
            ),
            stored_range("joined_on", name="cii_partner_joined_on_range"),
        ]
        indexes = [models.Index(fields=["case", "joined_on"], name="cii_partner_case")]
        triggers = [
            pgtrigger.Trigger(
                name="cii_partner_fits_its_case",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert
                | pgtrigger.UpdateOf(
                    "cii_case_id", "case_id", "owner_id", "organisation_id", "body", "share_id"
                ),
                func=_PARTNER_GUARD_SQL,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} ({self.body}) {self.case_number}"

    @property
    def is_current(self) -> bool:
        return self.left_at is None
