"""The download of one dossier's delivery in the exchange format (issue 9 item 5), and the
platform administrator's import page (item 3): upload a zip, read the dry run's report,
confirm, and follow the run in the background."""

from __future__ import annotations

import datetime
import json
import tempfile
import uuid
from pathlib import Path

from django import forms
from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filum.cases.permissions import get_case_for_actor, record_reads
from filum.exchange.dryrun import dry_run
from filum.exchange.export import export_case
from filum.exchange.models import ImportRun
from filum.exchange.readiness import Readiness, check_readiness, present
from filum.exchange.tasks import run_import
from filum.exchange.uploads import find_upload, mark_checked, save_upload
from filum.records.models import ReadKind
from filum.records.services import refuse
from filum.tenancy.models import Organisation
from filum.tenancy.policy import SECTIONS, ActorRequest, Section, platform_view, requires
from filum.web.pdf import pdf_response


@requires("case.export")
def case_export(request: ActorRequest, case_id: uuid.UUID) -> HttpResponseBase:
    """The dossier with everything it holds as a zip delivery, logged as an export of every
    section. Only the dossier's own organisation exports it (``case.export``); the zip is
    written to a temporary file and streamed."""
    access = get_case_for_actor(request=request, case_id=case_id, need=Section.CORE)
    if not access.may("case.export"):
        refuse(request, "case", access.case.pk, owner_id=access.case.owner_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    with tempfile.TemporaryDirectory() as spool:
        target = Path(spool) / "delivery.zip"
        export_case(access.case, target)
        # the open file outlives its folder's removal: nothing stays behind on the disk
        stream = target.open("rb")
    record_reads(request, access, SECTIONS, kind=ReadKind.EXPORT)
    return FileResponse(
        stream,
        as_attachment=True,
        filename=f"dossier-{access.case.number}.zip",
        content_type="application/zip",
    )


class UploadForm(forms.Form):
    organisation = forms.ModelChoiceField(
        Organisation.objects.order_by("name"), label=gettext_lazy("Import into")
    )
    delivery = forms.FileField(label=gettext_lazy("Delivery (zip)"))


class ConfirmForm(forms.Form):
    organisation = forms.ModelChoiceField(Organisation.objects.all())
    token = forms.UUIDField()


RUNS_SHOWN = 20


def _runs_page(before: str | None) -> tuple[list[ImportRun], int | None]:
    """The runs newest first, ``RUNS_SHOWN`` a page, by keyset on the primary key (its index
    serves the order): the page after the run ``before``, and where the next page starts."""
    runs = ImportRun.objects.select_related("organisation").order_by("-pk")
    if before is not None and before.isdigit():
        runs = runs.filter(pk__lt=int(before))
    page = list(runs[: RUNS_SHOWN + 1])
    more = len(page) > RUNS_SHOWN
    page = page[:RUNS_SHOWN]
    return page, (page[-1].pk if more else None)


@platform_view
def platform_imports(request: HttpRequest) -> HttpResponse:
    """Upload -> the dry run's report (and the readiness check) -> confirm -> the import runs
    in the task worker; the page shows the runs with their progress (read from
    ``ImportRun``), newest first, a page at a time."""
    context: dict[str, object] = {"form": UploadForm(), "token": None}
    if request.method == "POST" and "token" in request.POST:
        confirm = ConfirmForm(request.POST)
        upload = find_upload(confirm.data.get("token", ""))
        if confirm.is_valid() and upload is not None and upload.meta().get("ok"):
            organisation = confirm.cleaned_data["organisation"]
            run_import.enqueue(str(upload.path), organisation.pk, request.user.pk)
            messages.success(request, _("The import has started."))
            return redirect(request.path)
        messages.error(request, _("This upload is no longer available: upload it again."))
        return redirect(request.path)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            delivery = form.cleaned_data["delivery"]
            organisation = form.cleaned_data["organisation"]
            upload = save_upload(
                delivery.chunks(),
                name=delivery.name or "",
                organisation_id=organisation.pk,
                user_id=request.user.pk,
            )
            checked = dry_run(upload.path)
            report = checked.report
            report.problems = [p for p in report.problems if p.key != "import.organisation"]
            if report.manifest is None:
                upload.remove()  # not a delivery at all: nothing to check for readiness
            else:
                mark_checked(upload, ok=report.ok)
                context["token"] = upload.token
            context.update(
                report=report,
                create=checked.create,
                confirm=ConfirmForm(initial={"token": upload.token, "organisation": organisation}),
            )
    runs, next_before = _runs_page(request.GET.get("before"))
    context.update(runs=runs, next_before=next_before, paged=request.GET.get("before"))
    return render(request, "exchange/platform_imports.html", context)


def _readiness_of(token: uuid.UUID) -> Readiness:
    """The readiness check of an upload, computed once and kept beside it (the PDF prints
    the same result as the page)."""
    upload = find_upload(token)
    if upload is None:
        raise Http404
    try:
        return Readiness.from_dict(json.loads(upload.readiness_path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    meta = upload.meta()
    organisation = Organisation.objects.filter(pk=meta.get("organisation", 0)).first()
    result = check_readiness(upload.path, organisation=organisation, name=meta.get("name", ""))
    upload.readiness_path.write_text(json.dumps(result.as_dict()))
    return result


def _readiness_context(token: uuid.UUID) -> dict[str, object]:
    readiness = _readiness_of(token)
    return {
        "readiness": readiness,
        "sections": present(readiness),
        "checked_at": datetime.datetime.fromisoformat(readiness.checked_at),
        "token": token,
    }


@platform_view
def platform_import_readiness(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """The readiness check of an uploaded delivery (M4): who may import it may see it."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(request, "exchange/readiness.html", _readiness_context(token))


@platform_view
def platform_import_readiness_pdf(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """The same report as a PDF (A4), to hand to the service."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    context = _readiness_context(token)
    return pdf_response(request, "exchange/readiness_pdf.html", context, filename="readiness.pdf")
