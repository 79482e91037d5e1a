"""Making and keeping an integration plan: the plan from a template, its goals, its measures
and their documents (I1, I3, I6). The caller has checked access through the plan door."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases.changes import facts_changed
from filum.cases.models import Case
from filum.dates import is_storable
from filum.documents.services import do_store_document
from filum.documents.validation import FileType
from filum.people.models import Person
from filum.plans.booking import release_measure_booking
from filum.plans.models import (
    Booking,
    GoalStatus,
    Measure,
    MeasureDocument,
    MeasureGoal,
    MeasureStatus,
    Plan,
    PlanGoal,
    PlanTemplate,
    Programme,
    SituationEntry,
)
from filum.plans.models.plan import MEASURE_TRANSITIONS, SELECTABLE_GOALS, ULTIMATE_KEY
from filum.plans.models.timeline import SITUATION_VALUES
from filum.tenancy.policy import Actor


class EditConflict(Exception):
    """Someone else changed the object since the form was shown (R37)."""


def _check_open(case: Case) -> None:
    if not case.is_open:
        raise ValidationError(_("The dossier is closed: its plan can no longer be changed."))


def do_create_plan(*, actor: Actor, case: Case, template: PlanTemplate | None) -> Plan:
    """Make the dossier's plan: the ultimate goal, and the goals the template proposes."""
    _check_open(case)
    if template is not None and (template.canton != case.owner.canton or not template.is_active):
        raise ValidationError({"template": _("Choose a template of the dossier's canton.")})
    today = timezone.localdate()
    try:
        with transaction.atomic():
            plan = Plan.objects.create(
                case=case, owner_id=case.owner_id, template=template, created_by=actor.user
            )
            keys = [ULTIMATE_KEY] + [
                k for k in SELECTABLE_GOALS if template and k in template.goals
            ]
            PlanGoal.objects.bulk_create(
                [
                    PlanGoal(plan=plan, case=case, owner_id=case.owner_id, key=k, status_on=today)
                    for k in keys
                ]
            )
    except IntegrityError as exc:
        raise ValidationError(_("This dossier already has a plan.")) from exc
    return plan


def do_add_goal(
    *,
    actor: Actor,
    plan: Plan,
    key: str,
    target_date: datetime.date | None,
    note: str,
) -> PlanGoal:
    _check_open(plan.case)
    if key not in SELECTABLE_GOALS:
        raise ValidationError({"key": _("Choose one of the listed goals.")})
    try:
        with transaction.atomic():
            return PlanGoal.objects.create(
                plan=plan,
                case_id=plan.case_id,
                owner_id=plan.owner_id,
                key=key,
                target_date=target_date,
                note=note,
            )
    except IntegrityError as exc:
        raise ValidationError({"key": _("The plan already has this goal.")}) from exc


def do_update_goal(
    *,
    actor: Actor,
    goal: PlanGoal,
    version: int,
    status: str,
    target_date: datetime.date | None,
    note: str,
) -> PlanGoal:
    """Change a goal's status, target date or note; a new status is dated today."""
    _check_open(goal.plan.case)
    if status not in GoalStatus.values:
        raise ValidationError({"status": _("Choose one of the listed statuses.")})
    fields: dict[str, object] = {"status": status, "target_date": target_date, "note": note}
    if status != goal.status:
        fields["status_on"] = timezone.localdate()
    with transaction.atomic():
        changed = PlanGoal.objects.filter(pk=goal.pk, version=version).update(
            **fields, version=F("version") + 1
        )
        if not changed:
            raise EditConflict
    goal.refresh_from_db()
    return goal


@dataclass
class MeasureData:
    """What a measure form gives: everything but the plan and the booking."""

    title: str
    category: str
    goals: list[PlanGoal] = field(default_factory=list)
    programme: Programme | None = None
    provider_name: str = ""
    planned_start: datetime.date | None = None
    planned_end: datetime.date | None = None
    actual_start: datetime.date | None = None
    actual_end: datetime.date | None = None
    status: str = MeasureStatus.PLANNED
    abort_reason: str = ""
    result: str = ""
    conduct_note: str = ""
    client_view: str = ""
    # the household member it is for (None: the client); set when the measure is made
    person: Person | None = None


def check_measure(data: MeasureData, *, plan: Plan, current: str | None) -> None:
    """The rules of a measure, one message per field (the database checks them again)."""
    errors: dict[str, str] = {}
    if data.planned_start and data.planned_end and data.planned_end < data.planned_start:
        errors["planned_end"] = _("The planned end cannot be before the planned start.")
    if data.actual_start and data.actual_end and data.actual_end < data.actual_start:
        errors["actual_end"] = _("The end cannot be before the start.")
    if current is not None and data.status != current:
        if data.status not in MEASURE_TRANSITIONS[current]:
            errors["status"] = _("A measure cannot move from this status to the one chosen.")
    if data.status == MeasureStatus.ABORTED and not data.abort_reason:
        errors["abort_reason"] = _("Say why the measure was aborted.")
    if data.result and data.status not in (MeasureStatus.COMPLETED, MeasureStatus.ABORTED):
        errors["result"] = _("A result is recorded when the measure is completed or aborted.")
    started = (MeasureStatus.RUNNING, MeasureStatus.COMPLETED)
    if data.status in started and data.actual_start is None:
        errors["actual_start"] = _("A running or completed measure needs its actual start.")
    if data.status == MeasureStatus.COMPLETED and data.actual_end is None:
        errors["actual_end"] = _("A completed measure needs its actual end.")
    if data.programme is not None and data.programme.canton != plan.case.owner.canton:
        errors["programme"] = _("This programme is not in the dossier's catalogue.")
    if any(goal.plan_id != plan.pk for goal in data.goals):
        errors["goals"] = _("Choose goals of this plan.")
    if errors:
        raise ValidationError(errors)


def _set_goals(measure: Measure, goals: list[PlanGoal]) -> None:
    wanted = {goal.pk for goal in goals}
    have = set(MeasureGoal.objects.filter(measure=measure).values_list("goal_id", flat=True))
    if have - wanted:
        MeasureGoal.objects.filter(measure=measure, goal_id__in=have - wanted).delete()
    MeasureGoal.objects.bulk_create(
        [
            MeasureGoal(measure=measure, goal_id=pk, owner_id=measure.owner_id)
            for pk in sorted(wanted - have)
        ]
    )


def _apply(measure: Measure, data: MeasureData) -> None:
    for name in (
        "title",
        "category",
        "programme",
        "planned_start",
        "planned_end",
        "actual_start",
        "actual_end",
        "status",
        "result",
        "conduct_note",
        "client_view",
    ):
        setattr(measure, name, getattr(data, name))
    measure.abort_reason = data.abort_reason if data.status == MeasureStatus.ABORTED else ""
    if data.programme is not None:
        measure.provider = data.programme.provider
        measure.provider_name = ""
    else:
        measure.provider = None
        measure.provider_name = data.provider_name


def do_create_measure(*, actor: Actor, plan: Plan, data: MeasureData) -> Measure:
    """Add a measure to the plan. It starts planned (or as the form says, for a measure
    recorded afterwards); a place is booked separately (``filum.plans.booking``)."""
    _check_open(plan.case)
    check_measure(data, plan=plan, current=None)
    measure = Measure(
        plan=plan,
        case_id=plan.case_id,
        owner_id=plan.owner_id,
        created_by=actor.user,
        created_by_org_id=actor.organisation_id,
    )
    _apply(measure, data)
    if data.person is not None:
        case = plan.case
        unit = case.assistance_unit
        in_unit = unit is not None and unit.members.filter(person_id=data.person.pk).exists()
        if data.person.pk != case.client_id and not in_unit:
            raise ValidationError({"person": _("Choose a person of the dossier.")})
        measure.person = data.person
    with transaction.atomic():
        measure.save(force_insert=True)
        _set_goals(measure, data.goals)
        # the measure reminders read its dates and status (decision 0022)
        facts_changed([plan.case_id])
    return measure


def do_update_measure(
    *, actor: Actor, measure: Measure, version: int, data: MeasureData
) -> tuple[Measure, list[Booking]]:
    """Change a measure. Aborting it, or taking it out of its booked programme, gives up its
    booking (a held place goes to the waiting list). Returns the bookings that moved up."""
    plan = measure.plan
    _check_open(plan.case)
    with transaction.atomic():
        locked = Measure.objects.select_for_update(of=("self",)).get(pk=measure.pk)
        if locked.version != version:
            raise EditConflict
        check_measure(data, plan=plan, current=locked.status)
        _apply(locked, data)
        moved: list[Booking] = []
        leaves_booking = locked.status == MeasureStatus.ABORTED
        booked = Booking.objects.filter(
            measure=locked, status__in=("placed", "waiting")
        ).select_related("period")
        current = booked.first()
        if current is not None and current.period.programme_id != locked.programme_id:
            leaves_booking = True
        if leaves_booking and current is not None:
            _released, moved = release_measure_booking(locked, timezone.now())
        locked.version = version + 1
        locked.save()
        _set_goals(locked, data.goals)
        facts_changed([plan.case_id])
    return locked, moved


def do_attach_document(
    *,
    actor: Actor,
    measure: Measure,
    upload: UploadedFile,
    name: str,
    file_type: FileType,
    kind: str,
) -> MeasureDocument:
    """Store a certificate or report in the dossier's documents and attach it to the measure
    (I3). The file is removed again if the attachment cannot be stored."""
    case = measure.plan.case
    with transaction.atomic():
        document = do_store_document(
            actor=actor, case=case, upload=upload, name=name, file_type=file_type
        )
        try:
            with transaction.atomic():
                return MeasureDocument.objects.create(
                    measure=measure,
                    document=document,
                    case_id=case.pk,
                    owner_id=case.owner_id,
                    kind=kind,
                )
        except Exception:
            document.file.storage.delete(document.file.name)
            raise


@dataclass(frozen=True)
class SituationChange:
    """A person's education, work or residence situation from a date."""

    kind: str
    value: str
    on: datetime.date
    note: str = ""


def check_situation(*, person: Person, change: SituationChange) -> None:
    """A listed situation, from a date neither in the future nor before the birth or the
    arrival."""
    choices = SITUATION_VALUES.get(change.kind)
    if choices is None or change.value not in choices.values:
        raise ValidationError({"situation": _("Choose one of the listed situations.")})
    on = change.on
    if on > timezone.localdate():
        raise ValidationError({"on": _("The date cannot be in the future.")})
    if person.birth_date is not None and on < person.birth_date:
        raise ValidationError({"on": _("The date cannot be before the person's birth.")})
    if person.arrival_date is not None and on < person.arrival_date:
        raise ValidationError(
            {
                "on": _("The date cannot be before the arrival in Switzerland (%(date)s).")
                % {"date": f"{person.arrival_date:%d.%m.%Y}"}
            }
        )
    if not is_storable(on):
        raise ValidationError({"on": _("Enter a plausible date.")})


def _create_situation(
    *,
    actor: Actor,
    case: Case,
    person: Person,
    change: SituationChange,
    corrects: SituationEntry | None = None,
) -> SituationEntry:
    return SituationEntry.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=person,
        kind=change.kind,
        value=change.value,
        since=change.on,
        note=change.note,
        recorded_by=actor.user,
        corrects=corrects,
    )


def do_record_situation(
    *,
    actor: Actor,
    case: Case,
    person: Person,
    kind: str,
    value: str,
    on: datetime.date,
    note: str = "",
) -> SituationEntry:
    """Record a person's new education, work or residence situation from a date (I4). The
    date lies neither in the future nor before the birth or the arrival; the milestones of the
    dossier are evaluated again after the commit."""
    _check_open(case)
    change = SituationChange(kind, value, on, note)
    check_situation(person=person, change=change)
    with transaction.atomic():
        entry = _create_situation(actor=actor, case=case, person=person, change=change)
        facts_changed([case.pk])
    return entry


def do_mark_situation_in_error(
    *,
    actor: Actor,
    case: Case,
    entry: SituationEntry,
    reason: str,
    correction: SituationChange | None = None,
) -> SituationEntry | None:
    """Mark a situation entry of the dossier as recorded in error (decision 0021): it stays,
    with who, when and why, and no longer counts for the milestones. With ``correction`` the
    right situation is recorded in the same transaction and names the entry it corrects. The
    entry is locked, so of two markings at the same moment one wins and the other is told."""
    _check_open(case)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason why the entry was recorded in error.")})
    if correction is not None:
        check_situation(person=entry.person, change=correction)
    with transaction.atomic():
        locked = SituationEntry.objects.select_for_update().get(pk=entry.pk, case_id=case.pk)
        if locked.error_at is not None:
            raise ValidationError(
                _(
                    "This entry was already marked as recorded in error on %(date)s; the "
                    "timeline shows it struck through."
                )
                % {"date": f"{timezone.localtime(locked.error_at):%d.%m.%Y %H:%M}"},
                code="already_in_error",
            )
        SituationEntry.objects.filter(pk=locked.pk).update(
            error_reason=reason, error_at=timezone.now(), error_by=actor.user
        )
        corrected = None
        if correction is not None:
            corrected = _create_situation(
                actor=actor, case=case, person=entry.person, change=correction, corrects=locked
            )
        facts_changed([case.pk])
    return corrected
