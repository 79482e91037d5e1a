"""Person search (with duplicate hints), creation, detail and editing."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.cases.models import Case
from filum.cii.permissions import may_open_cii_case
from filum.exchange import ech0044
from filum.people import services
from filum.people.forms import DuplicateCheckForm, Ech0044UploadForm, PersonForm, PersonSearchForm
from filum.people.models import format_ahv_number
from filum.people.permissions import get_person_for_actor
from filum.people.search import find_candidates, search_visible
from filum.plans.models import Plan
from filum.records.models import ReadKind
from filum.records.services import log_read
from filum.tenancy.policy import ActorRequest, Section, requires
from filum.web.once import once_per_token


@requires("person.search")
def person_search(request: ActorRequest) -> HttpResponse:
    """Names travel in the POST body, never in the URL (R32)."""
    actor = request.actor
    form = PersonSearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = search_visible(actor=actor, text=form.cleaned_data["q"])
    template = "people/_results.html" if request.htmx else "people/search.html"
    return render(request, template, {"form": form, "results": results})


@requires("person.create")
@require_POST
def person_duplicates(request: ActorRequest) -> HttpResponse:
    """htmx: the duplicate hints shown while the new person's data is typed."""
    form = DuplicateCheckForm(request.POST)
    candidates = []
    if form.is_valid():
        candidates = find_candidates(actor=request.actor, **form.cleaned_data)
    return render(request, "people/_duplicates.html", {"candidates": candidates, "form": form})


@requires("person.create")
@once_per_token
def person_create(request: ActorRequest) -> HttpResponse:
    actor = request.actor
    form = PersonForm(request.POST or None)
    candidates = []
    then = request.POST.get("then", "person")
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        candidates = find_candidates(
            actor=actor,
            last_name=data["last_name"],
            first_name=data["first_name"],
            birth_date=data.get("birth_date"),
            ahv_number=data.get("ahv_number") or "",
        )
        if not candidates or request.POST.get("confirm_new") == "1":
            person = services.do_create_person(actor=actor, data=data)
            if then == "case" and actor.may("case.create"):
                # the most frequent intake task goes on to the dossier without a detour (P1)
                messages.success(request, _("The person was registered. Now open their dossier."))
                return redirect("case_create", person_id=person.pk)
            messages.success(request, _("The person was registered."))
            return redirect("person_detail", person_id=person.pk)
        messages.warning(
            request,
            _("Similar persons are already registered. Check them before creating a new record."),
        )
    context = {
        "form": form,
        "candidates": candidates,
        "then": then,
        "may_open_case": actor.may("case.create"),
        "upload": Ech0044UploadForm(),
    }
    return render(request, "people/person_form.html", context)


@requires("person.create")
@require_POST
def person_import_ech0044(request: ActorRequest) -> HttpResponse:
    """Read a person's eCH-0044 identification into the registration form (X7). Nothing is
    stored: the worker checks the form, sees the duplicate hints and registers as usual."""
    upload = Ech0044UploadForm(request.POST, request.FILES)
    form = PersonForm()
    if upload.is_valid():
        try:
            identification = ech0044.from_xml(
                upload.cleaned_data["file"].read(ech0044.MAX_BYTES + 1)
            )
        except ValidationError as exc:
            upload.add_error("file", exc)
        else:
            fields = identification.person_fields()
            if fields["ahv_number"]:
                fields["ahv_number"] = format_ahv_number(str(fields["ahv_number"]))
            form = PersonForm(initial=fields)
            local = identification.local_id
            messages.info(
                request,
                _(
                    "The form was filled in from the file (%(category)s %(id)s): "
                    "check it, then register."
                )
                % {"category": local.category, "id": local.id},
            )
    context = {
        "form": form,
        "candidates": [],
        "then": "person",
        "may_open_case": request.actor.may("case.create"),
        "upload": upload,
    }
    return render(
        request,
        "people/person_form.html",
        context,
        status=200 if upload.is_valid() and not upload.errors else 400,
    )


@requires("core.read")
def person_ech0044(request: ActorRequest, person_id: uuid.UUID) -> HttpResponse:
    """The person's eCH-0044 identification as an XML download, logged as an export."""
    person = get_person_for_actor(request=request, person_id=person_id)
    try:
        identification = ech0044.identification_of(person)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("person_detail", person_id=person.pk)
    log_read(
        actor=request.actor,
        person_id=person.pk,
        sections=[Section.CORE],
        kind=ReadKind.EXPORT,
        path=request.path,
    )
    response = HttpResponse(ech0044.to_xml(identification), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="eCH-0044-{person.pk}.xml"'
    return response


@requires("core.read")
def person_detail(request: ActorRequest, person_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    person = get_person_for_actor(request=request, person_id=person_id, reads=[Section.CORE])
    plan_readable = Case.objects.visible_to(actor, section=Section.PLAN).values("pk")
    cases = list(
        Case.objects.visible_to(actor, section=Section.CORE)
        .filter(client=person)
        .annotate(
            has_timeline=Exists(
                Plan.objects.filter(case_id=OuterRef("pk"), case_id__in=plan_readable)
            )
        )
        .select_related("owner", "responsible")
        .order_by("-opened_on")[:50]
    )
    units = list(
        person.unit_memberships.select_related("unit").prefetch_related("unit__members__person")[
            :10
        ]
    )
    context = {
        "person": person,
        "cases": cases,
        "units": units,
        "may_open_cii": may_open_cii_case(actor),
    }
    return render(request, "people/person_detail.html", context)


@requires("person.edit")
def person_edit(request: ActorRequest, person_id: uuid.UUID) -> HttpResponse:
    person = get_person_for_actor(
        request=request, person_id=person_id, write=True, reads=[Section.CORE]
    )
    form = PersonForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            services.do_update_person(
                person=person, version=form.cleaned_data.get("version") or 0, data=data
            )
        except services.EditConflict:
            messages.error(
                request,
                _(
                    "Someone else changed this person in the meantime. Your changes were not "
                    "saved; reload the page to see the current data."
                ),
            )
            return render(
                request, "people/person_form.html", {"form": form, "conflict": True}, status=409
            )
        messages.success(request, _("The changes were saved."))
        return redirect("person_detail", person_id=person.pk)
    return render(request, "people/person_form.html", {"form": form, "person": person})
