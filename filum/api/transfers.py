"""Dossier transfers through the API (P3, P4; decisions 0026 and 0028): the offers list, one
offer, and the four steps, through the same doors and the same functions as the pages
(``filum.cases.transfers``). A token acts as its organisation's API role, which may offer its
organisation's dossiers and decide the offers made to it, as a section head does.

A step the offer's state refuses (decided or withdrawn meanwhile, the dossier closed or changed,
the cut-over date still ahead, an offer already pending) is a 409 problem; a field the step
refuses is a 422 problem; the messages are in the token's language (its organisation's)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from pydantic import Field

from filum.api import schemas as s
from filum.api.auth import TokenAuth, actor_of
from filum.api.paging import TIME, UUID, Key, Paging, make_cursor, read_cursor
from filum.api.problems import Problem
from filum.cases import transfers
from filum.cases.models import DossierTransfer
from filum.cases.permissions import get_case_for_actor, get_transfer_for_actor
from filum.tenancy.models import Organisation, User
from filum.tenancy.policy import Actor, Section

router = Router()

TRANSFER_KEYS = (Key("-offered_at", TIME), Key("-id", UUID))
ERRORS = {code: s.ProblemOut for code in (400, 401, 403, 404, 409, 422, 429)}
# the domain's field names as the API's bodies name them
FIELDS = {"receiver": "receiver_id", "responsible": "responsible_id"}


def _answers(ok: Any, code: int = 200) -> dict[int, Any]:
    return {code: ok, **ERRORS}


class TransferFilter(Paging):
    box: Literal["received", "sent"] = Field(
        default="received", description="offers made to the organisation, or by it"
    )


def _transfer(offer: DossierTransfer, case_number: int) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "case_id": offer.case_id,
        "case_number": case_number,
        "owner_id": offer.owner_id,
        "receiver_id": offer.receiver_id,
        "kind": offer.kind,
        "note": offer.note,
        "cut_over_on": offer.cut_over_on,
        "tasks": offer.tasks,
        "shares": offer.shares,
        "status": offer.status,
        "offered_at": offer.offered_at,
        "decided_at": offer.decided_at,
        "responsible_id": offer.responsible_id,
        "decline_reason": offer.decline_reason,
        "decline_note": offer.decline_note,
    }


def _refused(exc: ValidationError) -> Problem:
    """The domain's refusal as a problem: field errors 422, the offer's state 409."""
    if hasattr(exc, "error_dict"):
        errors = [
            {"loc": ["body", FIELDS.get(field, field)], "msg": str(message)}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        return Problem(422, _("Nothing was changed."), kind="invalid-input", errors=errors)
    return Problem(409, " ".join(exc.messages), kind="conflict")


@contextmanager
def _refusals(actor: Actor) -> Iterator[None]:
    """Run a step in the token's language, its refusals turned into problems."""
    with translation.override(actor.user.language):
        try:
            yield
        except ValidationError as exc:
            raise _refused(exc) from exc


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        _("Nothing was changed."),
        kind="invalid-input",
        errors=[{"loc": ["body", field], "msg": message}],
    )


@router.get(
    "/transfers",
    response=_answers(s.TransferPage),
    auth=TokenAuth("transfers:read"),
    url_name="api_transfers",
    operation_id="list_transfers",
)
def list_transfers(request: HttpRequest, filters: Query[TransferFilter]) -> Any:
    """The offers made to the organisation (``box=received``, to decide) or by it
    (``box=sent``), newest first: the offers page's list."""
    actor = actor_of(request, "case.transfer_decide")
    key = read_cursor(filters.cursor, TRANSFER_KEYS)
    page = transfers.transfer_page(
        actor,
        box=filters.box,
        cursor=(key[0], key[1]) if key else None,
        size=filters.limit,
    )
    last = page.rows[-1] if page.next_cursor else None
    return {
        "items": [_transfer(t, t.case.number) for t in page.rows],
        "next_cursor": make_cursor([last.offered_at.isoformat(), last.pk]) if last else None,
    }


@router.get(
    "/transfers/{transfer_id}",
    response=_answers(s.TransferOut),
    auth=TokenAuth("transfers:read"),
    url_name="api_transfer",
    operation_id="get_transfer",
)
def get_transfer(request: HttpRequest, transfer_id: uuid.UUID) -> Any:
    """An offer made to the organisation or by it."""
    actor_of(request, "case.transfer_decide")
    offer = get_transfer_for_actor(request=request, transfer_id=transfer_id, side="either")  # type: ignore[arg-type]
    return _transfer(offer, offer.case.number)


@router.post(
    "/cases/{case_id}/transfers",
    response=_answers(s.TransferOut, 201),
    auth=TokenAuth("transfers:write"),
    url_name="api_transfer_offer",
    operation_id="offer_transfer",
)
def offer_transfer(request: HttpRequest, case_id: uuid.UUID, body: s.TransferOfferIn) -> Any:
    """Offer an open dossier of the organisation to the service that becomes competent, with
    the note, the cut-over date and what becomes of the open tasks and the shares in force.
    The receiving service accepts or declines it; until then the dossier stays here."""
    actor = actor_of(request, "case.transfer_offer")
    access = get_case_for_actor(
        request=request,  # type: ignore[arg-type]
        case_id=case_id,
        need=Section.CORE,
        reads=[Section.CORE],
        action="case.transfer_offer",
    )
    with _refusals(actor):
        receiver = Organisation.objects.filter(pk=body.receiver_id).first()
        if receiver is None:
            raise _invalid(
                "receiver_id", _("This dossier cannot be transferred to that organisation.")
            )
        offer = transfers.do_offer_transfer(
            actor=actor,
            case=access.case,
            receiver=receiver,
            kind=body.kind,
            note=body.note,
            cut_over_on=body.cut_over_on,
            tasks=body.tasks,
            shares=body.shares,
        )
    transfers.log_offered(request=request, actor=actor, offer=offer)
    return Status(201, _transfer(offer, access.case.number))


@router.post(
    "/transfers/{transfer_id}/accept",
    response=_answers(s.TransferOut),
    auth=TokenAuth("transfers:write"),
    url_name="api_transfer_accept",
    operation_id="accept_transfer",
)
def accept_transfer(request: HttpRequest, transfer_id: uuid.UUID, body: s.TransferAcceptIn) -> Any:
    """Take the dossier over from the cut-over date on, with a worker of the organisation as
    responsible: all or nothing, once (a second acceptance is a 409)."""
    actor = actor_of(request, "case.transfer_decide")
    offer = get_transfer_for_actor(request=request, transfer_id=transfer_id, side="receiver")  # type: ignore[arg-type]
    with _refusals(actor):
        responsible = User.objects.filter(pk=body.responsible_id).first()
        if responsible is None:
            raise _invalid("responsible_id", _("Choose a worker of your service."))
        accepted = transfers.do_accept_transfer(
            actor=actor, transfer=offer, responsible=responsible
        )
    transfers.log_accepted(request=request, actor=actor, offer=accepted)
    return _transfer(accepted, offer.case.number)


@router.post(
    "/transfers/{transfer_id}/decline",
    response=_answers(s.TransferOut),
    auth=TokenAuth("transfers:write"),
    url_name="api_transfer_decline",
    operation_id="decline_transfer",
)
def decline_transfer(
    request: HttpRequest, transfer_id: uuid.UUID, body: s.TransferDeclineIn
) -> Any:
    """Decline an offer made to the organisation, with the reason: the dossier stays with
    the sending service."""
    actor = actor_of(request, "case.transfer_decide")
    offer = get_transfer_for_actor(request=request, transfer_id=transfer_id, side="receiver")  # type: ignore[arg-type]
    with _refusals(actor):
        transfers.do_decline_transfer(
            actor=actor, transfer=offer, reason=body.reason, note=body.note
        )
    offer.refresh_from_db()
    return _transfer(offer, offer.case.number)


@router.post(
    "/transfers/{transfer_id}/withdraw",
    response=_answers(s.TransferOut),
    auth=TokenAuth("transfers:write"),
    url_name="api_transfer_withdraw",
    operation_id="withdraw_transfer",
)
def withdraw_transfer(request: HttpRequest, transfer_id: uuid.UUID) -> Any:
    """Withdraw an offer the organisation made while it is pending."""
    actor = actor_of(request, "case.transfer_offer")
    offer = get_transfer_for_actor(request=request, transfer_id=transfer_id, side="sender")  # type: ignore[arg-type]
    with _refusals(actor):
        transfers.do_withdraw_transfer(actor=actor, transfer=offer)
    offer.refresh_from_db()
    return _transfer(offer, offer.case.number)
