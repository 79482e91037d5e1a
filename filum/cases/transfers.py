"""Dossier transfer between services (P3, P4; decision 0026): offer, withdraw, decline,
accept. Accepting moves the dossier whole, in one transaction, under row locks on the offer
and the dossier: the owner changes, the history stays, the sender keeps reading its own
period, open tasks and shares are settled as the offer says."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet, Window
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases.changes import facts_changed
from filum.cases.models import (
    Case,
    Domain,
    DossierTransfer,
    SegmentProposal,
    Share,
    TransferKind,
    TransitionText,
)
from filum.cases.services import _record, check_case_is_open
from filum.dates import add_days, date_error
from filum.followup.models import Task, TaskStatus
from filum.records.services import log_security_event
from filum.tenancy.models import Membership, Organisation, OrganisationKind, User
from filum.tenancy.policy import Actor, Section, dossier_holding_roles

# What the former owner keeps reading of its own period: the dated sections (decision 0026).
FORMER_OWNER_SECTIONS = [str(Section.JOURNAL), str(Section.DOCUMENTS)]
# How long the former owner keeps reading its period: the retention of social assistance
# files (ten years from the cut-over).
FORMER_OWNER_YEARS = 10
# The cut-over may lie this many days back (a move already happened) or ahead (a move planned).
CUT_OVER_PAST_DAYS = 90
CUT_OVER_FUTURE_DAYS = 180
PROTECTION = (Domain.CHILD_PROTECTION, Domain.ADULT_PROTECTION)


def receiver_kind(case: Case) -> str:
    """The kind of service that may take a dossier over: a protection authority for a
    protection dossier, a social service for every other domain."""
    if case.domain in PROTECTION:
        return OrganisationKind.PROTECTION_AUTHORITY
    return OrganisationKind.SOCIAL_SERVICE


def receivers_for(case: Case) -> QuerySet[Organisation]:
    return (
        Organisation.objects.filter(is_active=True, kind=receiver_kind(case))
        .exclude(pk=case.owner_id)
        .order_by("name")
    )


def workers_of(organisation_id: int) -> QuerySet[User]:
    """The receiving service's people who may be responsible for a dossier."""
    members = Membership.objects.active().filter(
        organisation_id=organisation_id, role__in=sorted(dossier_holding_roles())
    )
    return User.objects.filter(pk__in=members.values("user_id")).order_by(
        "last_name", "first_name", "username"
    )


def check_offer(
    *, case: Case, receiver: Organisation, kind: str, cut_over_on: datetime.date
) -> None:
    errors: dict[str, str] = {}
    if receiver.pk == case.owner_id or receiver.kind != receiver_kind(case):
        errors["receiver"] = _("This dossier cannot be transferred to that organisation.")
    elif not receiver.is_active or not workers_of(receiver.pk).exists():
        errors["receiver"] = _(
            "%(organisation)s has no worker who could take the dossier over. Ask the service "
            "to register its workers first."
        ) % {"organisation": receiver.name}
    if kind == TransferKind.REFUGEE_TO_ORDINARY and case.domain != Domain.ASYLUM_AID:
        errors["kind"] = _(
            "Only a dossier of asylum and refugee social assistance moves to ordinary social "
            "assistance."
        )
    today = timezone.localdate()
    earliest = max(case.opened_on, add_days(today, -CUT_OVER_PAST_DAYS))
    if message := date_error(cut_over_on, today=today, opened_on=case.opened_on):
        errors["cut_over_on"] = message
    elif not earliest <= cut_over_on <= add_days(today, CUT_OVER_FUTURE_DAYS):
        errors["cut_over_on"] = _("Enter a cut-over date from %(first)s to %(last)s.") % {
            "first": f"{earliest:%d.%m.%Y}",
            "last": f"{add_days(today, CUT_OVER_FUTURE_DAYS):%d.%m.%Y}",
        }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def do_offer_transfer(
    *,
    actor: Actor,
    case: Case,
    receiver: Organisation,
    kind: str,
    note: str,
    cut_over_on: datetime.date,
    tasks: str,
    shares: str,
) -> DossierTransfer:
    locked = Case.objects.select_for_update().get(pk=case.pk)
    check_case_is_open(locked)
    if locked.owner_id != actor.organisation_id:
        raise ValidationError(_("Only the service that holds the dossier can offer it."))
    check_offer(case=locked, receiver=receiver, kind=kind, cut_over_on=cut_over_on)
    if not note.strip():
        raise ValidationError({"note": _("Write the transfer note.")})
    try:
        with transaction.atomic():
            return DossierTransfer.objects.create(
                case=locked,
                owner_id=locked.owner_id,
                receiver=receiver,
                kind=kind,
                note=note.strip(),
                cut_over_on=cut_over_on,
                tasks=tasks,
                shares=shares,
                offered_by=actor.user,
            )
    except IntegrityError as exc:
        if "transfer_one_pending" not in str(exc):
            raise
        raise ValidationError(
            _("This dossier is already offered to a service. Withdraw that offer first.")
        ) from exc


def _locked_pending(transfer: DossierTransfer) -> DossierTransfer:
    """The offer, locked; refused if it was decided or withdrawn in the meantime."""
    locked = (
        DossierTransfer.objects.select_for_update()
        .select_related("owner", "receiver")
        .get(pk=transfer.pk)
    )
    if not locked.is_pending:
        raise ValidationError(
            _("This offer was already %(status)s. Nothing was changed.")
            % {"status": locked.get_status_display()}
        )
    return locked


def _decide(transfer: DossierTransfer, actor: Actor, **fields: Any) -> None:
    DossierTransfer.objects.filter(pk=transfer.pk).update(
        decided_by=actor.user, decided_at=timezone.now(), **fields
    )


@transaction.atomic
def do_withdraw_transfer(*, actor: Actor, transfer: DossierTransfer) -> None:
    locked = _locked_pending(transfer)
    _decide(locked, actor, status=DossierTransfer.Status.WITHDRAWN)


@transaction.atomic
def do_decline_transfer(
    *, actor: Actor, transfer: DossierTransfer, reason: str, note: str = ""
) -> None:
    locked = _locked_pending(transfer)
    if not reason:
        raise ValidationError({"reason": _("Choose the reason for declining.")})
    _decide(
        locked,
        actor,
        status=DossierTransfer.Status.DECLINED,
        decline_reason=reason,
        decline_note=note.strip(),
    )


def _settle_tasks(
    transfer: DossierTransfer, case: Case, actor: Actor, worker: User
) -> dict[str, list[int]]:
    """The sender's open tasks on the dossier: handed to the new responsible worker, or
    closed. Tasks of third parties (a partner's on a shared dossier) stay theirs."""
    open_tasks = Task.objects.filter(case=case, owner_id=transfer.owner_id, status=TaskStatus.OPEN)
    ids = sorted(open_tasks.values_list("pk", flat=True))
    if transfer.tasks == DossierTransfer.Tasks.HAND_OVER:
        open_tasks.update(owner_id=transfer.receiver_id, assigned_to=worker, assigned_role="")
        return {"tasks_handed_over": ids}
    open_tasks.update(
        status=TaskStatus.CANCELLED,
        closed_by=actor.user,
        closed_at=timezone.now(),
        closing_note=_("Closed when the dossier was transferred."),
    )
    return {"tasks_closed": ids}


def _settle_shares(transfer: DossierTransfer, case: Case, actor: Actor) -> dict[str, list[str]]:
    """Shares in force: kept (the new owner answers for them) or ended. A share with the
    receiving service ends in any case: it owns the dossier now."""
    active = Share.objects.active().filter(case=case, kind=Share.Kind.GRANT)
    to_end = active.filter(organisation_id=transfer.receiver_id)
    if transfer.shares == DossierTransfer.Shares.END:
        to_end = active
    ended = sorted(str(pk) for pk in to_end.values_list("pk", flat=True))
    to_end.update(revoked_at=timezone.now(), revoked_by=actor.user)
    kept_qs = active.exclude(pk__in=ended)
    kept = sorted(str(pk) for pk in kept_qs.values_list("pk", flat=True))
    kept_qs.update(owner_id=transfer.receiver_id)
    return {"shares_kept": kept, "shares_ended": ended}


@transaction.atomic
def do_accept_transfer(
    *, actor: Actor, transfer: DossierTransfer, responsible: User
) -> DossierTransfer:
    """All or nothing: the offer and the dossier are locked (in that order, as every writer
    of an offer does), so two acceptances at the same moment give one transfer."""
    locked = _locked_pending(transfer)
    case = Case.objects.select_for_update().get(pk=locked.case_id)
    if actor.organisation_id != locked.receiver_id:
        raise ValidationError(_("Only the receiving service can accept this offer."))
    if not case.is_open or case.owner_id != locked.owner_id:
        raise ValidationError(
            _("The dossier has changed since the offer: it cannot be taken over.")
        )
    today = timezone.localdate()
    if locked.cut_over_on > today:
        raise ValidationError(
            _("The offer can be accepted from the cut-over date on, %(date)s.")
            % {"date": f"{locked.cut_over_on:%d.%m.%Y}"}
        )
    if not workers_of(locked.receiver_id).filter(pk=responsible.pk).exists():
        raise ValidationError({"responsible": _("Choose a worker of your service.")})
    domain = case.domain
    if locked.kind == TransferKind.REFUGEE_TO_ORDINARY and domain == Domain.ASYLUM_AID:
        domain = Domain.ECONOMIC_AID
    settlement: dict[str, Any] = {
        "from": locked.owner_id,
        "to": locked.receiver_id,
        "kind": locked.kind,
        "sections_handed_over": [str(s) for s in Section],
        "former_owner_sections": FORMER_OWNER_SECTIONS,
        "domain": [case.domain, domain],
    }
    settlement |= _settle_tasks(locked, case, actor, responsible)
    settlement |= _settle_shares(locked, case, actor)
    # The sender's pending four-eyes proposals fall with its responsibility.
    SegmentProposal.objects.filter(case=case, owner_id=locked.owner_id).pending().update(
        status=SegmentProposal.Status.CANCELLED, decided_at=timezone.now()
    )
    Case.objects.filter(pk=case.pk).update(
        owner_id=locked.receiver_id,
        responsible=responsible,
        team=None,
        domain=domain,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    former = Share.objects.create(
        case=case,
        owner_id=locked.receiver_id,
        organisation_id=locked.owner_id,
        kind=Share.Kind.FORMER_OWNER,
        sections=FORMER_OWNER_SECTIONS,
        access=Share.Access.READ,
        basis=Share.Basis.LEGAL,
        reason=f"transfer {locked.pk}",
        period_until=locked.cut_over_on,
        valid_until=_years_after(locked.cut_over_on, FORMER_OWNER_YEARS),
        granted_by=actor.user,
    )
    settlement["former_owner_share"] = str(former.pk)
    _decide(
        locked,
        actor,
        status=DossierTransfer.Status.ACCEPTED,
        responsible=responsible,
        settlement=settlement,
    )
    case.refresh_from_db()
    _record(
        case,
        actor=actor,
        kind="handed_over",
        reason_key=TransitionText.HANDED_OVER,
        reason_params={
            "from_org": locked.owner.name,
            "to_org": locked.receiver.name,
            "transfer_kind": locked.kind,
            "cut_over": locked.cut_over_on.isoformat(),
            "worker": str(responsible),
        },
        on=locked.cut_over_on,
    )
    facts_changed([case.pk])
    locked.refresh_from_db()
    return locked


def log_offered(*, request: HttpRequest, actor: Actor, offer: DossierTransfer) -> None:
    """The security event of an offer (the page's and the API's)."""
    log_security_event(
        "transfer.offered",
        request=request,
        user=actor.user,
        transfer=str(offer.pk),
        case=str(offer.case_id),
        receiver=offer.receiver_id,
    )


def log_accepted(*, request: HttpRequest, actor: Actor, offer: DossierTransfer) -> None:
    """The security event of an acceptance, in both services' records."""
    for organisation_id in (offer.receiver_id, offer.owner_id):
        log_security_event(
            "transfer.accepted",
            request=request,
            user=actor.user,
            organisation_id=organisation_id,
            transfer=str(offer.pk),
            case=str(offer.case_id),
            sender=offer.owner_id,
            receiver=offer.receiver_id,
        )


def _years_after(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- The offers page and the cockpit panel (decision 0015: reach first, keyset, fixed count) ---

PAGE_SIZE = 25
PANEL_SIZE = 5
BOXES = ("received", "sent")


@dataclass
class TransferPage:
    rows: list[DossierTransfer]
    next_cursor: str | None


def parse_transfer_cursor(value: str) -> tuple[datetime.datetime, uuid.UUID] | None:
    """``"<ISO time>_<uuid>"`` as (time, id); None for anything this page did not write."""
    try:
        at, ident = value.rsplit("_", 1)
        parsed = datetime.datetime.fromisoformat(at), uuid.UUID(ident)
    except ValueError:
        return None
    if timezone.is_naive(parsed[0]):
        return None
    return parsed


def _with_shown(qs: QuerySet[DossierTransfer]) -> QuerySet[DossierTransfer]:
    return qs.select_related(
        "case", "case__client", "owner", "receiver", "offered_by", "responsible"
    )


def transfer_page(
    actor: Actor,
    *,
    box: str,
    cursor: tuple[datetime.datetime, uuid.UUID] | None,
    size: int = PAGE_SIZE,
) -> TransferPage:
    """The offers made to the actor's service (``received``) or by it (``sent``), newest
    first: one query on the organisation's index, what the rows show joined for the page."""
    qs = DossierTransfer.objects.all()
    qs = qs.sent_by(actor) if box == "sent" else qs.received_by(actor)
    if cursor:
        at, ident = cursor
        qs = qs.filter(offered_at__lte=at).exclude(offered_at=at, id__gte=ident)
    rows = list(_with_shown(qs).order_by("-offered_at", "-id")[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = f"{rows[-1].offered_at.isoformat()}_{rows[-1].pk}"
    return TransferPage(rows=rows, next_cursor=next_cursor)


@dataclass
class OffersPanel:
    rows: list[DossierTransfer]
    total: int


def offers_panel(actor: Actor) -> OffersPanel | None:
    """The cockpit's panel: the service's pending offers, oldest first, and their count, in
    one query (the count as a window over the pending offers' index)."""
    if not actor.may("case.transfer_decide"):
        return None
    rows: list[Any] = list(
        _with_shown(DossierTransfer.objects.received_by(actor).pending())
        .annotate(total=Window(Count("id")))
        .order_by("offered_at", "id")[:PANEL_SIZE]
    )
    return OffersPanel(rows=rows, total=rows[0].total if rows else 0)
