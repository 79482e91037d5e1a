"""Dossier transfer between services (P3, P4; decision 0026): the sending service offers, the
receiving one accepts (choosing the responsible worker) or declines, the sender may withdraw."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.cases import transfers
from filum.cases.forms import TransferAcceptForm, TransferDeclineForm, TransferOfferForm
from filum.cases.models import Share
from filum.cases.permissions import get_case_for_actor, get_transfer_for_actor
from filum.followup.models import Task, TaskStatus
from filum.tenancy.policy import ActorRequest, Section, requires
from filum.web.forms import add_service_errors
from filum.web.once import once_per_token


@requires("case.transfer_offer")
@once_per_token
def transfer_offer(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """Offer an open dossier to another service, with a note and a cut-over date; the form
    shows the open tasks and the shares in force that the offer settles."""
    actor = request.actor
    access = get_case_for_actor(
        request=request,
        case_id=case_id,
        need=Section.CORE,
        reads=["core"],
        action="case.transfer_offer",
    )
    case = access.case
    form = TransferOfferForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            offer = transfers.do_offer_transfer(actor=actor, case=case, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            transfers.log_offered(request=request, actor=actor, offer=offer)
            messages.success(
                request,
                _("The dossier was offered to %(organisation)s.")
                % {"organisation": offer.receiver.name},
            )
            return redirect("transfer_list")
    context = {
        "case": case,
        "form": form,
        "open_tasks": Task.objects.filter(
            case=case, owner_id=case.owner_id, status=TaskStatus.OPEN
        ).count(),
        "active_shares": list(
            Share.objects.active()
            .filter(case=case, kind=Share.Kind.GRANT)
            .select_related("organisation")
        ),
    }
    return render(request, "cases/transfer_offer.html", context)


@requires("case.transfer_decide")
def transfer_list(request: ActorRequest) -> HttpResponse:
    """The offers made to the service (to decide) and by it, newest first, keyset-paged."""
    box = request.GET.get("box", "received")
    if box not in transfers.BOXES:
        box = "received"
    cursor = transfers.parse_transfer_cursor(request.GET.get("after", ""))
    page = transfers.transfer_page(request.actor, box=box, cursor=cursor)
    context = {
        "rows": page.rows,
        "next_cursor": page.next_cursor,
        "box": box,
        "today": timezone.localdate(),
        "may_offer": request.actor.may("case.transfer_offer"),
    }
    return render(request, "cases/transfer_list.html", context)


@requires("case.transfer_decide")
@once_per_token
def transfer_accept(request: ActorRequest, transfer_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    offer = get_transfer_for_actor(request=request, transfer_id=transfer_id, side="receiver")
    form = TransferAcceptForm(request.POST or None, organisation_id=actor.organisation_id)
    if request.method == "POST" and form.is_valid():
        try:
            transfers.do_accept_transfer(
                actor=actor, transfer=offer, responsible=form.cleaned_data["responsible"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            transfers.log_accepted(request=request, actor=actor, offer=offer)
            messages.success(request, _("The dossier is now held by your service."))
            return redirect("case_detail", case_id=offer.case_id)
    context = {"offer": offer, "form": form, "today": timezone.localdate()}
    return render(request, "cases/transfer_accept.html", context)


@requires("case.transfer_decide")
@once_per_token
def transfer_decline(request: ActorRequest, transfer_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    offer = get_transfer_for_actor(request=request, transfer_id=transfer_id, side="receiver")
    form = TransferDeclineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            transfers.do_decline_transfer(actor=actor, transfer=offer, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The offer was declined. The dossier stays where it was."))
            return redirect("transfer_list")
    return render(request, "cases/transfer_decline.html", {"offer": offer, "form": form})


@requires("case.transfer_offer")
@require_POST
def transfer_withdraw(request: ActorRequest, transfer_id: uuid.UUID) -> HttpResponse:
    offer = get_transfer_for_actor(request=request, transfer_id=transfer_id, side="sender")
    try:
        transfers.do_withdraw_transfer(actor=request.actor, transfer=offer)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The offer was withdrawn."))
    return redirect(f"{reverse('transfer_list')}?box=sent")
