"""CII case workflows: opening with a signed authorisation, partners joining and leaving, the
lead coordinator, the entry profile and the exit (X4, X5, D8). Writes are atomic (R38); the
shares go through ``filum.cases.services`` and the closing through the dossier's lifecycle.

Every partner works through one share of the dossier's journal and plan, with write access,
based on the CII case's authorisation: when the authorisation is withdrawn or expires, every
share ends with it at once (``ShareQuerySet.active``). See docs/decisions/0020-cii-cases.md."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases import services as case_services
from filum.cases.models import Case, ClosureReason, Consent, Domain, Share
from filum.cii.models import (
    BODIES_OF_KIND,
    GOAL_KEYS,
    Body,
    CiiCase,
    CiiPartner,
    ExitState,
    Nationality,
)
from filum.followup import lifecycle
from filum.people.models import Person
from filum.tenancy.models import Membership, Organisation, User
from filum.tenancy.policy import (
    MATRIX,
    Actor,
    Section,
    allowed_relations,
    dossier_holding_roles,
)

# The sections every partner institution reads and writes (X5).
CII_SECTIONS = [str(Section.JOURNAL), str(Section.PLAN)]

# The dossier's closure reason for each exit state (the dossier's own list is coarser).
CLOSURE_REASON = {
    ExitState.LABOUR_MARKET: ClosureReason.EMPLOYMENT,
    ExitState.GOALS_REACHED: ClosureReason.MEASURE_ENDED,
    ExitState.NON_COLLABORATION: ClosureReason.NO_COOPERATION,
    ExitState.CRITERIA_NOT_MET: ClosureReason.OTHER,
    ExitState.OUTSIDE_AREA: ClosureReason.OTHER,
}

PROFILE_FIELDS = (
    "health",
    "out_of_work",
    "language_level",
    "education",
    "nationality",
    "debts",
    "goals_aimed",
)


@dataclass(frozen=True)
class PartnerSpec:
    """A partner institution as entered: the organisation, its body, its own case number."""

    organisation: Organisation
    body: str
    case_number: str


@dataclass(frozen=True)
class AuthorisationSpec:
    """A signed authorisation recorded with the opening (a ``cases.Consent``)."""

    kind: str
    sections: list[str]
    scope: str
    signed_on: datetime.date
    valid_until: datetime.date | None


def coordinator_roles() -> frozenset[str]:
    """Roles that may lead a CII case: those who may write a plan (their own organisation's,
    or one shared with them)."""
    return frozenset(role for role in MATRIX if allowed_relations(role, "plan.write"))


def nationality_of(person: Person) -> str:
    """Swiss or foreign from the person's nationality (ISO code), empty when unknown."""
    code = (person.nationality or "").strip().upper()
    if not code:
        return ""
    return str(Nationality.SWISS if code == "CH" else Nationality.FOREIGN)


def check_body(organisation: Organisation, body: str, *, field: str) -> None:
    """An organisation is one of the three bodies, and the one its kind allows (X5)."""
    allowed = BODIES_OF_KIND.get(organisation.kind)
    if not allowed:
        raise ValidationError(
            {
                field: _(
                    "%(organisation)s is not social assistance, invalidity insurance or "
                    "unemployment insurance: only these three take part in a CII case."
                )
                % {"organisation": organisation}
            }
        )
    if body not in allowed:
        raise ValidationError(
            {
                field: _("%(organisation)s can only be: %(bodies)s.")
                % {
                    "organisation": organisation,
                    "bodies": ", ".join(str(Body(b).label) for b in allowed),
                }
            }
        )


def check_authorisation(consent: Consent) -> None:
    """A CII case rests on a signed authorisation in force that covers the journal and the
    plan: a general one, or a specific one naming both (X4)."""
    if not consent.is_active:
        raise ValidationError({"consent": _("This authorisation is withdrawn or expired.")})
    check_covers(consent)


def check_covers(consent: Consent) -> None:
    """The authorisation (recorded or as entered) covers the journal and the plan."""
    if not consent.covers(CII_SECTIONS):
        raise ValidationError(
            {
                "consent": _(
                    "The authorisation does not cover both the journal and the plan, which the "
                    "partners read and write."
                )
            }
        )


def check_coordinator(coordinator: User, organisation_ids: Iterable[int]) -> None:
    """The lead coordinator works for the owner or a current partner, in a role that may
    write the plan."""
    works_there = Membership.objects.active().filter(
        user=coordinator, organisation_id__in=list(organisation_ids), role__in=coordinator_roles()
    )
    if not works_there.exists():
        raise ValidationError(
            {
                "coordinator": _(
                    "The lead coordinator must work on cases for one of the institutions of "
                    "this CII case."
                )
            }
        )


def _check_partners(
    owner_id: int, partners: Sequence[PartnerSpec], *, present: Iterable[int]
) -> None:
    seen = set(present)
    for partner in partners:
        if partner.organisation.pk == owner_id:
            raise ValidationError(
                {
                    "organisation": _(
                        "The organisation that owns the CII case is not a partner of it."
                    )
                }
            )
        if partner.organisation.pk in seen:
            raise ValidationError(
                {
                    "organisation": _("%(organisation)s is already a partner of this CII case.")
                    % {"organisation": partner.organisation}
                }
            )
        seen.add(partner.organisation.pk)
        check_body(partner.organisation, partner.body, field="body")
        if not partner.case_number.strip():
            raise ValidationError(
                {"case_number": _("Enter the partner institution's own case number.")}
            )


def _join(*, actor: Actor, record: CiiCase, partner: PartnerSpec) -> CiiPartner:
    """Open the dossier's journal and plan to the partner for as long as the authorisation
    lasts, and link the partner with its case number."""
    share = case_services.do_share_case(
        actor=actor,
        case=record.case,
        organisation=partner.organisation,
        sections=CII_SECTIONS,
        access=Share.Access.WRITE,
        basis=Share.Basis.CONSENT,
        reason=f"CII {record.case.reference}",
        valid_until=None,
        consent=record.consent,
    )
    return CiiPartner.objects.create(
        cii_case=record,
        case=record.case,
        owner_id=record.owner_id,
        organisation=partner.organisation,
        body=partner.body,
        case_number=partner.case_number.strip(),
        share=share,
        added_by=actor.user,
    )


@transaction.atomic
def do_open_cii_case(
    *,
    actor: Actor,
    client: Person,
    dossier: Case | None,
    owner_body: str,
    coordinator: User,
    partners: Sequence[PartnerSpec],
    consent: Consent | None = None,
    authorisation: AuthorisationSpec | None = None,
) -> CiiCase:
    """Open a CII case for a person: on their CII dossier ``dossier`` when it has no CII
    record yet, otherwise in a new CII dossier owned by the actor's organisation. It opens
    only with a signed authorisation covering the journal and the plan (an existing one of
    the dossier, ``consent``, or one recorded now, ``authorisation``), on the day it was
    signed; the partners' shares are made all together."""
    organisation = actor.organisation
    check_body(organisation, owner_body, field="owner_body")
    if not partners:
        raise ValidationError(
            _("A CII case joins at least one partner institution besides your organisation.")
        )
    _check_partners(organisation.pk, partners, present=())
    check_coordinator(coordinator, [organisation.pk, *(p.organisation.pk for p in partners)])
    if dossier is not None and (
        dossier.domain != Domain.CII or dossier.owner_id != organisation.pk
    ):
        dossier = None  # a dossier of another domain: the CII case gets a dossier of its own
    if dossier is not None:
        dossier = Case.objects.select_for_update().get(pk=dossier.pk)
        case_services.check_case_is_open(dossier)
        if CiiCase.objects.filter(case=dossier).exists():
            raise ValidationError(_("This dossier already is a CII case."))
    if authorisation is not None:
        check_covers(Consent(kind=authorisation.kind, sections=authorisation.sections))
        if dossier is None:
            dossier = case_services.do_open_case(
                actor=actor,
                client=client,
                domain=Domain.CII,
                opened_on=authorisation.signed_on,
                responsible=actor.user if actor.role in dossier_holding_roles() else None,
            )
        consent = case_services.do_record_consent(
            actor=actor,
            case=dossier,
            person=client,
            kind=authorisation.kind,
            scope=authorisation.scope,
            sections=authorisation.sections,
            signed_on=authorisation.signed_on,
            valid_until=authorisation.valid_until,
        )
    elif consent is None:
        raise ValidationError(
            {"consent": _("A CII case opens only with an authorisation signed by the person.")}
        )
    elif dossier is None or consent.case_id != dossier.pk:
        raise ValidationError({"consent": _("Choose an authorisation of this dossier.")})
    check_authorisation(consent)
    record = CiiCase.objects.create(
        case=dossier,
        owner=organisation,
        owner_body=owner_body,
        coordinator=coordinator,
        consent=consent,
        opened_on=consent.signed_on,
        nationality=nationality_of(client),
    )
    for partner in partners:
        _join(actor=actor, record=record, partner=partner)
    return record


def _locked(record: CiiCase) -> CiiCase:
    """The CII record re-read under a row lock, with its dossier and authorisation."""
    return (
        CiiCase.objects.select_for_update(of=("self",))
        .select_related("case", "consent", "case__client")
        .get(pk=record.pk)
    )


def _check_running(record: CiiCase) -> None:
    if record.has_exit:
        raise ValidationError(_("This CII case has ended and can no longer be changed."))
    case_services.check_case_is_open(record.case)


def _current_partner_ids(record: CiiCase) -> list[int]:
    return list(record.partners.current().values_list("organisation_id", flat=True))


@transaction.atomic
def do_add_partner(*, actor: Actor, record: CiiCase, partner: PartnerSpec) -> CiiPartner:
    """A partner joins: its share of the journal and plan is made on the authorisation."""
    record = _locked(record)
    _check_running(record)
    if not record.authorisation_in_force:
        raise ValidationError(
            _("The authorisation has ended: no partner can join. Record the exit of the CII case.")
        )
    _check_partners(record.owner_id, [partner], present=_current_partner_ids(record))
    return _join(actor=actor, record=record, partner=partner)


@transaction.atomic
def do_remove_partner(*, actor: Actor, partner: CiiPartner) -> None:
    """A partner leaves: its share is revoked at once; its case number stays on record."""
    record = _locked(partner.cii_case)
    _check_running(record)
    partner = (
        CiiPartner.objects.select_for_update()
        .select_related("share", "share__case")
        .get(pk=partner.pk)
    )
    if partner.left_at is not None:
        return
    others = [org for org in _current_partner_ids(record) if org != partner.organisation_id]
    if not others:
        raise ValidationError(
            _(
                "A CII case needs at least one partner institution besides yours: record its "
                "exit instead of removing the last partner."
            )
        )
    try:
        check_coordinator(record.coordinator, [record.owner_id, *others])
    except ValidationError:
        raise ValidationError(
            _("The lead coordinator works for this partner: name another lead coordinator first.")
        ) from None
    case_services.do_revoke_share(actor=actor, share=partner.share)
    CiiPartner.objects.filter(pk=partner.pk).update(left_at=timezone.now(), left_by=actor.user)


@transaction.atomic
def do_set_coordinator(*, actor: Actor, record: CiiCase, coordinator: User) -> CiiCase:
    record = _locked(record)
    _check_running(record)
    check_coordinator(coordinator, [record.owner_id, *_current_partner_ids(record)])
    CiiCase.objects.filter(pk=record.pk).update(coordinator=coordinator, version=F("version") + 1)
    record.refresh_from_db()
    return record


@transaction.atomic
def do_update_profile(
    *, actor: Actor, record: CiiCase, version: int, data: dict[str, Any]
) -> CiiCase:
    """Record the entry profile and the intermediate goals aimed at (D8). Optimistic
    concurrency (R37): a change since the form was loaded raises ``EditConflict``."""
    record = _locked(record)
    _check_running(record)
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    _check_goals(data.get("goals_aimed", record.goals_aimed), [])
    updated = CiiCase.objects.filter(pk=record.pk, version=version).update(
        **data, version=F("version") + 1
    )
    if updated == 0:
        raise case_services.EditConflict
    record.refresh_from_db()
    return record


@transaction.atomic
def do_renew_authorisation(
    *,
    actor: Actor,
    record: CiiCase,
    consent: Consent | None = None,
    authorisation: AuthorisationSpec | None = None,
) -> CiiCase:
    """Move a running CII case onto a new signed authorisation (an existing one of the
    dossier, ``consent``, or one recorded now, ``authorisation``): every current partner's
    share on the old one ends and a new share on the new one begins, all in one transaction.
    Possible before the old authorisation ends and after (the case is then no longer "to be
    closed"); the case keeps its opening date."""
    record = _locked(record)
    _check_running(record)
    if authorisation is not None:
        check_covers(Consent(kind=authorisation.kind, sections=authorisation.sections))
        consent = case_services.do_record_consent(
            actor=actor,
            case=record.case,
            person=record.case.client,
            kind=authorisation.kind,
            scope=authorisation.scope,
            sections=authorisation.sections,
            signed_on=authorisation.signed_on,
            valid_until=authorisation.valid_until,
        )
    elif consent is None or consent.case_id != record.case_id:
        raise ValidationError({"consent": _("Choose an authorisation of this dossier.")})
    if consent.pk == record.consent_id:
        raise ValidationError(
            {"consent": _("The CII case already rests on this authorisation: choose a new one.")}
        )
    check_authorisation(consent)
    CiiCase.objects.filter(pk=record.pk).update(consent=consent, version=F("version") + 1)
    record.refresh_from_db()
    for partner in record.partners.current().select_related("share", "organisation"):
        if partner.share.revoked_at is None:
            case_services.do_revoke_share(actor=actor, share=partner.share)
        partner.share = case_services.do_share_case(
            actor=actor,
            case=record.case,
            organisation=partner.organisation,
            sections=CII_SECTIONS,
            access=Share.Access.WRITE,
            basis=Share.Basis.CONSENT,
            reason=f"CII {record.case.reference}",
            valid_until=None,
            consent=consent,
        )
        partner.save(update_fields=["share"])
    return record


def _check_goals(aimed: Iterable[str], reached: Iterable[str]) -> None:
    aimed, reached = set(aimed), set(reached)
    if not aimed <= set(GOAL_KEYS) or not reached <= set(GOAL_KEYS):
        raise ValidationError({"goals_aimed": _("Choose goals of the list.")})
    if not reached <= aimed:
        raise ValidationError(
            {"goals_reached": _("A goal can only be reached if it was aimed at.")}
        )


@transaction.atomic
def do_close_cii_case(
    *,
    actor: Actor,
    record: CiiCase,
    exit_on: datetime.date,
    exit_state: str,
    goals_aimed: list[str],
    goals_reached: list[str],
    note: str = "",
) -> CiiCase:
    """Record the exit (D8): the partners' shares are revoked and the dossier is closed through
    its lifecycle, unless it was closed already (then only the exit is recorded)."""
    record = _locked(record)
    if record.has_exit:
        raise ValidationError(_("The exit of this CII case is already recorded."))
    if exit_state not in ExitState.values:
        raise ValidationError({"exit_state": _("Choose the state at the exit.")})
    if exit_on < record.opened_on:
        raise ValidationError(
            {
                "exit_on": _("The exit cannot be before the CII case opened on %(date)s.")
                % {"date": f"{record.opened_on:%d.%m.%Y}"}
            }
        )
    if exit_on > timezone.localdate():
        raise ValidationError({"exit_on": _("The exit date cannot be in the future.")})
    _check_goals(goals_aimed, goals_reached)
    if exit_state == ExitState.GOALS_REACHED and not goals_reached:
        raise ValidationError(
            {"goals_reached": _("Name the intermediate goals that were reached.")}
        )
    CiiCase.objects.filter(pk=record.pk).update(
        exit_on=exit_on,
        exit_state=exit_state,
        goals_aimed=sorted(set(goals_aimed), key=GOAL_KEYS.index),
        goals_reached=sorted(set(goals_reached), key=GOAL_KEYS.index),
        version=F("version") + 1,
    )
    for partner in record.partners.current().select_related("share", "share__case"):
        if partner.share.revoked_at is None:
            case_services.do_revoke_share(actor=actor, share=partner.share)
    if record.case.is_open:
        lifecycle.do_close(
            actor=actor,
            case=record.case,
            closed_on=exit_on,
            reason=CLOSURE_REASON[ExitState(exit_state)],
            note=note,
        )
    record.refresh_from_db()
    return record
