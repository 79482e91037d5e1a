"""Subject access pages (nFADP art. 25, decision 0037): find the person, choose the format,
receive the export."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from filum.people.forms import DateInput
from filum.people.models import Person, PersonReach, clean_ahv_number
from filum.records.subject_access import (
    Subject,
    dossiers_in_reach,
    get_subject_for_actor,
    json_stream,
    pdf_context,
)
from filum.tenancy.policy import ActorRequest, requires
from filum.web.pdf import render_pdf

FORMATS = (("pdf", _("PDF, to print or send")), ("json", _("JSON, machine-readable")))


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=FORMATS, widget=forms.RadioSelect)
    language = forms.ChoiceField(label=_("Language of the export"), choices=settings.LANGUAGES)


class FindSubjectForm(forms.Form):
    ahv_number = forms.CharField(label=_("AHV number"), max_length=16, required=False)
    last_name = forms.CharField(label=_("last name"), max_length=100, required=False)
    first_name = forms.CharField(label=_("first name"), max_length=100, required=False)
    birth_date = forms.DateField(label=_("birth date"), required=False, widget=DateInput())

    def clean_ahv_number(self) -> str:
        value: str = self.cleaned_data["ahv_number"].strip()
        return clean_ahv_number(value) if value else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        named = data.get("last_name") and data.get("first_name") and data.get("birth_date")
        if not data.get("ahv_number") and not named and not self.errors:
            raise forms.ValidationError(
                _("Enter the AHV number, or the last name, first name and birth date.")
            )
        return data


def _in_reach(request: ActorRequest, person: Person) -> bool:
    org_id = request.actor.organisation_id
    if PersonReach.objects.filter(organisation_id=org_id, person_id=person.pk).exists():
        return True
    return bool(dossiers_in_reach(request.actor, person))


@requires("subject.access")
def subject_access_find(request: ActorRequest) -> HttpResponse:
    """Find the person who asks, by an exact identification: the AHV number, or the name and
    the birth date. Only persons in the organisation's reach are found."""
    form = FindSubjectForm(request.POST or None)
    found: list[Person] = []
    searched = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["ahv_number"]:
            people = Person.objects.filter(ahv_number=data["ahv_number"])
        else:
            people = Person.objects.filter(
                Q(last_name__iexact=data["last_name"].strip())
                & Q(first_name__iexact=data["first_name"].strip())
                & Q(birth_date=data["birth_date"])
            )
        found = [
            p
            for p in people.order_by("last_name", "first_name", "pk")[:20]
            if _in_reach(request, p)
        ]
        searched = True
        if len(found) == 1:
            return redirect("subject_access", person_id=found[0].pk)
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render(
        request,
        "records/subject_access_find.html",
        {"form": form, "found": found, "searched": searched},
        status=status,
    )


@requires("subject.access")
def subject_access(request: ActorRequest, person_id: uuid.UUID) -> HttpResponse:
    """Choose the format and the language; the export itself is a POST (it is logged)."""
    if request.method != "POST":
        subject = get_subject_for_actor(request=request, person_id=person_id)
        form = ExportForm(initial={"format": "pdf", "language": translation.get_language()})
        return _page(request, subject, form, 200)
    form = ExportForm(request.POST)
    if not form.is_valid():
        subject = get_subject_for_actor(request=request, person_id=person_id)
        return _page(request, subject, form, 400)
    chosen = form.cleaned_data["format"]
    language = form.cleaned_data["language"]
    subject = get_subject_for_actor(request=request, person_id=person_id, export=chosen)
    name = f"subject-access-{subject.person.last_name}-{subject.person.pk.hex[:8]}"
    response: HttpResponse | StreamingHttpResponse
    if chosen == "json":
        stream = json_stream(subject, actor=request.actor, language=language)
        response = StreamingHttpResponse(stream, content_type="application/json")
        response["Content-Disposition"] = content_disposition_header(True, f"{name}.json") or ""
    else:
        with translation.override(language):
            context = pdf_context(subject, actor=request.actor)
            pdf = render_pdf(None, "records/subject_access_pdf.html", context)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(True, f"{name}.pdf") or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response  # type: ignore[return-value]


def _page(request: ActorRequest, subject: Subject, form: ExportForm, status: int) -> HttpResponse:
    return render(
        request,
        "records/subject_access.html",
        {"subject": subject, "form": form},
        status=status,
    )
