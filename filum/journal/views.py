"""The journal of a dossier: contacts (latest versions), recording and correcting them, and the
service agreement (S6, S7, S9). Partners with a shared journal read or write it per the share."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.cases.permissions import get_case_for_actor
from filum.journal import services
from filum.journal.forms import ContactForm, CorrectionForm, ServiceAgreementForm
from filum.journal.models import Contact, ServiceAgreement
from filum.journal.permissions import get_contact_for_actor, journal_in_reach
from filum.journal.rendering import journal_entries
from filum.prepared import PreparedQuery
from filum.tenancy.policy import ActorRequest, Section, requires
from filum.web.forms import add_service_errors
from filum.web.once import once_per_token
from filum.web.paging import parse_date_cursor

PAGE_SIZE = 50
# The journal page shows the contacts and, to those who may read the core data, the dossier's
# stage, segment and traffic light.
JOURNAL_PAGE = (Section.JOURNAL, Section.CORE)
JOURNAL = (Section.JOURNAL,)


def _one_year_before(day: datetime.date) -> datetime.date:
    """The same day a year earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


# The journal's first page of a dossier's current owner or partner, the page most opened:
# ``journal_in_reach`` without a period, newest first (the other shapes are built each time).
_FIRST_PAGE = PreparedQuery(
    lambda case_id: (
        Contact.objects.visible()
        .filter(case_id=case_id)
        .select_related("topic", "recorded_by", "author_organisation")
        .order_by("-date", "-pk")[: PAGE_SIZE + 1]
    )
)


@requires("journal.read")
def journal_list(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    access = get_case_for_actor(
        request=request, case_id=case_id, need=Section.JOURNAL, reads=JOURNAL_PAGE
    )
    case = access.case
    contacts = journal_in_reach(access)  # a former owner: its own period (decision 0026)
    period = {"date__lt": access.period_until} if access.period_until else {}
    kind = request.GET.get("kind", "")
    if kind == "face_to_face":
        contacts = contacts.filter(is_face_to_face=True)
    elif kind == "not_counted":
        contacts = contacts.filter(counts=False)
    cursor = parse_date_cursor(request.GET.get("before", ""))
    if cursor:
        day, pk = cursor
        contacts = contacts.filter(date__lte=day).exclude(date=day, pk__gte=pk)
    if cursor or kind or access.period_until is not None:
        rows = list(
            contacts.select_related("topic", "recorded_by", "author_organisation").order_by(
                "-date", "-pk"
            )[: PAGE_SIZE + 1]
        )
    else:  # the page as it opens: the same query, prepared (U4, decision 0015)
        rows = _FIRST_PAGE.objects(case.pk)
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = f"{rows[-1].date.isoformat()}_{rows[-1].pk}"
    today = timezone.localdate()
    year_ago = _one_year_before(today)
    # the last 12 months' counts and the last face-to-face contact in one query (U4)
    last_year = Q(date__gt=year_ago)
    face = Q(is_face_to_face=True)
    summary = (
        Contact.objects.counted()
        .filter(case=case, date__lte=today, **period)
        .aggregate(
            total=Count("pk", filter=last_year),
            face_to_face=Count("pk", filter=last_year & face),
            last_face_to_face=Max("date", filter=face),
        )
    )
    can_write = access.can_write(Section.JOURNAL) and case.is_open
    context = {
        "case": case,
        "access": access,
        "contacts": rows,
        "entries": journal_entries(rows, case.pk, can_write),
        "next_cursor": next_cursor,
        "kind": kind,
        "summary": summary,
        "agreement": services.current_service_agreement(case),
        "can_write": can_write,
        "period_until": access.period_until,
    }
    return render(request, "journal/journal_list.html", context)


@requires("journal.write")
@once_per_token
def contact_create(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = get_case_for_actor(request=request, case_id=case_id, need=Section.JOURNAL, write=True)
    case = access.case
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.do_record_contact(
                actor=actor,
                case=case,
                kind=data["kind"],
                date=data["date"],
                topic=data["topic"],
                participants=data["participants"],
                duration_minutes=data["duration_minutes"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The contact was recorded."))
            return redirect("journal_list", case_id=case.pk)
    return render(
        request, "journal/contact_form.html", {"case": case, "form": form, "contact": None}
    )


@requires("journal.write")
def contact_correct(request: ActorRequest, case_id: uuid.UUID, contact_id: int) -> HttpResponse:
    """A correction is a new version; the previous text stays in the history (X2)."""
    actor = request.actor
    contact, access = get_contact_for_actor(
        request=request, case_id=case_id, contact_id=contact_id, write=True, reads=JOURNAL
    )
    case = access.case
    if not contact.is_current or contact.is_retracted:
        messages.info(request, _("This entry was corrected in the meantime; here is its history."))
        return redirect("contact_history", case_id=case.pk, contact_id=contact.pk)
    form = CorrectionForm(request.POST or None, initial=ContactForm.initial_from(contact))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.do_correct_contact(
                actor=actor,
                contact=contact,
                reason=data["correction_reason"],
                kind=data["kind"],
                date=data["date"],
                topic=data["topic"],
                participants=data["participants"],
                duration_minutes=data["duration_minutes"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The correction was saved; the previous version stays in the history.")
            )
            return redirect("journal_list", case_id=case.pk)
    return render(
        request, "journal/contact_form.html", {"case": case, "form": form, "contact": contact}
    )


@requires("journal.read")
def contact_history(request: ActorRequest, case_id: uuid.UUID, contact_id: int) -> HttpResponse:
    """Every version of an entry, newest first: the latest one and those it corrected."""
    contact, access = get_contact_for_actor(
        request=request, case_id=case_id, contact_id=contact_id, reads=JOURNAL
    )
    case = access.case
    # Start from the latest version of the chain this entry belongs to.
    latest = contact
    while latest.superseded_at is not None:
        following = (
            Contact.objects.filter(supersedes_id=latest.pk)
            .select_related("topic", "recorded_by")
            .first()
        )
        if following is None:
            break
        latest = following
    versions = services.contact_versions(latest)
    return render(
        request,
        "journal/contact_history.html",
        {
            "case": case,
            "versions": versions,
            "latest": latest,
            "can_write": access.can_write(Section.JOURNAL),
        },
    )


@requires("journal.write")
def service_agreement(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """Record the service agreement of the dossier, or why there is none (S9)."""
    actor = request.actor
    access = get_case_for_actor(
        request=request, case_id=case_id, need=Section.JOURNAL, write=True, reads=[Section.JOURNAL]
    )
    case = access.case
    current = services.current_service_agreement(case)
    initial: dict[str, Any] = {}
    if current is not None:
        initial = {
            "has_agreement": "yes" if current.exists else "no",
            "signed_on": current.signed_on,
            "valid_until": current.valid_until,
            "summary": current.summary,
            "no_agreement_reason": current.no_agreement_reason,
        }
    form = ServiceAgreementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["has_agreement"]:
                services.do_record_service_agreement(
                    actor=actor,
                    case=case,
                    signed_on=data["signed_on"],
                    summary=data["summary"],
                    valid_until=data["valid_until"],
                )
            else:
                services.do_record_no_service_agreement(
                    actor=actor, case=case, reason=data["no_agreement_reason"]
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The service agreement was recorded."))
            return redirect("journal_list", case_id=case.pk)
    history = list(ServiceAgreement.objects.filter(case=case).select_related("recorded_by")[:20])
    return render(
        request, "journal/service_agreement.html", {"case": case, "form": form, "history": history}
    )
