"""Assessment pages of a dossier: the list (also the dossier page's Assessment section, loaded
by htmx), a new assessment, filling in and finalising a draft, reading one, a person's history
and synthesis, and their PDFs (A3-A7, U1, U2)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.assessments import links, services
from filum.assessments.answers import (
    asked_sections,
    load_structure,
    shown_sections,
    version_forms,
)
from filum.assessments.forms import DraftForm, StartForm
from filum.assessments.models import Assessment
from filum.assessments.permissions import (
    PersonAssessments,
    get_assessment_for_actor,
    get_case_assessments_for_actor,
    get_person_history_for_actor,
)
from filum.records.models import ReadKind
from filum.tenancy.policy import ActorRequest, Section, requires
from filum.web.once import once_per_token
from filum.web.paging import parse_date_cursor
from filum.web.pdf import pdf_response

PAGE_SIZE = 25
ASSESSMENT = (Section.ASSESSMENT,)


def _cursor(value: str) -> tuple[Any, uuid.UUID] | None:
    """``<date>_<uuid>`` of the last row shown; anything else starts from the top."""
    day, _sep, pk = value.partition("_")
    parsed = parse_date_cursor(f"{day}_0") if day else None
    try:
        return (parsed[0], uuid.UUID(pk)) if parsed else None
    except ValueError:
        return None


@requires("assessment.read")
def case_assessments(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """The dossier's assessments, newest first; without the page around it for htmx (the
    dossier page's Assessment section)."""
    access = get_case_assessments_for_actor(request=request, case_id=case_id, reads=ASSESSMENT)
    case = access.case
    rows, next_cursor = services.case_assessments_page(
        case, before=_cursor(request.GET.get("before", "")), size=PAGE_SIZE
    )
    context = {
        "case": case,
        "access": access,
        "assessments": rows,
        "persons": services.persons_of_case(case),
        "links": links.case_links(case),
        "next_cursor": f"{next_cursor[0].isoformat()}_{next_cursor[1]}" if next_cursor else "",
        # drafts can be finished or discarded after closing; no new assessment is started
        "can_write": access.can_write(Section.ASSESSMENT),
        "can_start": access.can_write(Section.ASSESSMENT) and case.is_open,
    }
    if request.htmx:
        return render(request, "assessments/_case_list.html", context)
    return render(request, "assessments/case_assessments.html", context)


@requires("assessment.write")
@once_per_token
def assessment_create(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    access = get_case_assessments_for_actor(request=request, case_id=case_id, write=True)
    case = access.case
    persons = services.persons_of_case(case)
    versions = services.current_versions(case.owner.canton)
    form = StartForm(
        request.POST or None, persons=persons, versions=versions, opened_on=case.opened_on
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = next(p for p in persons if str(p.pk) == data["person"])
        version = next(v for v in versions if v.pk == data["version"])
        try:
            assessment = services.do_start_assessment(
                actor=request.actor,
                case=case,
                person=person,
                version=version,
                assessed_on=data["assessed_on"],
            )
        except services.ServiceError as exc:
            form.add_error(None, list(exc.args))
        else:
            messages.success(request, _("The draft assessment was made. Fill it in."))
            return redirect("assessment_edit", case_id=case.pk, assessment_id=assessment.pk)
    return render(
        request,
        "assessments/assessment_create.html",
        {"case": case, "form": form, "versions": versions},
    )


def _detail_context(assessment: Assessment) -> dict[str, Any]:
    structure = load_structure(assessment.version)
    link = assessment.link
    # a provider's entry shows the sections its link asked for
    asked = {s.key for s in asked_sections(structure, link.sections if link else [])}
    sections = [s for s in shown_sections(structure, assessment.answers) if s.section.key in asked]
    return {"assessment": assessment, "case": assessment.case, "sections": sections, "link": link}


@requires("assessment.read")
def assessment_detail(
    request: ActorRequest, case_id: uuid.UUID, assessment_id: uuid.UUID
) -> HttpResponse:
    assessment, access = get_assessment_for_actor(
        request=request, case_id=case_id, assessment_id=assessment_id
    )
    context = _detail_context(assessment)
    context["can_write"] = access.can_write(Section.ASSESSMENT)
    return render(request, "assessments/assessment_detail.html", context)


@requires("assessment.read")
def assessment_pdf(
    request: ActorRequest, case_id: uuid.UUID, assessment_id: uuid.UUID
) -> HttpResponse:
    assessment, _access = get_assessment_for_actor(
        request=request, case_id=case_id, assessment_id=assessment_id, kind=ReadKind.PRINT
    )
    filename = f"{assessment.case.reference}-{assessment.assessed_on:%Y-%m-%d}.pdf"
    return pdf_response(
        request, "assessments/pdf/assessment.html", _detail_context(assessment), filename=filename
    )


@requires("assessment.write")
def assessment_edit(
    request: ActorRequest, case_id: uuid.UUID, assessment_id: uuid.UUID
) -> HttpResponse:
    """Fill in a draft: save it as it is, or finalise it (every required field filled)."""
    assessment, _access = get_assessment_for_actor(
        request=request, case_id=case_id, assessment_id=assessment_id, write=True
    )
    case = assessment.case
    if assessment.is_pending:
        messages.info(request, _("Accept or reject the third party's entry first."))
        return redirect("assessment_detail", case_id=case.pk, assessment_id=assessment.pk)
    if not assessment.is_draft:
        messages.info(request, _("A final assessment is not changed; make a new one."))
        return redirect("assessment_detail", case_id=case.pk, assessment_id=assessment.pk)
    structure = load_structure(assessment.version)
    finalise = request.POST.get("action") == "finalise"
    data = request.POST if request.method == "POST" else None
    meta = DraftForm(
        data,
        initial={"assessed_on": assessment.assessed_on, "revision": assessment.revision},
        opened_on=case.opened_on,
    )
    forms = version_forms(
        structure, data=data, answers=assessment.answers, enforce_required=finalise
    )
    status = 200
    if data is not None and meta.is_valid() and all(f.is_valid() for f in forms):
        answers = {k: v for f in forms for k, v in f.answers().items()}
        arguments = {
            "assessment": assessment,
            "answers": answers,
            "assessed_on": meta.cleaned_data["assessed_on"],
            "revision": meta.cleaned_data["revision"],
        }
        try:
            if finalise:
                services.do_finalise(actor=request.actor, **arguments)
            else:
                services.do_save_draft(**arguments)
        except services.EditConflict:
            messages.error(
                request,
                _(
                    "Someone else saved this assessment in the meantime. Your entries were not "
                    "saved; reload the page to see the current state."
                ),
            )
            status = 409
        except services.ServiceError as exc:
            meta.add_error(None, list(exc.args))
        else:
            if finalise:
                messages.success(request, _("The assessment is final."))
                return redirect("assessment_detail", case_id=case.pk, assessment_id=assessment.pk)
            messages.success(request, _("The draft was saved."))
            return redirect("assessment_edit", case_id=case.pk, assessment_id=assessment.pk)
    elif data is not None:
        meta.is_valid()
        if finalise:
            meta.add_error(None, _("To finalise, fill in every required field (marked *)."))
        elif not all(f.is_valid() for f in forms):
            meta.add_error(None, _("Please correct the marked fields."))
    return render(
        request,
        "assessments/assessment_form.html",
        {"assessment": assessment, "case": case, "meta": meta, "forms": forms},
        status=status,
    )


@requires("assessment.write")
@require_POST
def assessment_discard(
    request: ActorRequest, case_id: uuid.UUID, assessment_id: uuid.UUID
) -> HttpResponse:
    assessment, _access = get_assessment_for_actor(
        request=request, case_id=case_id, assessment_id=assessment_id, write=True
    )
    try:
        services.do_discard_draft(assessment=assessment)
    except services.ServiceError as exc:
        messages.error(request, str(exc.args[0]))
        return redirect("assessment_detail", case_id=case_id, assessment_id=assessment.pk)
    messages.success(request, _("The draft was discarded."))
    return redirect("case_assessments", case_id=case_id)


def _history_context(found: PersonAssessments) -> dict[str, Any]:
    return {
        "case": found.access.case,
        "person": found.history.person,
        "lines": found.history.lines,
        "synthesis": found.synthesis,
    }


@requires("assessment.read")
def assessment_person_history(
    request: ActorRequest, case_id: uuid.UUID, person_id: uuid.UUID
) -> HttpResponse:
    """A person's final values over time, field by field, with their synthesis (A6, A7)."""
    found = get_person_history_for_actor(request=request, case_id=case_id, person_id=person_id)
    context = _history_context(found)
    # the provider's entries about the person in this dossier, waiting for review or not (A8)
    context["links"] = links.case_links(found.access.case, person=found.history.person)
    context["can_write"] = found.access.can_write(Section.ASSESSMENT)
    context["can_start"] = context["can_write"] and found.access.case.is_open
    return render(request, "assessments/person_history.html", context)


@requires("assessment.read")
def assessment_person_history_pdf(
    request: ActorRequest, case_id: uuid.UUID, person_id: uuid.UUID
) -> HttpResponse:
    found = get_person_history_for_actor(
        request=request, case_id=case_id, person_id=person_id, kind=ReadKind.PRINT
    )
    filename = f"{found.access.case.reference}-history-{timezone.localdate():%Y-%m-%d}.pdf"
    return pdf_response(
        request, "assessments/pdf/history.html", _history_context(found), filename=filename
    )
