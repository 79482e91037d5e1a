"""Follow-up: the norm rules as data (S5, S6), tasks and reminders (I5), user preferences."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case, after_opening
from filum.dates import stored_range
from filum.records.tracking import audited
from filum.tenancy.models import Organisation, Role

if TYPE_CHECKING:
    from filum.tenancy.policy import Actor


class RuleKey(models.TextChoices):
    A = "A", _("Segment A")
    B = "B", _("Segment B")
    C = "C", _("Segment C")
    INTAKE_1 = "intake_1", _("Intake 1")
    INTAKE_2 = "intake_2", _("Intake 2")
    FINAL_DECISION = "final_decision", _("Final segment decision after receipt")
    # the reminders on measures (decision 0022): only ``warning_days`` is used
    MEASURE_START = "measure_start", _("Measure starting (days ahead)")
    MEASURE_RESULT = "measure_result", _("Result of an ended measure (days after its end)")


class NormRuleQuerySet(models.QuerySet["NormRule"]):
    def valid_on(self, day: datetime.date) -> NormRuleQuerySet:
        return self.filter(valid_from__lte=day).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=day)
        )


@audited()
class NormRule(models.Model):
    """The parameters of one rule, valid over a period so a canton can change them.

    For a segment: the contact norm (interviews per period, face-to-face share) and the time
    limit. For Intake 2: only the face-to-face share, and the horizon of an exit potential
    that keeps a dossier in Intake 2 (6 months). For Intake 1: the time limit of advances
    (short-term aid, 3 months). For the final decision: the months after receipt (S3). For
    the measure reminders (I5): in ``warning_days``, how many days before its start a measure
    is "starting soon" (14) and how many days after its end its result is awaited (30)."""

    key = models.CharField(_("applies to"), max_length=16, choices=RuleKey.choices)
    period_months = models.PositiveSmallIntegerField(_("period (months)"), null=True, blank=True)
    min_interviews = models.PositiveSmallIntegerField(_("at least"), null=True, blank=True)
    max_interviews = models.PositiveSmallIntegerField(_("at most"), null=True, blank=True)
    face_to_face_share = models.DecimalField(
        _("face-to-face share"), max_digits=3, decimal_places=2, null=True, blank=True
    )
    time_limit_months = models.PositiveSmallIntegerField(
        _("time limit (months)"), null=True, blank=True
    )
    warning_days = models.PositiveSmallIntegerField(_("warn this many days ahead"), default=30)
    limit_is_maximum = models.BooleanField(
        _("the time limit is a maximum"),
        default=False,
        db_default=False,
        help_text=_(
            "Segment A: a review does not restart the time limit; keeping the dossier longer "
            "is an exception recorded by a section head."
        ),
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.CharField(_("source"), max_length=200, blank=True)

    objects = NormRuleQuerySet.as_manager()

    class Meta:
        ordering = ["key", "-valid_from"]
        verbose_name = _("norm rule")
        verbose_name_plural = _("norm rules")
        constraints = [
            models.UniqueConstraint(fields=["key", "valid_from"], name="normrule_unique_start"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="normrule_valid_period",
            ),
            models.CheckConstraint(
                condition=Q(min_interviews__isnull=True)
                | Q(period_months__gt=0, face_to_face_share__isnull=False),
                name="normrule_norm_complete",
            ),
            models.CheckConstraint(
                condition=Q(max_interviews__isnull=True)
                | Q(max_interviews__gte=models.F("min_interviews")),
                name="normrule_min_le_max",
            ),
            models.CheckConstraint(
                condition=Q(face_to_face_share__isnull=True)
                | Q(face_to_face_share__gte=0, face_to_face_share__lte=1),
                name="normrule_share_fraction",
            ),
            stored_range("valid_from", name="normrule_valid_from_range"),
            stored_range("valid_until", name="normrule_valid_until_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_key_display()} ({self.valid_from:%d.%m.%Y})"


class TaskKind(models.TextChoices):
    MANUAL = "manual", _("task")
    REVIEW_DUE = "review_due", _("segment review due")
    DECISION_DUE = "decision_due", _("final segment decision due")
    NO_CONTACT = "no_contact", _("contact norm missed")
    INTAKE_OVERDUE = "intake_overdue", _("intake time limit")
    SEGMENT_DECISION = "segment_decision", _("segment proposal to decide")
    MEASURE_START = "measure_start", _("measure to start")
    MEASURE_RESULT = "measure_result", _("result of a measure missing")
    MILESTONE = "milestone", _("AIS milestone at risk")


class TaskText(models.TextChoices):
    """Keys of the titles the system writes (the text is in ``filum.followup.texts``, rendered
    in the reader's language). A task without a key has a title typed by a person."""

    NO_CONTACT = "rule.no_contact"
    REVIEW_DUE = "rule.review_due"
    DECISION_DUE = "rule.decision_due"
    INTAKE_OVERDUE = "rule.intake_overdue"
    PROPOSAL_DECIDE = "proposal.decide"
    MEASURE_START = "rule.measure_start"
    MEASURE_RESULT = "rule.measure_result"
    MILESTONE = "rule.milestone"


class TaskStatus(models.TextChoices):
    OPEN = "open", _("open")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class TaskQuerySet(models.QuerySet["Task"]):
    def open(self) -> TaskQuerySet:
        return self.filter(status=TaskStatus.OPEN)

    def for_actor(self, actor: Actor) -> TaskQuerySet:
        """Tasks of the actor's organisation addressed to them: personally, or to their role.
        (Which dossiers the actor may open is still checked per dossier.)"""
        return self.filter(owner_id=actor.organisation_id).filter(
            Q(assigned_to=actor.user) | Q(assigned_to__isnull=True, assigned_role=actor.role)
        )

    def due_by(self, day: datetime.date) -> TaskQuerySet:
        return self.filter(due_on__lte=day)


@audited(history_of="case")
class Task(models.Model):
    """A dated task on a dossier, for a person or for a role in the organisation it belongs
    to (``owner``): the dossier's owner for rule tasks, the creating organisation for tasks
    made by hand (a partner's tasks on a shared dossier are the partner's, decision 0012).

    Tasks made by the nightly rules carry a ``rule_key`` (kind and deadline); the key is unique
    per dossier whatever the status, so the rules never create the same task twice, and a
    cancelled rule task does not come back for the same deadline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        _("kind"), max_length=24, choices=TaskKind.choices, default=TaskKind.MANUAL
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    # System titles are stored language-neutral: a key and its parameters (JSON: dates as
    # ISO text); ``title`` then stays empty. For rule tasks the parameters also hold the
    # finding (code and its parameters) that the description is rendered from.
    title_key = models.CharField(max_length=40, blank=True)  # a TaskText
    title_params = models.JSONField(default=dict, blank=True)
    description = models.TextField(_("description"), blank=True)
    due_on = models.DateField(_("due on"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("assigned to"),
    )
    assigned_role = models.CharField(
        _("assigned to role"), max_length=32, choices=Role.choices, blank=True
    )
    status = models.CharField(
        _("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rule_key = models.CharField(max_length=120, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.CheckConstraint(
                condition=Q(assigned_to__isnull=False, assigned_role="")
                | Q(assigned_to__isnull=True) & ~Q(assigned_role=""),
                name="task_assigned_to_person_or_role",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True, closed_by__isnull=True)
                | ~Q(status="open") & Q(closed_at__isnull=False),
                name="task_closed_has_date",
            ),
            models.CheckConstraint(
                condition=Q(kind="manual") | ~Q(rule_key=""), name="task_rule_has_key"
            ),
            models.UniqueConstraint(
                fields=["case", "rule_key"], condition=~Q(rule_key=""), name="task_rule_key_unique"
            ),
            stored_range("due_on", name="task_due_on_range"),
            models.CheckConstraint(
                condition=~Q(title="") | ~Q(title_key=""), name="task_has_title_or_key"
            ),
        ]
        triggers = [after_opening("task_after_opening", "followup_task")]
        indexes = [
            models.Index(
                fields=["assigned_to", "due_on"],
                condition=Q(status="open"),
                name="task_open_by_user",
            ),
            models.Index(
                fields=["owner", "assigned_role", "due_on"],
                condition=Q(status="open"),
                name="task_open_by_role",
            ),
            models.Index(fields=["case", "status"], name="task_by_case"),
        ]

    def __str__(self) -> str:
        return self.title or self.title_key

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN


@audited()
class UserPreference(models.Model):
    """Per-user settings of the follow-up. The e-mail digest of due tasks is off by default."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followup_preference"
    )
    task_digest = models.BooleanField(
        _("daily e-mail with my due tasks"),
        default=False,
        help_text=_("The e-mail names the tasks and dossier numbers, never client data."),
    )

    class Meta:
        verbose_name = _("follow-up preference")
        verbose_name_plural = _("follow-up preferences")

    def __str__(self) -> str:
        return f"{self.user}"


class KeptLight(models.Model):
    """The traffic light of an open dossier as the rules last found it (derived state, kept
    for the cockpit and the team view so they need not evaluate every dossier per request).

    Not audited: it is recomputed from audited facts (the dossier, its segment history and
    proposals, its journal). It is written after every write that changes what the rules read
    (``filum.followup.kept.refresh``, on commit) and by the nightly run as of each day; rows
    of closed dossiers are removed. ``findings`` are language-neutral (codes and parameters,
    dates as ISO text), so the reasons are rendered in the reader's language. Decision 0015.
    """

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="kept_light"
    )
    owner = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField()  # rules.Level: 0 green, 1 orange, 2 red
    # Each finding: code, level, params (JSON-safe), task_kind, due, rule_key; worst first.
    findings = models.JSONField(default=list)
    # The first deadline a finding's task is due on (the cockpit's "next step" without a task).
    next_due = models.DateField(null=True)
    has_norm = models.BooleanField()  # a contact norm applies (team view: contact check S11)
    norm_missed = models.BooleanField()  # ... and it is missed (red)
    info = models.BooleanField()  # a finding for the section head's information (INFO_CODES)
    as_of = models.DateField()  # the day the rules were evaluated for
    evaluated_at = models.DateTimeField()  # start of the transaction that read the facts

    class Meta:
        db_table = "followup_caselight"
        constraints = [
            models.CheckConstraint(condition=Q(level__lte=2), name="caselight_level_range"),
        ]
        indexes = [
            # The team view's red and "for your information" dossiers of an organisation: a
            # few hundred of its thousands of open dossiers (decision 0015).
            models.Index(fields=["owner"], condition=Q(level=2), name="caselight_owner_red"),
            models.Index(fields=["owner"], condition=Q(info=True), name="caselight_owner_info"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.level} as of {self.as_of}"
