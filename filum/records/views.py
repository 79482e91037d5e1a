"""The data protection officer's view of what happened to a dossier (X2, X6)."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from filum.cases.models import Case
from filum.records.audit import Cursor, dossier_history
from filum.records.forms import AuditFilterForm, FindCaseForm
from filum.records.models import AuditVerification
from filum.tenancy.models import User
from filum.tenancy.policy import Actor, requires


def get_case_for_audit(*, actor: Actor, case_id: uuid.UUID) -> Case:
    """Dossiers of the actor's own organisation; anything else answers 404."""
    case = (
        Case.objects.select_related("client")
        .filter(pk=case_id, owner_id=actor.organisation_id)
        .first()
    )
    if case is None:
        raise Http404
    return case


@requires("audit.read")
def audit_find(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    form = FindCaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        case = Case.objects.filter(
            number=form.cleaned_data["number"], owner_id=actor.organisation_id
        ).first()
        if case is not None:
            return redirect("audit_case", case_id=case.pk)
        form.add_error("number", _("No dossier of your organisation has this number."))
    # the whole installation's audit, not one organisation's: only when and whether intact
    last_verification = AuditVerification.objects.only(
        "finished_at", "intact", "rows_checked", "problem"
    ).first()
    return render(
        request,
        "records/audit_find.html",
        {"form": form, "last_verification": last_verification},
    )


@requires("audit.read")
def audit_case(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    case = get_case_for_audit(actor=actor, case_id=case_id)
    # Only the DPO's own organisation: the filter must not list other services' staff.
    users = (
        User.objects.filter(memberships__organisation_id=actor.organisation_id)
        .distinct()
        .order_by("last_name", "first_name")
    )
    filters = request.GET.copy()
    cursor = Cursor.parse(filters.pop("before", [""])[-1])
    form = AuditFilterForm(filters or None, users=users)
    rows = []
    first_query = filters.urlencode()
    next_query = ""
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        page = dossier_history(
            case,
            user_id=data["user"].pk if data.get("user") else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            cursor=cursor,
        )
        rows = page.rows
        if page.next_cursor is not None:
            filters["before"] = str(page.next_cursor)
            next_query = filters.urlencode()
    return render(
        request,
        "records/audit_case.html",
        {
            "case": case,
            "rows": rows,
            "form": form,
            "first_query": first_query,
            "next_query": next_query,
            "first_page": cursor is None,
        },
    )
