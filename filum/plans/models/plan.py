"""The integration plan of a dossier (I1, I3, I6): its goals, as the CaseNet seed lists them
(``filum.plans.goals``), and the measures that serve them, with their provider, dates,
status, result, notes and documents. Plans start from a canton's plan template, kept as data.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case
from filum.dates import not_before, stored_range
from filum.documents.models import Document
from filum.people.models import Person
from filum.plans.goals import ULTIMATE_GOAL, CrossInstitutionGoal, IntermediateGoal
from filum.plans.models.catalogue import Category, Programme, Provider
from filum.records.tracking import audited
from filum.tenancy.models import Organisation

# The ultimate goal has no key in the seed's lists: this is the one stored for it.
ULTIMATE_KEY = "reinsertion"


class GoalKind(models.TextChoices):
    ULTIMATE = "ultimate", _("Ultimate goal")
    INTERMEDIATE = "intermediate", _("Intermediate goals")
    CROSS_INSTITUTION = "cross_institution", _("Cross-institution goals")


# Every goal key in the seed's order: the ultimate goal, the intermediate goals, the
# cross-institution goals.
GOAL_KEYS: tuple[str, ...] = (
    ULTIMATE_KEY,
    *IntermediateGoal.values,
    *CrossInstitutionGoal.values,
)
GOAL_ORDER = {key: position for position, key in enumerate(GOAL_KEYS)}


def goal_kind(key: str) -> str:
    if key == ULTIMATE_KEY:
        return GoalKind.ULTIMATE
    if key in IntermediateGoal.values:
        return GoalKind.INTERMEDIATE
    if key in CrossInstitutionGoal.values:
        return GoalKind.CROSS_INSTITUTION
    raise ValueError(f"unknown goal {key!r}")


# The labels stay lazy: they are rendered in the reader's language, not the importer's.
GOAL_LABELS: dict[str, str | Promise] = {
    ULTIMATE_KEY: ULTIMATE_GOAL,
    **{goal.value: goal.label for goal in IntermediateGoal},
    **{goal.value: goal.label for goal in CrossInstitutionGoal},
}
GOAL_CHOICES = [(key, GOAL_LABELS[key]) for key in GOAL_KEYS]


def goal_label(key: str) -> str:
    return str(GOAL_LABELS.get(key, key))


# Goals a template proposes or a worker adds: the ultimate goal is in every plan.
SELECTABLE_GOALS = GOAL_KEYS[1:]


class GoalStatus(models.TextChoices):
    AIMED = "aimed", _("aimed at")
    REACHED = "reached", _("reached")
    NOT_REACHED = "not_reached", _("not reached or abandoned")


class MeasureStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    REGISTERED = "registered", _("registered")
    RUNNING = "running", _("running")
    COMPLETED = "completed", _("completed")
    ABORTED = "aborted", _("aborted")


# The lifecycle of a measure: from each status, the statuses it may move to. Completed and
# aborted measures are closed; a mistake is corrected by a new measure.
MEASURE_TRANSITIONS: dict[str, frozenset[str]] = {
    MeasureStatus.PLANNED: frozenset(
        {MeasureStatus.REGISTERED, MeasureStatus.RUNNING, MeasureStatus.ABORTED}
    ),
    MeasureStatus.REGISTERED: frozenset(
        {MeasureStatus.PLANNED, MeasureStatus.RUNNING, MeasureStatus.ABORTED}
    ),
    MeasureStatus.RUNNING: frozenset({MeasureStatus.COMPLETED, MeasureStatus.ABORTED}),
    MeasureStatus.COMPLETED: frozenset(),
    MeasureStatus.ABORTED: frozenset(),
}
OPEN_MEASURE = (MeasureStatus.PLANNED, MeasureStatus.REGISTERED, MeasureStatus.RUNNING)
# Statuses in which a measure may still book (or change) a place.
BOOKABLE = (MeasureStatus.PLANNED, MeasureStatus.REGISTERED)


class AbortReason(models.TextChoices):
    CLIENT_STOPPED = "client_stopped", _("The client stopped")
    HEALTH = "health", _("Health reasons")
    NON_COLLABORATION = "non_collaboration", _("Non-collaboration")
    JOB_FOUND = "job_found", _("The client found a job")
    MOVED = "moved", _("The client moved away")
    PROVIDER_CANCELLED = "provider_cancelled", _("Cancelled by the provider")
    UNSUITABLE = "unsuitable", _("The measure did not suit the client")
    OTHER = "other", _("Other reason")


class MeasureResult(models.TextChoices):
    REACHED = "reached", _("Objective reached")
    PARTLY_REACHED = "partly_reached", _("Objective partly reached")
    NOT_REACHED = "not_reached", _("Objective not reached")
    CERTIFICATE = "certificate", _("Certificate obtained")
    EMPLOYMENT = "employment", _("Led to employment")
    TRAINING = "training", _("Led to a training")


class DocumentKind(models.TextChoices):
    CERTIFICATE = "certificate", _("Certificate")
    REPORT = "report", _("Provider's report")
    OTHER = "other", _("Other document")


@audited()
class PlanTemplate(models.Model):
    """A canton's template of integration plans (I1): which goals a new plan proposes and
    which kinds of measures it suggests. A plan copies the goals when it is made, so editing
    a template never changes existing plans."""

    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("kept by")
    )
    canton = models.CharField(_("canton"), max_length=2)
    name = models.CharField(_("name"), max_length=200)
    goals = ArrayField(
        models.CharField(max_length=32, choices=GOAL_CHOICES[1:]),
        verbose_name=_("proposed goals"),
        default=list,
        blank=True,
    )
    categories = ArrayField(
        models.CharField(max_length=32, choices=Category.choices),
        verbose_name=_("suggested kinds of measures"),
        default=list,
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("plan template")
        verbose_name_plural = _("plan templates")
        constraints = [
            models.UniqueConstraint(fields=["canton", "name"], name="plantemplate_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="plantemplate_has_name"),
            models.CheckConstraint(
                condition=Q(goals__contained_by=list(SELECTABLE_GOALS)),
                name="plantemplate_known_goals",
            ),
            models.CheckConstraint(
                condition=Q(categories__contained_by=list(Category.values)),
                name="plantemplate_known_categories",
            ),
        ]

    def __str__(self) -> str:
        return self.name


@audited(history_of="case")
class Plan(models.Model):
    """The integration plan of one dossier."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="plan")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(
        PlanTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
        verbose_name=_("template"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("integration plan")
        verbose_name_plural = _("integration plans")

    def __str__(self) -> str:
        return f"{self.case}"


@audited(history_of="case")
class PlanGoal(models.Model):
    """A goal of a plan (I6), stored by its key; the words come from ``filum.plans.goals``."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="goals", db_index=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(_("goal"), max_length=32, choices=GOAL_CHOICES)
    status = models.CharField(
        _("status"), max_length=16, choices=GoalStatus.choices, default=GoalStatus.AIMED
    )
    status_on = models.DateField(_("status since"), default=timezone.localdate)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="plangoal_once_per_plan"),
            models.CheckConstraint(
                condition=Q(key__in=list(GOAL_KEYS)), name="plangoal_known_goal"
            ),
            stored_range("status_on", name="plangoal_status_on_range"),
            stored_range("target_date", name="plangoal_target_date_range"),
        ]
        indexes = [
            # goals aimed at and reached per organisation (monitoring, cockpit)
            models.Index(fields=["owner", "key", "status"], name="plangoal_by_owner"),
        ]

    def __str__(self) -> str:
        return goal_label(self.key)

    @property
    def label(self) -> str:
        return goal_label(self.key)

    @property
    def kind(self) -> str:
        return goal_kind(self.key)

    @property
    def order(self) -> int:
        return GOAL_ORDER[self.key]


@audited(history_of="case")
class Measure(models.Model):
    """A measure of a plan (I2, I3): what, with whom (a catalogue programme or a provider
    named freely when the catalogue lacks it), when (planned and actual), how it stands and
    how it went."""

    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="measures", db_index=False
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    title = models.CharField(_("measure"), max_length=200)
    # which member of the assistance unit the measure is for (empty: the dossier's client)
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("for"),
    )
    category = models.CharField(_("kind of measure"), max_length=32, choices=Category.choices)
    goals = models.ManyToManyField(
        "plans.PlanGoal", through="plans.MeasureGoal", related_name="measures", blank=True
    )
    programme = models.ForeignKey(
        Programme,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="measures",
        verbose_name=_("programme"),
    )
    provider = models.ForeignKey(
        Provider,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="measures",
        verbose_name=_("provider"),
    )
    provider_name = models.CharField(
        _("provider outside the catalogue"), max_length=200, blank=True
    )
    planned_start = models.DateField(_("planned start"), null=True, blank=True)
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    actual_start = models.DateField(_("actual start"), null=True, blank=True)
    actual_end = models.DateField(_("actual end"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MeasureStatus.choices, default=MeasureStatus.PLANNED
    )
    abort_reason = models.CharField(
        _("reason for aborting"), max_length=32, choices=AbortReason.choices, blank=True
    )
    result = models.CharField(_("result"), max_length=32, choices=MeasureResult.choices, blank=True)
    conduct_note = models.TextField(_("how it went"), blank=True)
    client_view = models.TextField(_("how the client perceives it"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_by_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["planned_start", "id"]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="measure_has_title"),
            not_before("planned_end", "planned_start", name="measure_planned_end_after_start"),
            not_before("actual_end", "actual_start", name="measure_actual_end_after_start"),
            stored_range("planned_start", name="measure_planned_start_range"),
            stored_range("planned_end", name="measure_planned_end_range"),
            stored_range("actual_start", name="measure_actual_start_range"),
            stored_range("actual_end", name="measure_actual_end_range"),
            models.CheckConstraint(
                condition=Q(status=MeasureStatus.ABORTED) & ~Q(abort_reason="")
                | ~Q(status=MeasureStatus.ABORTED) & Q(abort_reason=""),
                name="measure_aborted_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(result="")
                | Q(status__in=[MeasureStatus.COMPLETED, MeasureStatus.ABORTED]),
                name="measure_result_when_closed",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[MeasureStatus.PLANNED, MeasureStatus.REGISTERED])
                | Q(status=MeasureStatus.ABORTED)
                | Q(actual_start__isnull=False),
                name="measure_started_has_start",
            ),
            models.CheckConstraint(
                condition=~Q(status=MeasureStatus.COMPLETED) | Q(actual_end__isnull=False),
                name="measure_completed_has_end",
            ),
            models.CheckConstraint(
                condition=Q(programme__isnull=True) | Q(provider__isnull=False),
                name="measure_programme_has_provider",
            ),
        ]
        indexes = [
            models.Index(fields=["plan", "planned_start", "id"], name="measure_by_plan"),
            # the timeline, reminders and the cockpit: an organisation's measures by status
            # and dates (starting soon, ended without a result, running)
            models.Index(
                fields=["owner", "status", "planned_start"], name="measure_owner_status_start"
            ),
            models.Index(
                fields=["owner", "status", "planned_end"], name="measure_owner_status_end"
            ),
            models.Index(fields=["case", "planned_start"], name="measure_by_case"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def provider_label(self) -> str:
        if self.provider_id is not None and self.provider is not None:
            return self.provider.name
        return self.provider_name

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_MEASURE

    @property
    def may_book(self) -> bool:
        return self.status in BOOKABLE

    def next_statuses(self) -> list[str]:
        """The statuses this measure may move to, in the lifecycle's order."""
        allowed = MEASURE_TRANSITIONS[self.status]
        return [s for s in MeasureStatus.values if s in allowed]


@audited()
class MeasureGoal(models.Model):
    """Which goals a measure serves (one or more)."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="+")
    goal = models.ForeignKey(PlanGoal, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["measure", "goal"], name="measuregoal_once"),
        ]

    def __str__(self) -> str:
        return f"{self.measure_id} → {self.goal_id}"


@audited(history_of="case")
class MeasureDocument(models.Model):
    """A document of the dossier (``filum.documents``) attached to a measure: a certificate,
    a provider's report (I3). The document itself stays the dossier's."""

    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="attachments")
    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+", db_index=False)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind of document"), max_length=16, choices=DocumentKind.choices)

    class Meta:
        verbose_name = _("document of a measure")
        verbose_name_plural = _("documents of measures")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.document_id}"
