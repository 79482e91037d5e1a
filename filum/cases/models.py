"""Dossiers (cases), the shares that open sections of them to other organisations, consent."""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Any

import pgtrigger
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateRangeField, RangeOperators
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from filum.dates import not_before, stored_range
from filum.people.models import AssistanceUnit, Person
from filum.records.tracking import audited
from filum.tenancy.models import Organisation, Team
from filum.tenancy.policy import Relation, Section, allowed_relations
from filum.web.choices import ChoiceLabels

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


class Segment(models.TextChoices):
    A = "A", _("A – high need")
    B = "B", _("B – medium need")
    C = "C", _("C – low need")


class ExitPotential(models.TextChoices):
    """The exit potential assessed at Intake 2 (SEG 5): through the labour market or social
    insurance, expected by a date; within six months the dossier stays in Intake 2."""

    LABOUR_MARKET = "labour_market", _("Exit through the labour market")
    SOCIAL_INSURANCE = "social_insurance", _("Exit through social insurance")
    NONE = "none", _("No exit potential within six months")


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


# Dated rows of a dossier and the column that must not lie before the dossier's opening
# (docs/decisions/0008-plausible-dates.md). The child tables check it on write; the dossier
# checks it when its opening date moves.
DATED_CHILDREN = {
    "cases_consent": "signed_on",
    "cases_segmentassignment": "since",
    "cases_transferreport": "transferred_on",
    "journal_contact": "date",
    "journal_serviceagreement": "signed_on",
    "followup_task": "due_on",
}


def after_opening(name: str, table: str) -> pgtrigger.Trigger:
    """A trigger refusing a row of ``table`` dated before its dossier's opening."""
    column = DATED_CHILDREN[table]
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Insert | pgtrigger.UpdateOf(column),
        # Table and column names come from DATED_CHILDREN above, never from input.
        func=f"""
            IF NEW.{column} < (SELECT opened_on FROM cases_case WHERE id = NEW.case_id) THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = TG_TABLE_NAME
                    || '.{column} ' || NEW.{column} || ' lies before the dossier''s opening';
            END IF;
            RETURN NEW;
        """,  # noqa: S608
    )


def _opening_guard_sql() -> str:
    checks = "\n".join(
        f"""
            IF EXISTS (SELECT 1 FROM {table} WHERE case_id = NEW.id AND {column} < NEW.opened_on)
            THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'the opening '
                    || NEW.opened_on || ' lies after a date in {table}';
            END IF;"""  # noqa: S608
        for table, column in DATED_CHILDREN.items()
    )
    return f"{checks}\nRETURN NEW;"


class NextVal(models.Func):
    function = "nextval"
    template = "%(function)s('cases_case_number_seq')"
    output_field = models.BigIntegerField()


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(
        self,
        actor: Actor,
        *,
        section: str = Section.CORE,
        write: bool = False,
        beyond_organisation: bool = False,
    ) -> CaseQuerySet:
        """Dossiers on which the actor may read (or write) the given section, in SQL: the
        organisation's own (``owned_visible_to``) or shared with it (``shared_visible_to``).

        ``beyond_organisation``: without the dossiers the actor sees as their organisation's
        (relation OWN_ORG), which the person reach (``people.PersonReach``) already covers."""
        condition: Any = Q(pk__in=[])
        own = _own_condition(actor, section=section, write=write)
        relations = allowed_relations(actor.role, f"{section}.{'write' if write else 'read'}")
        if own is not None and not (beyond_organisation and Relation.OWN_ORG in relations):
            condition |= own
        shares = _granting_shares(actor, section=section, write=write)
        if shares is not None:
            condition |= Exists(shares.filter(case=OuterRef("pk")))
        return self.filter(condition)

    def owned_visible_to(
        self, actor: Actor, *, section: str = Section.CORE, write: bool = False
    ) -> CaseQuerySet:
        """The part of ``visible_to`` the actor reaches as a member of the owner: one
        organisation (and worker), so lists of it read the owner's ordered index
        (``case_owner_list``, ``case_worker_list``)."""
        own = _own_condition(actor, section=section, write=write)
        return self.none() if own is None else self.filter(own)

    def shared_visible_to(
        self,
        actor: Actor,
        *,
        section: str | None = Section.CORE,
        write: bool = False,
        on: Any = None,
    ) -> CaseQuerySet:
        """The part of ``visible_to`` reached through active shares with the actor's
        organisation, taken from the share side (``share_grantee``): as many dossiers as the
        organisation holds shares, whatever the size of the canton. ``section=None``: any
        active share, whatever it opens (the list of dossiers shared with us names them).
        ``on``: the day the shares are in force (today by default; a prepared query's
        placeholder)."""
        if section is None:
            shares = Share.objects.active(on).filter(organisation_id=actor.organisation_id)
        else:
            found = _granting_shares(actor, section=section, write=write, on=on)
            if found is None:
                return self.none()
            shares = found
        return self.filter(pk__in=shares.values("case_id"))

    def open(self) -> CaseQuerySet:
        return self.filter(status=CaseStatus.OPEN)


def _own_condition(actor: Actor, *, section: str, write: bool) -> Q | None:
    """Which of its own organisation's dossiers the actor reaches, by the policy."""
    relations = allowed_relations(actor.role, f"{section}.{'write' if write else 'read'}")
    if Relation.OWN_ORG in relations:
        return Q(owner_id=actor.organisation_id)
    if Relation.OWN_CASE in relations:
        return Q(owner_id=actor.organisation_id, responsible_id=actor.user.pk)
    return None


def _granting_shares(
    actor: Actor, *, section: str, write: bool, on: Any = None
) -> ShareQuerySet | None:
    """The active shares with the actor's organisation that open the section at the access
    the policy asks for, or None if the role reaches nothing through shares."""
    relations = allowed_relations(actor.role, f"{section}.{'write' if write else 'read'}")
    access = [
        level
        for level, rel in (
            (Share.Access.READ, Relation.SHARED_READ),
            (Share.Access.WRITE, Relation.SHARED_WRITE),
        )
        if rel in relations
    ]
    if not access:
        return None
    return Share.objects.active(on).filter(
        organisation_id=actor.organisation_id,
        sections__contains=[str(section)],
        access__in=access,
    )


@audited(history_of="pgh_obj")
class Case(ChoiceLabels, models.Model):
    """One dossier per case, owned by one organisation (P1)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.BigIntegerField(_("number"), unique=True, db_default=NextVal())
    # No index of its own on owner and responsible: the list indexes below start with them.
    owner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("organisation"),
        db_index=False,
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
        db_index=False,
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("team"),
    )
    opened_on = models.DateField(_("opened on"))
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    stage = models.CharField(
        _("stage"), max_length=16, choices=Stage.choices, default=Stage.INTAKE_1
    )
    stage_since = models.DateField(
        _("in this stage since"), null=True, blank=True, help_text=_("Empty means since opening.")
    )
    short_term_advance = models.BooleanField(
        _("short-term advance"),
        default=False,
        help_text=_("An advance of contributions: may stay in Intake 1 for at most 3 months."),
    )
    received_on = models.DateField(_("received in counselling on"), null=True, blank=True)
    exit_potential = models.CharField(
        _("exit potential"),
        max_length=16,
        choices=ExitPotential.choices,
        blank=True,
        default="",
        db_default="",
    )
    exit_expected_by = models.DateField(_("exit expected by"), null=True, blank=True)
    # Denormalised from SegmentAssignment (kept in step by filum.followup.segments) so that lists
    # and the cockpit can filter and count by segment in SQL.
    segment = models.CharField(_("segment"), max_length=1, choices=Segment.choices, blank=True)
    segment_since = models.DateField(_("in this segment since"), null=True, blank=True)
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
            stored_range("opened_on", name="case_opened_on_range"),
            stored_range("closed_on", name="case_closed_on_range"),
            not_before("stage_since", "opened_on", name="case_stage_since_after_opened"),
            stored_range("stage_since", name="case_stage_since_range"),
            not_before("received_on", "opened_on", name="case_received_on_after_opened"),
            stored_range("received_on", name="case_received_on_range"),
            not_before("segment_since", "opened_on", name="case_segment_since_after_opened"),
            stored_range("segment_since", name="case_segment_since_range"),
            # An exit potential says by when; "none" (or nothing recorded) has no date.
            models.CheckConstraint(
                condition=Q(
                    exit_potential__in=["labour_market", "social_insurance"],
                    exit_expected_by__isnull=False,
                )
                | Q(exit_potential__in=["", "none"], exit_expected_by__isnull=True),
                name="case_exit_potential_has_date",
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="case_opening_before_its_dates",
                when=pgtrigger.Before,
                operation=pgtrigger.UpdateOf("opened_on"),
                func=_opening_guard_sql(),
            ),
        ]
        indexes = [
            # the dossier filters of the person lists included: their bounded count of a
            # service's matching dossiers reads the index alone (decision 0034)
            models.Index(
                fields=["owner", "status", "-opened_on", "-number"],
                include=["stage", "segment", "responsible"],
                name="case_owner_list",
            ),
            models.Index(
                fields=["responsible", "status", "-opened_on", "-number"], name="case_worker_list"
            ),
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
    def active(self, on: datetime.date | Any = None) -> ShareQuerySet:
        """Shares in force on a day: not revoked, not past their end, and, if based on a
        consent, not past the consent's end either (min of both, P2, X4) nor withdrawn. Every
        visibility filter (dossiers, persons, lists, tasks) goes through here. ``on``: today
        by default, or a prepared query's placeholder."""
        today = timezone.localdate() if on is None else on
        consent_in_force = Q(consent__withdrawn_on__isnull=True) & (
            Q(consent__valid_until__isnull=True) | Q(consent__valid_until__gte=today)
        )
        return self.filter(revoked_at__isnull=True, valid_until__gte=today).filter(
            Q(consent__isnull=True) | consent_in_force
        )


@audited(history_of="case")
class Consent(ChoiceLabels, models.Model):
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
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
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
            not_before("valid_until", "signed_on", name="consent_valid_after_signed"),
            stored_range("signed_on", name="consent_signed_on_range"),
            stored_range("valid_until", name="consent_valid_until_range"),
            stored_range("withdrawn_on", name="consent_withdrawn_on_range"),
        ]
        triggers = [after_opening("consent_after_opening", "cases_consent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.signed_on:%d.%m.%Y})"

    @property
    def is_active(self) -> bool:
        today = timezone.localdate()
        return self.withdrawn_on is None and (self.valid_until is None or self.valid_until >= today)

    def covers(self, sections: list[str]) -> bool:
        return self.kind == self.Kind.GENERAL or set(sections) <= set(self.sections)


@audited(history_of="case")
class Share(ChoiceLabels, models.Model):
    """Opens named sections of a dossier to another organisation, for a reason, until a date."""

    class Access(models.TextChoices):
        READ = "read", _("read")
        WRITE = "write", _("read and write")

    class Basis(models.TextChoices):
        LEGAL = "legal", _("legal basis")
        CONSENT = "consent", _("consent of the person")

    class Kind(models.TextChoices):
        GRANT = "grant", _("share")
        # The service that handed the dossier over reads its own period (decision 0026).
        FORMER_OWNER = "former_owner", _("former owner's period")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shares")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="received_shares",
        verbose_name=_("shared with"),
    )
    sections = ArrayField(models.CharField(max_length=16), verbose_name=_("sections"))
    access = models.CharField(_("access"), max_length=8, choices=Access.choices)
    basis = models.CharField(_("basis"), max_length=16, choices=Basis.choices)
    reason = models.CharField(
        _("reason"), max_length=300, help_text=_("Legal basis or consent reference")
    )
    consent = models.ForeignKey(
        Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="shares"
    )
    valid_until = models.DateField(_("valid until"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=Kind.choices, default=Kind.GRANT, db_default="grant"
    )
    # A former owner's share opens only what is dated before this day (the cut-over).
    period_until = models.DateField(_("period until"), null=True, blank=True)

    objects = ShareQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [
            models.CheckConstraint(
                condition=~Q(owner=models.F("organisation")), name="share_not_to_owner"
            ),
            models.CheckConstraint(
                condition=Q(sections__contained_by=[s.value for s in Section]) & ~Q(sections=[]),
                name="share_known_sections",
            ),
            models.CheckConstraint(
                condition=Q(basis="legal") | Q(consent__isnull=False), name="share_consent_basis"
            ),
            stored_range("valid_until", name="share_valid_until_range"),
            models.CheckConstraint(
                condition=Q(kind="grant", period_until__isnull=True)
                | Q(kind="former_owner", period_until__isnull=False, access="read"),
                name="share_former_owner_has_period",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "case"], name="share_grantee"),
            # The dossiers shared with an organisation (lists, decision 0015): its shares not
            # revoked and not past their end, read from the index alone.
            models.Index(
                fields=["organisation", "valid_until"],
                include=["case", "consent", "sections", "access"],
                condition=Q(revoked_at__isnull=True),
                name="share_grantee_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} → {self.organisation}"

    @property
    def ends_on(self) -> datetime.date:
        """The last day of the share: its own end, or the consent's if that comes first."""
        if self.consent_id is not None and self.consent is not None:
            if self.consent.valid_until is not None:
                return min(self.valid_until, self.consent.valid_until)
        return self.valid_until

    @property
    def is_active(self) -> bool:
        return (
            self.revoked_at is None
            and self.ends_on >= timezone.localdate()
            and (
                self.consent_id is None or self.consent is None or self.consent.withdrawn_on is None
            )
        )


class TransitionText(models.TextChoices):
    """Keys of the reasons the system writes for a lifecycle step (the words are in
    ``filum.followup.texts``, rendered in the reader's language)."""

    TRANSFERRED_TO_COUNSELLING = "transferred_to_counselling"  # segment, worker
    TRANSFERRED = "transferred"  # worker
    SHARED = "shared"  # organisation, sections, access
    CLOSED = "closed"  # closure reason code
    HANDED_OVER = "handed_over"  # from_org, to_org, transfer_kind, cut_over, worker


@audited(history_of="case")
class CaseTransition(models.Model):
    """A lifecycle step of a dossier (opening, transitions, closure, transfer): who, when, why.

    ``reason`` is what a person typed; what the system adds is stored language-neutral as
    ``reason_key`` and ``reason_params`` (names, codes, ISO dates) and rendered on display."""

    # indexed by case_transition_case (case, at)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="lifecycle", db_index=False
    )
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32)
    from_stage = models.CharField(max_length=16, blank=True)
    to_stage = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)
    reason_key = models.CharField(max_length=32, blank=True)  # a TransitionText
    reason_params = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)  # when it was recorded
    # The day the step took effect when it was entered with an earlier date (opening, intake
    # decision, transfer, closure); empty means the day it was recorded.
    effective_on = models.DateField(_("took effect on"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_transition_case")]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d}"


# --- Case steering: segments, proposals (four eyes), assignments, transfer reports (S1-S5) ---


class DateRange(models.Func):
    """``daterange(since, until, '[)')``: the half-open period a segment assignment covers."""

    function = "daterange"
    template = "%(function)s(%(expressions)s, '[)')"
    output_field = DateRangeField()


class SegmentText(models.Model):
    """A text of the concept's section 6 about one segment (a criterion, an objective), in
    French and German, kept as data so a canton can edit or deactivate it."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    segment = models.CharField(_("segment"), max_length=1, choices=Segment.choices)
    text_fr = models.TextField(_("text (French)"))
    text_de = models.TextField(_("text (German)"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["segment", "position", "code"]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        return self.text_de if (get_language() or "fr").startswith("de") else self.text_fr


class SegmentCriterion(SegmentText):
    """An assignment criterion of a segment (S1)."""

    class Meta(SegmentText.Meta):
        verbose_name = _("segment criterion")
        verbose_name_plural = _("segment criteria")


class SegmentObjective(SegmentText):
    """An objective of a segment (S13); the worker records at the review which were reached."""

    class Meta(SegmentText.Meta):
        verbose_name = _("segment objective")
        verbose_name_plural = _("segment objectives")


class ProposalQuerySet(models.QuerySet["SegmentProposal"]):
    def pending(self) -> ProposalQuerySet:
        return self.filter(status=SegmentProposal.Status.PROPOSED)

    def awaiting_head(self, actor: Actor) -> ProposalQuerySet:
        """Pending four-eyes decisions a section head may take: their organisation's, not
        their own. An assistant's request is the responsible worker's to decide (S4); the
        section head sees it (``requests_to_control``) and decides it only for a dossier
        nobody is responsible for."""
        return (
            self.pending()
            .filter(owner_id=actor.organisation_id)
            .exclude(kind="request", case__responsible__isnull=False)
            .exclude(proposed_by=actor.user)
            .select_related("case", "case__client", "case__responsible", "proposed_by")
            .order_by("proposed_at")
        )

    def requests_to_control(self, actor: Actor) -> ProposalQuerySet:
        """The assistants' requests of the organisation still waiting for the worker."""
        return (
            self.pending()
            .filter(owner_id=actor.organisation_id, kind="request")
            .select_related("case", "case__client", "case__responsible", "proposed_by")
            .order_by("proposed_at")
        )


@audited(history_of="case")
class SegmentProposal(models.Model):
    """A proposed segment with its criteria and written justification, waiting for a second
    person's decision (four eyes, S2). ``kind`` says what it is for."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("first assignment at Intake 2")
        FINAL = "final", _("final decision after receipt")
        CHANGE = "change", _("change of segment")
        REVIEW = "review", _("review at the time limit")
        REQUEST = "request", _("request by the administrative assistant")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("awaiting decision")
        CONFIRMED = "confirmed", _("confirmed")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="segment_proposals")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    segment = models.CharField(_("proposed segment"), max_length=1, choices=Segment.choices)
    from_segment = models.CharField(
        _("segment at the time"), max_length=1, choices=Segment.choices, blank=True
    )
    criteria: models.ManyToManyField[SegmentCriterion, SegmentProposalCriterion] = (
        models.ManyToManyField(
            SegmentCriterion,
            through="SegmentProposalCriterion",
            related_name="+",
            verbose_name=_("criteria"),
        )
    )
    objectives_reached: models.ManyToManyField[SegmentObjective, SegmentProposalObjective] = (
        models.ManyToManyField(
            SegmentObjective,
            through="SegmentProposalObjective",
            related_name="+",
            verbose_name=_("objectives reached"),
            blank=True,
        )
    )
    justification = models.TextField(_("justification"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["-proposed_at"]
        verbose_name = _("segment proposal")
        verbose_name_plural = _("segment proposals")
        constraints = [
            models.CheckConstraint(
                condition=~Q(justification__regex=r"^\s*$"), name="proposal_has_justification"
            ),
            # Four eyes (S2): nobody decides their own proposal.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                name="proposal_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(status="proposed", decided_at__isnull=True)
                | ~Q(status="proposed") & Q(decided_at__isnull=False),
                name="proposal_decided_has_date",
            ),
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(status="proposed"),
                name="proposal_one_pending_per_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="proposal_owner_status"),
            # The pending decisions of an organisation, oldest first (team view, cockpit).
            models.Index(
                fields=["owner", "proposed_at"],
                condition=Q(status="proposed"),
                name="proposal_pending_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} → {self.segment} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PROPOSED


@audited()
class SegmentProposalCriterion(models.Model):
    """A criterion chosen as part of a proposal's justification (S1)."""

    proposal = models.ForeignKey(SegmentProposal, on_delete=models.CASCADE, related_name="+")
    criterion = models.ForeignKey(SegmentCriterion, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "criterion"], name="proposal_criterion_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id}: {self.criterion_id}"


@audited()
class SegmentProposalObjective(models.Model):
    """An objective of the segment the worker records as reached at the review (S13)."""

    proposal = models.ForeignKey(SegmentProposal, on_delete=models.CASCADE, related_name="+")
    objective = models.ForeignKey(SegmentObjective, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "objective"], name="proposal_objective_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.proposal_id}: {self.objective_id}"


@audited(history_of="case")
class SegmentAssignment(models.Model):
    """One period of a dossier in a segment: ``[since, until)``; ``until`` empty means current.
    Periods of a dossier never overlap (exclusion constraint); the history is never rewritten,
    a new decision closes the current period and opens the next."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("first assignment")
        FINAL = "final", _("final decision")
        CHANGE = "change", _("change")
        REVIEW = "review", _("review at the time limit")
        EXCEPTION = "exception", _("kept beyond the maximum (exception)")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="segment_history")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    segment = models.CharField(_("segment"), max_length=1, choices=Segment.choices)
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Segment A lasts at most 6 months: keeping it longer is a section head's exception up to
    # this date (the time limit is not restarted).
    kept_until = models.DateField(_("kept until"), null=True, blank=True)
    justification = models.TextField(_("justification"))
    proposal = models.ForeignKey(
        SegmentProposal, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["since", "recorded_at"]
        verbose_name = _("segment assignment")
        verbose_name_plural = _("segment assignments")
        constraints = [
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=models.F("since")),
                name="assignment_until_after_since",
            ),
            models.CheckConstraint(
                condition=~Q(justification__regex=r"^\s*$"), name="assignment_has_justification"
            ),
            models.CheckConstraint(
                condition=Q(kind="exception", kept_until__gt=models.F("since"))
                | ~Q(kind="exception") & Q(kept_until__isnull=True),
                name="assignment_exception_has_end",
            ),
            ExclusionConstraint(
                name="assignment_no_overlap",
                expressions=[
                    ("case", RangeOperators.EQUAL),
                    (DateRange("since", "until"), RangeOperators.OVERLAPS),
                ],
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(until__isnull=True), name="assignment_one_current"
            ),
            stored_range("since", name="assignment_since_range"),
            stored_range("until", name="assignment_until_range"),
        ]
        triggers = [after_opening("assignment_after_opening", "cases_segmentassignment")]

    def __str__(self) -> str:
        return f"{self.case}: {self.segment} {self.since:%d.%m.%Y}–{self.until or ''}"


@audited(history_of="case")
class TransferReport(models.Model):
    """What the sending worker hands over with a dossier (S2): the report, the proposed segment
    and their assessment."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transfer_reports")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    from_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("transfer report"))
    proposal = models.OneToOneField(
        SegmentProposal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfer_report",
    )
    proposed_segment = models.CharField(
        _("proposed segment"), max_length=1, choices=Segment.choices, blank=True
    )
    assessment = models.TextField(_("assessment of the social worker"), blank=True)
    transferred_on = models.DateField(_("transferred on"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-transferred_on", "-created_at"]
        verbose_name = _("transfer report")
        verbose_name_plural = _("transfer reports")
        constraints = [
            models.CheckConstraint(
                condition=~Q(text__regex=r"^\s*$"), name="transfer_report_has_text"
            ),
            stored_range("transferred_on", name="transfer_report_on_range"),
        ]
        triggers = [after_opening("transfer_report_after_opening", "cases_transferreport")]

    def __str__(self) -> str:
        return f"{self.case} → {self.to_worker}"


# --- Dossier transfer between services (P3, P4; decision 0026) ---


class TransferKind(models.TextChoices):
    """Why a dossier moves to another service: the record of what went to whom (P4)."""

    MOVE = "move", _("The client moved to another commune")
    CANTON_TO_COMMUNE = "canton_to_commune", _("From the cantonal phase to the commune")
    REFUGEE_TO_ORDINARY = (
        "refugee_to_ordinary",
        _("From refugee or asylum assistance to ordinary social assistance (after 5 or 7 years)"),
    )
    STATUS_CHANGE = "status_change", _("Change of residence status")
    OTHER = "other", _("Other change of the competent service")


class TransferDecline(models.TextChoices):
    NOT_COMPETENT = "not_competent", _("We are not the competent service")
    NOT_MOVED = "not_moved", _("The client has not moved to our commune")
    DATE = "date", _("The cut-over date does not suit us")
    INCOMPLETE = "incomplete", _("The transfer note is incomplete")
    OTHER = "other", _("Other reason")


class TransferQuerySet(models.QuerySet["DossierTransfer"]):
    def pending(self) -> TransferQuerySet:
        return self.filter(status=DossierTransfer.Status.PENDING)

    def received_by(self, actor: Actor) -> TransferQuerySet:
        return self.filter(receiver_id=actor.organisation_id)

    def sent_by(self, actor: Actor) -> TransferQuerySet:
        return self.filter(owner_id=actor.organisation_id)


@audited(history_of="case")
class DossierTransfer(models.Model):
    """An offer of a dossier by the service that holds it (``owner``) to the service that
    becomes competent (``receiver``), and its outcome. Accepting it moves the dossier, whole,
    on the cut-over date; the sender keeps reading its own period through a share of kind
    ``former_owner`` (decision 0026)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting decision")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")

    class Tasks(models.TextChoices):
        HAND_OVER = "hand_over", _("Hand the open tasks to the new responsible worker")
        CLOSE = "close", _("Close the open tasks")

    class Shares(models.TextChoices):
        KEEP = "keep", _("Keep the shares (the new service takes them over)")
        END = "end", _("End the shares")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transfers")
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("sending service")
    )
    receiver = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="received_transfers",
        verbose_name=_("receiving service"),
        db_index=False,
    )
    kind = models.CharField(_("reason for the transfer"), max_length=32, choices=TransferKind)
    note = models.TextField(_("transfer note"))
    cut_over_on = models.DateField(_("cut-over date"))
    tasks = models.CharField(_("open tasks"), max_length=16, choices=Tasks.choices)
    shares = models.CharField(_("shares"), max_length=16, choices=Shares.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    offered_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible worker"),
    )
    decline_reason = models.CharField(
        _("reason"), max_length=32, choices=TransferDecline.choices, blank=True
    )
    decline_note = models.TextField(_("note"), blank=True)
    # What went to whom, as codes and ids (P4): sections handed over, tasks handed or closed,
    # shares kept or ended, the former owner's share.
    settlement = models.JSONField(default=dict, blank=True)

    objects = TransferQuerySet.as_manager()

    class Meta:
        ordering = ["-offered_at", "-id"]
        verbose_name = _("dossier transfer")
        verbose_name_plural = _("dossier transfers")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="transfer_one_pending"
            ),
            models.CheckConstraint(
                condition=~Q(owner=models.F("receiver")), name="transfer_to_another_service"
            ),
            models.CheckConstraint(condition=~Q(note__regex=r"^\s*$"), name="transfer_has_note"),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | ~Q(status="pending") & Q(decided_at__isnull=False),
                name="transfer_decided_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(responsible__isnull=False),
                name="transfer_accepted_has_worker",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""),
                name="transfer_declined_has_reason",
            ),
            stored_range("cut_over_on", name="transfer_cut_over_range"),
        ]
        indexes = [
            models.Index(fields=["receiver", "-offered_at", "-id"], name="transfer_received_list"),
            models.Index(fields=["owner", "-offered_at", "-id"], name="transfer_sent_list"),
            models.Index(
                fields=["receiver", "offered_at", "id"],
                condition=Q(status="pending"),
                name="transfer_received_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} → {self.receiver}"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
