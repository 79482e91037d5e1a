"""The data protection officer's view of what happened to a dossier (X2, X6)."""

from __future__ import annotations

import datetime
import uuid

from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from filum.cases.models import Case
from filum.records.audit import BadCursor, Cursor, dossier_history
from filum.records.forms import AuditFilterForm, FindCaseForm
from filum.records.models import DENIAL, AuditVerification, SecurityEvent
from filum.records.permissions import get_audited_case_for_actor
from filum.tenancy.models import User
from filum.tenancy.policy import ActorRequest, requires


@requires("audit.read")
def audit_find(request: ActorRequest) -> HttpResponse:
    actor = request.actor
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
def audit_case(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    case = get_audited_case_for_actor(request=request, case_id=case_id)
    actor = request.actor
    # Only the DPO's own organisation: the filter must not list other services' staff.
    users = (
        User.objects.filter(memberships__organisation_id=actor.organisation_id)
        .distinct()
        .order_by("last_name", "first_name")
    )
    filters = request.GET.copy()
    bad_link = False
    try:
        cursor = Cursor.parse(filters.pop("before", [""])[-1])
    except BadCursor:
        cursor, bad_link = None, True
    form = AuditFilterForm(filters or None, users=users)
    rows = []
    first_query = filters.urlencode()
    next_query = ""
    if not bad_link and (not form.is_bound or form.is_valid()):
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
            "first_page": cursor is None and not bad_link,
            "bad_link": bad_link,
        },
        # an edited or cut-off page link: say so, and offer the newest entries (U4)
        status=400 if bad_link else 200,
    )


DENIALS_PAGE = 50


@requires("audit.read")
def audit_denials(request: ActorRequest) -> HttpResponse:
    """Refused requests for existing objects (R14): by the organisation's users, or for its
    objects by anyone. Newest first, paged by keyset (at, id)."""
    org_id = request.actor.organisation_id
    events = SecurityEvent.objects.filter(kind=DENIAL).filter(
        Q(organisation_id=org_id) | Q(detail__owner_id=org_id)
    )
    before = _denial_cursor(request.GET.get("before", ""))
    if before is not None:
        at, pk = before
        events = events.filter(Q(at__lt=at) | Q(at=at, id__lt=pk))
    rows = list(events.select_related("user").order_by("-at", "-id")[: DENIALS_PAGE + 1])
    next_cursor = None
    if len(rows) > DENIALS_PAGE:
        rows = rows[:DENIALS_PAGE]
        next_cursor = f"{rows[-1].at.isoformat()}_{rows[-1].pk}"
    labels = {
        "case": _("dossier"),
        "task": _("task"),
        "person": _("person"),
        "document": _("document"),
    }
    shown = [(event, labels.get(event.detail.get("object_type"), "")) for event in rows]
    context = {"rows": shown, "next_cursor": next_cursor}
    return render(request, "records/audit_denials.html", context)


def _denial_cursor(value: str) -> tuple[datetime.datetime, int] | None:
    try:
        at, pk = value.rsplit("_", 1)
        return datetime.datetime.fromisoformat(at), int(pk)
    except ValueError:
        return None
