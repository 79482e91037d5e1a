"""Dossier workflows: opening, editing, closing, sharing, consent. Writes are atomic (R38)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases.changes import facts_changed
from filum.cases.models import (
    DATED_CHILDREN,
    Case,
    CaseStatus,
    CaseTransition,
    Consent,
    Share,
    Stage,
    TransitionText,
)
from filum.dates import STORED_CEILING, add_days, check_dates, date_error
from filum.people.models import AssistanceUnit, Person
from filum.tenancy.models import Organisation, User
from filum.tenancy.policy import SECTIONS, Actor


class EditConflict(Exception):
    """The dossier changed since it was loaded (optimistic concurrency, R37)."""


def _record(
    case: Case,
    *,
    actor: Actor,
    kind: str,
    reason: str = "",
    from_stage: str = "",
    to_stage: str = "",
    reason_key: str = "",
    reason_params: dict[str, Any] | None = None,
    on: datetime.date | None = None,
) -> None:
    """Record a lifecycle step. ``reason`` is text a person typed; what the system says goes
    in ``reason_key`` and ``reason_params`` (rendered in the reader's language)."""
    CaseTransition.objects.create(
        case=case,
        effective_on=on,
        owner_id=case.owner_id,
        kind=kind,
        reason=reason,
        reason_key=reason_key,
        reason_params=reason_params or {},
        from_stage=from_stage,
        to_stage=to_stage,
        actor=actor.user,
    )


@transaction.atomic
def do_open_case(
    *,
    actor: Actor,
    client: Person,
    domain: str,
    opened_on: datetime.date,
    responsible: User | None,
    assistance_unit: AssistanceUnit | None = None,
    title: str = "",
) -> Case:
    check_dates({"opened_on": opened_on}, today=timezone.localdate(), future=False)
    case = Case.objects.create(
        owner_id=actor.organisation_id,
        client=client,
        domain=domain,
        opened_on=opened_on,
        responsible=responsible,
        assistance_unit=assistance_unit,
        team=actor.membership.team,
        title=title,
        stage=Stage.INTAKE_1,
    )
    case.refresh_from_db(fields=["number"])
    _record(case, actor=actor, kind="opened", to_stage=Stage.INTAKE_1, on=opened_on)
    facts_changed([case.pk])
    return case


def check_case_is_open(case: Case) -> None:
    if not case.is_open:
        raise ValidationError(_("This dossier is closed and can no longer be changed."))


def first_dated_entry(case: Case) -> datetime.date | None:
    """The earliest date recorded in the dossier after its opening (its own stage dates and the
    dated rows of ``DATED_CHILDREN``): the latest day the opening may move to."""
    parts = " UNION ALL ".join(
        f"SELECT min({column}) FROM {table} WHERE case_id = %s"  # noqa: S608 (constant names)
        for table, column in DATED_CHILDREN.items()
    )
    sql = f"SELECT min(d) FROM ({parts}) AS dates(d)"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [case.pk] * len(DATED_CHILDREN))
        children = cursor.fetchone()[0]
    own = [case.stage_since, case.received_on, case.segment_since, case.closed_on, children]
    return min((day for day in own if day is not None), default=None)


def rows_before_opening() -> dict[str, int]:
    """Per table of ``DATED_CHILDREN``, the rows dated before their dossier's opening. The
    triggers refuse new ones; this finds rows written with the triggers off (the bulk demo)."""
    found = {}
    with connection.cursor() as cursor:
        for table, column in DATED_CHILDREN.items():
            cursor.execute(
                f"SELECT count(*) FROM {table} t JOIN cases_case c ON c.id = t.case_id "  # noqa: S608
                f"WHERE t.{column} < c.opened_on"
            )
            found[table] = cursor.fetchone()[0]
    return {table: count for table, count in found.items() if count}


def check_opening(case: Case, opened_on: datetime.date) -> None:
    """A new opening date: plausible, and not after anything already recorded."""
    check_dates({"opened_on": opened_on}, today=timezone.localdate(), future=False)
    first = first_dated_entry(case)
    if first is not None and opened_on > first:
        raise ValidationError(
            {
                "opened_on": _(
                    "The opening date cannot be after the first date recorded in the dossier "
                    "(%(date)s)."
                )
                % {"date": f"{first:%d.%m.%Y}"}
            }
        )


@transaction.atomic
def do_update_case(*, actor: Actor, case: Case, version: int, data: dict[str, Any]) -> Case:
    check_case_is_open(case)
    if "opened_on" in data:
        check_opening(case, data["opened_on"])
    updated = Case.objects.filter(pk=case.pk, version=version).update(
        **data, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated == 0:
        raise EditConflict
    facts_changed([case.pk])
    case.refresh_from_db()
    return case


@transaction.atomic
def do_close_case(
    *, actor: Actor, case: Case, closed_on: datetime.date, reason: str, note: str = ""
) -> Case:
    check_case_is_open(case)
    if closed_on < case.opened_on:
        raise ValidationError(_("A dossier cannot be closed before it was opened."))
    if closed_on > timezone.localdate():
        raise ValidationError(_("The closure date cannot be in the future."))
    from_stage = case.stage
    Case.objects.filter(pk=case.pk).update(
        status=CaseStatus.CLOSED,
        stage=Stage.CLOSED,
        closed_on=closed_on,
        closure_reason=reason,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    facts_changed([case.pk])
    case.refresh_from_db()
    _record(
        case,
        actor=actor,
        kind="closed",
        reason=note,
        reason_key=TransitionText.CLOSED,
        reason_params={"reason": reason},
        from_stage=from_stage,
        to_stage=Stage.CLOSED,
        on=closed_on,
    )
    return case


# The end stored for a share that lasts as long as its consent when the consent has no end of
# its own: the last storable day. It stops when the consent is withdrawn (``ShareQuerySet``).
UNTIL_CONSENT_ENDS = add_days(STORED_CEILING, -1)


def check_share(
    *,
    case: Case,
    organisation: Organisation,
    sections: list[str],
    valid_until: datetime.date | None,
    basis: str,
    consent: Consent | None,
) -> None:
    """``valid_until=None``: the share lasts as long as its consent (consent basis only)."""
    errors: dict[str, str] = {}
    if organisation.pk == case.owner_id:
        errors["organisation"] = _("A dossier cannot be shared with its own organisation.")
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        errors["sections"] = _("Choose one or more of the known sections.")
    if valid_until is None:
        if basis != Share.Basis.CONSENT:
            errors["valid_until"] = _("Enter the end date of the share.")
    elif valid_until < timezone.localdate():
        errors["valid_until"] = _("The end date cannot be in the past.")
    elif message := date_error(valid_until, today=timezone.localdate()):
        errors["valid_until"] = message
    if basis == Share.Basis.CONSENT:
        if consent is None or consent.case_id != case.pk:
            errors["consent"] = _("Choose the consent this share is based on.")
        elif not consent.is_active:
            errors["consent"] = _("This consent is withdrawn or expired.")
        elif (
            valid_until is not None
            and consent.valid_until is not None
            and valid_until > consent.valid_until
        ):
            # A share based on a consent ends when the consent ends (P2, X4).
            errors["valid_until"] = _(
                "The consent ends on %(date)s: the share cannot last beyond it."
            ) % {"date": f"{consent.valid_until:%d.%m.%Y}"}
        elif not unknown and not consent.covers(sections):
            errors["consent"] = _("The consent does not cover all the chosen sections.")
    if errors:
        raise ValidationError(errors)


def _consent_end(consent: Consent | None) -> datetime.date:
    if consent is not None and consent.valid_until is not None:
        return consent.valid_until
    return UNTIL_CONSENT_ENDS


@transaction.atomic
def do_share_case(
    *,
    actor: Actor,
    case: Case,
    organisation: Organisation,
    sections: list[str],
    access: str,
    basis: str,
    reason: str,
    valid_until: datetime.date | None,
    consent: Consent | None = None,
) -> Share:
    """``valid_until=None``: a share based on a consent that lasts as long as the consent."""
    check_case_is_open(case)
    check_share(
        case=case,
        organisation=organisation,
        sections=sections,
        valid_until=valid_until,
        basis=basis,
        consent=consent,
    )
    share = Share.objects.create(
        case=case,
        owner_id=case.owner_id,
        organisation=organisation,
        sections=sections,
        access=access,
        basis=basis,
        reason=reason,
        consent=consent if basis == Share.Basis.CONSENT else None,
        valid_until=valid_until or _consent_end(consent),
        granted_by=actor.user,
    )
    _record(
        case,
        actor=actor,
        kind="shared",
        reason_key=TransitionText.SHARED,
        reason_params={"organisation": str(organisation), "sections": sections, "access": access},
    )
    return share


@transaction.atomic
def do_revoke_share(*, actor: Actor, share: Share) -> None:
    """Takes effect at once: every access check reads the share table. A former owner's
    share is not revoked by hand: it is the sending service's record (decision 0026)."""
    if share.kind == Share.Kind.FORMER_OWNER:
        raise ValidationError(_("The former owner's access to its own period cannot be revoked."))
    Share.objects.filter(pk=share.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor.user
    )
    _record(share.case, actor=actor, kind="share_revoked", reason=str(share.organisation))


@transaction.atomic
def do_record_consent(
    *,
    actor: Actor,
    case: Case,
    person: Person,
    kind: str,
    scope: str,
    sections: list[str],
    signed_on: datetime.date,
    valid_until: datetime.date | None,
) -> Consent:
    if signed_on > timezone.localdate():
        raise ValidationError({"signed_on": _("The signature date cannot be in the future.")})
    check_dates(
        {"signed_on": signed_on, "valid_until": valid_until},
        today=timezone.localdate(),
        opened_on=case.opened_on,
    )
    if valid_until and valid_until < signed_on:
        raise ValidationError({"valid_until": _("The end date is before the signature date.")})
    return Consent.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=person,
        kind=kind,
        scope=scope,
        sections=sections if kind == Consent.Kind.SPECIFIC else [],
        signed_on=signed_on,
        valid_until=valid_until,
        recorded_by=actor.user,
    )


@transaction.atomic
def do_withdraw_consent(*, actor: Actor, consent: Consent, on: datetime.date) -> None:
    """Shares based on this consent stop at once (the share queryset checks the consent)."""
    Consent.objects.filter(pk=consent.pk, withdrawn_on__isnull=True).update(withdrawn_on=on)
    _record(consent.case, actor=actor, kind="consent_withdrawn", reason=consent.scope[:200])
