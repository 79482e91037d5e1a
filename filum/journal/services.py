"""Journal workflows: recording, correcting (by a new version) and retracting contacts, and the
service agreement of a dossier (S6, S7, S9). The caller has checked ``journal.write``."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases.changes import facts_changed
from filum.cases.models import Case
from filum.cases.services import check_case_is_open
from filum.dates import check_dates
from filum.journal.models import (
    FACE_TO_FACE_KINDS,
    NOT_A_CONTACT_KINDS,
    Contact,
    ContactKind,
    ServiceAgreement,
    Topic,
)
from filum.prepared import PreparedQuery
from filum.tenancy.policy import Actor


def counts_as_contact(kind: str, topic: Topic, *, by_owner: bool = True) -> bool:
    """S6, the one classification of an entry as a counted contact, fixed when it is recorded:
    a conversation between the responsible organisation's staff and the client on a
    social-work topic. Dropping off documents and letters are no interviews; administrative
    topics are no social-work topic; entries written by a partner organisation are shown but
    not counted (``by_owner`` false)."""
    return by_owner and kind not in NOT_A_CONTACT_KINDS and topic.is_social_work


def is_face_to_face(kind: str) -> bool:
    return kind in FACE_TO_FACE_KINDS


def check_contact(
    *,
    case: Case,
    kind: str,
    date: datetime.date,
    topic: Topic | None,
    duration_minutes: int | None,
) -> None:
    """All field errors at once, so a form can show them next to the fields."""
    errors: dict[str, str] = {}
    if kind not in ContactKind.values:
        errors["kind"] = _("Choose the type of contact.")
    if date is None:
        errors["date"] = _("Give the date of the contact.")
    elif date > timezone.localdate():
        errors["date"] = _("A contact cannot be dated in the future.")
    elif date < case.opened_on:
        errors["date"] = _("A contact cannot be dated before the dossier was opened.")
    if topic is None:
        errors["topic"] = _("Choose the topic of the contact.")
    elif not topic.is_active:
        errors["topic"] = _("This topic is no longer in use.")
    if kind in FACE_TO_FACE_KINDS and not duration_minutes:
        errors["duration_minutes"] = _(
            "Give the duration of every face-to-face interview, however short."
        )
    elif duration_minutes is not None and duration_minutes <= 0:
        errors["duration_minutes"] = _("The duration must be at least one minute.")
    if errors:
        raise ValidationError(errors)


def _new_version(
    *,
    actor: Actor,
    case: Case,
    kind: str,
    date: datetime.date,
    topic: Topic,
    participants: str,
    duration_minutes: int | None,
    note: str,
    supersedes: Contact | None = None,
    correction_reason: str = "",
    retracted: bool = False,
) -> Contact:
    counts = counts_as_contact(kind, topic, by_owner=actor.organisation_id == case.owner_id)
    if counts or (supersedes is not None and supersedes.counts):
        # the counted contacts change, and with them the dossier's light
        facts_changed([case.pk])
    return Contact.objects.create(
        case=case,
        owner_id=case.owner_id,
        author_organisation_id=actor.organisation_id,
        kind=kind,
        date=date,
        topic=topic,
        participants=participants.strip(),
        duration_minutes=duration_minutes or None,
        note=note.strip(),
        counts=counts,
        is_face_to_face=counts and is_face_to_face(kind),
        is_retracted=retracted,
        supersedes=supersedes,
        correction_reason=correction_reason,
        recorded_by=actor.user,
    )


@transaction.atomic
def do_record_contact(
    *,
    actor: Actor,
    case: Case,
    kind: str,
    date: datetime.date,
    topic: Topic,
    participants: str = "",
    duration_minutes: int | None = None,
    note: str = "",
) -> Contact:
    check_case_is_open(case)
    check_contact(case=case, kind=kind, date=date, topic=topic, duration_minutes=duration_minutes)
    return _new_version(
        actor=actor,
        case=case,
        kind=kind,
        date=date,
        topic=topic,
        participants=participants,
        duration_minutes=duration_minutes,
        note=note,
    )


def _supersede(contact: Contact) -> Contact:
    current = Contact.objects.select_for_update().get(pk=contact.pk)
    if current.superseded_at is not None:
        raise ValidationError(
            _("This entry has been corrected in the meantime; correct its latest version."),
            code="superseded",
        )
    if current.is_retracted:
        raise ValidationError(_("This entry was retracted."), code="retracted")
    Contact.objects.filter(pk=current.pk).update(superseded_at=timezone.now())
    return current


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"correction_reason": _("Give the reason for the correction.")})
    return reason


@transaction.atomic
def do_correct_contact(
    *,
    actor: Actor,
    contact: Contact,
    reason: str,
    kind: str,
    date: datetime.date,
    topic: Topic,
    participants: str = "",
    duration_minutes: int | None = None,
    note: str = "",
) -> Contact:
    """A correction is a new version; the previous one keeps its text (version chain + audit)."""
    case = contact.case
    check_case_is_open(case)
    reason = _check_reason(reason)
    check_contact(case=case, kind=kind, date=date, topic=topic, duration_minutes=duration_minutes)
    previous = _supersede(contact)
    return _new_version(
        actor=actor,
        case=case,
        kind=kind,
        date=date,
        topic=topic,
        participants=participants,
        duration_minutes=duration_minutes,
        note=note,
        supersedes=previous,
        correction_reason=reason,
    )


@transaction.atomic
def do_retract_contact(*, actor: Actor, contact: Contact, reason: str) -> Contact:
    """Withdraw an entry made in error: a last version marked retracted, which no longer shows
    nor counts. The earlier versions stay."""
    check_case_is_open(contact.case)
    reason = _check_reason(reason)
    previous = _supersede(contact)
    return _new_version(
        actor=actor,
        case=previous.case,
        kind=previous.kind,
        date=previous.date,
        topic=previous.topic,
        participants=previous.participants,
        duration_minutes=previous.duration_minutes,
        note=previous.note,
        supersedes=previous,
        correction_reason=reason,
        retracted=True,
    )


def contact_versions(contact: Contact) -> list[Contact]:
    """The version chain of an entry, newest first (one query per version; chains are short)."""
    chain = [contact]
    while chain[-1].supersedes_id is not None:
        chain.append(
            Contact.objects.select_related("recorded_by", "topic").get(pk=chain[-1].supersedes_id)
        )
    return chain


@transaction.atomic
def do_record_service_agreement(
    *,
    actor: Actor,
    case: Case,
    signed_on: datetime.date,
    summary: str,
    valid_until: datetime.date | None = None,
) -> ServiceAgreement:
    check_case_is_open(case)
    check_dates(
        {"signed_on": signed_on, "valid_until": valid_until},
        today=timezone.localdate(),
        opened_on=case.opened_on,
    )
    errors: dict[str, str] = {}
    if signed_on > timezone.localdate():
        errors["signed_on"] = _("The signature date cannot be in the future.")
    if valid_until is not None and valid_until < signed_on:
        errors["valid_until"] = _("The end date is before the signature date.")
    if not (summary or "").strip():
        errors["summary"] = _("Summarise what was agreed.")
    if errors:
        raise ValidationError(errors)
    return ServiceAgreement.objects.create(
        case=case,
        owner_id=case.owner_id,
        signed_on=signed_on,
        summary=summary.strip(),
        valid_until=valid_until,
        recorded_by=actor.user,
    )


@transaction.atomic
def do_record_no_service_agreement(*, actor: Actor, case: Case, reason: str) -> ServiceAgreement:
    """S9: where no agreement is made, the worker records why."""
    check_case_is_open(case)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"no_agreement_reason": _("Give the reason why there is no agreement.")}
        )
    return ServiceAgreement.objects.create(
        case=case, owner_id=case.owner_id, no_agreement_reason=reason, recorded_by=actor.user
    )


# read on every journal page: compiled once per thread, a prepared statement (decision 0015)
_CURRENT_AGREEMENT = PreparedQuery(
    lambda case_id: ServiceAgreement.objects.filter(case_id=case_id).order_by(
        "-recorded_at", "-id"
    )[:1]
)


def current_service_agreement(case: Case) -> ServiceAgreement | None:
    found = _CURRENT_AGREEMENT.objects(case.pk)
    return found[0] if found else None
