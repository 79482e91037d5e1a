"""The super-user's retention page (M3, decision 0036): the dossiers past their retention, the
archive offers waiting for approval, a preview of a disposal (a dry run), approval, legal
holds, and the record of what was disposed of. It shows numbers, kinds and dates only: no
dossier content, so no read is logged."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filum.cases.models import Case
from filum.records.receipts import RECEIPT_MAX_BYTES, ReceiptRefused, record_receipt
from filum.records.retention import (
    REFUSALS,
    DisposalRefused,
    Key,
    dispose,
    dispose_many,
    due_cases,
    due_dossiers,
    rules_by_domain,
)
from filum.records.retention_models import (
    ArchiveDecision,
    ArchiveOffer,
    DisposalRecord,
    LegalHold,
)
from filum.records.services import refuse
from filum.tenancy.policy import ActorRequest, requires

PAGE = 100
RECORDS = 20


class DossierForm(forms.Form):
    case = forms.UUIDField()


class HoldForm(DossierForm):
    reason = forms.CharField(label=gettext_lazy("Reason for the hold"), max_length=300)


class ReceiptForm(DossierForm):
    decision = forms.ChoiceField(choices=ArchiveDecision.choices)
    reference = forms.CharField(required=False, max_length=100)
    sha256 = forms.CharField(required=False, max_length=100)
    receipt = forms.FileField(required=False)


def _after(value: str) -> Key | None:
    """The keyset of the next page: ``<closure date>_<number>``; anything else is page one."""
    day, _sep, number = value.partition("_")
    try:
        return (datetime.date.fromisoformat(day), int(number))
    except ValueError:
        return None


def _own_case(request: ActorRequest, case_id: uuid.UUID) -> Case:
    """A dossier of the super-user's organisation; anything else answers 404."""
    case = Case.objects.select_related("owner").filter(pk=case_id).first()
    if case is None or case.owner_id != request.actor.organisation_id:
        refuse(request, "case", case_id, owner_id=case.owner_id if case else None)
    return case


@requires("records.dispose")
def disposal_list(request: ActorRequest) -> HttpResponse:
    organisation = request.actor.organisation
    today = timezone.localdate()
    preview: dict[str, Any] | None = None
    wanted = request.GET.get("preview", "")
    if wanted:
        try:
            case = _own_case(request, uuid.UUID(wanted))
        except ValueError:
            case = refuse(request, "case", wanted)
        try:
            outcome = dispose(case.pk, approved_by=request.actor.user, today=today, dry_run=True)
        except DisposalRefused as refused:
            preview = {"case": case, "refused": refused.message}
        else:
            preview = {
                "case": case,
                "counts": sorted(outcome.counts.items()),
                "persons": outcome.persons_disposed,
                "kept": outcome.persons_kept,
            }
    after = _after(request.GET.get("after", ""))
    rules = rules_by_domain(organisation.canton)
    rows = due_dossiers(organisation, today, limit=PAGE + 1, after=after, rules=rules)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    last = rows[-1].case if rows and more else None
    context = {
        "rows": rows,
        "total": due_cases(organisation, today, rules).count(),
        "page": PAGE,
        "paged": after is not None,
        "next": f"{last.closed_on:%Y-%m-%d}_{last.number}" if last else "",
        "decisions": ArchiveDecision.choices,
        "preview": preview,
        "hold_form": HoldForm(),
        "records": DisposalRecord.objects.filter(organisation=organisation).select_related(
            "approved_by"
        )[:RECORDS],
    }
    return render(request, "records/disposal_list.html", context)


def _posted_case(request: ActorRequest, form: forms.Form) -> Case | None:
    if not form.is_valid():
        return None
    return _own_case(request, form.cleaned_data["case"])


@requires("records.dispose")
def disposal_approve(request: ActorRequest) -> HttpResponse:
    """Approve the disposal of one or more dossiers (each all or nothing, the next going on
    after a refusal or a failure)."""
    if request.method != "POST":
        return HttpResponse(status=405)
    ids = []
    for value in request.POST.getlist("case"):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            refuse(request, "case", value[:64])
    if not ids:
        messages.error(request, _("Choose a dossier."))
        return redirect("disposal_list")
    cases = {case_id: _own_case(request, case_id) for case_id in ids}
    done, failed = dispose_many(list(cases), approved_by=request.actor.user)
    for outcome in done:
        if outcome.record is not None:
            reference = f"D-{outcome.record.case_number:07d}"
            messages.success(request, _("%(dossier)s was disposed of.") % {"dossier": reference})
    for case_id, message in failed:
        messages.error(request, f"{cases[case_id].reference}: {message}")
    return redirect("disposal_list")


@requires("records.dispose")
def disposal_hold(request: ActorRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    form = HoldForm(request.POST)
    case = _posted_case(request, form)
    if case is None:
        messages.error(request, _("Choose a dossier and give the reason for the hold."))
        return redirect("disposal_list")
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()
        if LegalHold.objects.filter(case=case, lifted_at__isnull=True).exists():
            messages.error(
                request, _("%(dossier)s is already under legal hold.") % {"dossier": case.reference}
            )
        else:
            LegalHold.objects.create(
                case=case, reason=form.cleaned_data["reason"], set_by=request.actor.user
            )
            messages.success(
                request, _("%(dossier)s is under legal hold.") % {"dossier": case.reference}
            )
    return redirect("disposal_list")


@requires("records.dispose")
def disposal_lift(request: ActorRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    case = _posted_case(request, DossierForm(request.POST))
    if case is None:
        messages.error(request, _("Choose a dossier."))
        return redirect("disposal_list")
    lifted = LegalHold.objects.filter(case=case, lifted_at__isnull=True).update(
        lifted_by=request.actor.user, lifted_at=timezone.now()
    )
    if lifted:
        messages.success(
            request, _("The legal hold on %(dossier)s is lifted.") % {"dossier": case.reference}
        )
    else:
        messages.error(
            request, _("%(dossier)s is not under legal hold.") % {"dossier": case.reference}
        )
    return redirect("disposal_list")


@requires("records.dispose")
def disposal_receipt(request: ActorRequest) -> HttpResponse:
    """Record the archive's answer to an offered package (taken with its reference, or
    declined), with the checksum it received or its receipt file; refused, nothing is kept."""
    if request.method != "POST":
        return HttpResponse(status=405)
    form = ReceiptForm(request.POST, request.FILES)
    case = _posted_case(request, DossierForm(request.POST))
    if case is None:
        messages.error(request, _("Choose a dossier."))
        return redirect("disposal_list")
    offer = ArchiveOffer.objects.filter(case=case).first()
    if offer is None:
        messages.error(request, f"{case.reference}: {REFUSALS['not_offered']}")
        return redirect("disposal_list")
    if not form.is_valid():
        fields = ("decision", "decision"), ("receipt", "file"), ("reference", "reference")
        code = next((code for name, code in fields if name in form.errors), "no_checksum")
        messages.error(request, f"{case.reference}: {ReceiptRefused(code).message}")
        return redirect("disposal_list")
    upload = form.cleaned_data["receipt"]
    data = None
    if upload is not None:
        if upload.size > RECEIPT_MAX_BYTES:
            messages.error(request, f"{case.reference}: {ReceiptRefused('file').message}")
            return redirect("disposal_list")
        data = upload.read()
    try:
        receipt = record_receipt(
            offer,
            decision=form.cleaned_data["decision"],
            reference=form.cleaned_data["reference"],
            sha256=form.cleaned_data["sha256"],
            file=data,
            file_name=upload.name if upload is not None else "",
            entered_by=request.actor.user,
        )
    except ReceiptRefused as refused:
        messages.error(request, f"{case.reference}: {refused.message}")
        return redirect("disposal_list")
    if receipt.decision == ArchiveDecision.TAKEN:
        text = _(
            "The archive took the package of %(dossier)s (%(reference)s): its disposal can be "
            "approved."
        )
    else:
        text = _("The archive declined the package of %(dossier)s: its disposal can be approved.")
    messages.success(request, text % {"dossier": case.reference, "reference": receipt.reference})
    return redirect("disposal_list")
