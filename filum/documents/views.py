"""Documents of a dossier: list, upload (also onto a task, I8), download through this view only."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.cases.permissions import get_case_for_actor
from filum.documents import services
from filum.documents.forms import UploadForm
from filum.documents.models import Document
from filum.documents.permissions import get_document_for_actor
from filum.followup.permissions import get_task_for_actor
from filum.records.services import refuse
from filum.tenancy.policy import ActorRequest, Section, requires
from filum.web.once import once_per_token


@requires("documents.read")
def case_documents(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    access = get_case_for_actor(
        request=request, case_id=case_id, need=Section.DOCUMENTS, reads=[Section.DOCUMENTS]
    )
    documents = Document.objects.filter(case=access.case)
    if access.period_until is not None:  # a former owner's own period (decision 0026)
        documents = documents.filter(uploaded_at__date__lt=access.period_until)
    context = {
        "case": access.case,
        "access": access,
        "documents": list(documents.select_related("uploaded_by", "uploaded_by_org", "task")),
        "period_until": access.period_until,
        "form": UploadForm() if access.can_write(Section.DOCUMENTS) else None,
    }
    return render(request, "documents/case_documents.html", context)


@requires("documents.write")
@once_per_token
def document_upload(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = get_case_for_actor(
        request=request, case_id=case_id, need=Section.DOCUMENTS, write=True
    )
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        services.do_store_document(
            actor=actor,
            case=access.case,
            upload=form.cleaned_data["file"],
            name=form.cleaned_name,
            file_type=form.file_type,
        )
        messages.success(request, _("The document was added."))
        return redirect("case_documents", case_id=access.case.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "documents/upload.html", {"case": access.case, "form": form}, status=status
    )


@requires("task.manage")
@require_POST
@once_per_token
def task_document_upload(request: ActorRequest, task_id: int) -> HttpResponse:
    """A document dropped onto a task (I8): it belongs to the dossier and points at the task."""
    actor = request.actor
    task_access = get_task_for_actor(request=request, task_id=task_id)
    task = task_access.task
    if not task_access.case_access.can_write(Section.DOCUMENTS):
        refuse(request, "task", task.pk, owner_id=task.case.owner_id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.do_store_document(
                actor=actor,
                case=task_access.case_access.case,
                upload=form.cleaned_data["file"],
                name=form.cleaned_name,
                file_type=form.file_type,
                task=task,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The document was added to the task."))
    else:
        for error in form.errors.get("file", []):
            messages.error(request, str(error))
    return redirect("task_detail", task_id=task.pk)


@requires("documents.read")
def document_download(request: ActorRequest, document_id: uuid.UUID) -> FileResponse:
    document = get_document_for_actor(request=request, document_id=document_id)
    return serve_document(document)


def serve_document(document: Document) -> FileResponse:
    """The stored file as a download that is safe to open (R24), for a document the caller
    has reached through its door (the documents section, or a measure's plan section)."""
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "no-store"
    return response
