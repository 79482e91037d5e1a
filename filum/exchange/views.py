"""The download of one dossier's delivery in the exchange format (issue 9 item 5), and the
platform administrator's import page (item 3): upload a zip, read the dry run's report,
confirm, and follow the run in the background."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filum.cases.permissions import get_case_for_actor, record_reads
from filum.exchange.dryrun import dry_run
from filum.exchange.export import export_case
from filum.exchange.models import ImportRun
from filum.exchange.tasks import run_import
from filum.records.models import ReadKind
from filum.records.services import refuse
from filum.tenancy.models import Organisation
from filum.tenancy.policy import SECTIONS, ActorRequest, Section, platform_view, requires


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


def import_folder() -> Path:
    return Path(getattr(settings, "FILUM_IMPORT_DIR", settings.BASE_DIR / "var" / "imports"))


class UploadForm(forms.Form):
    organisation = forms.ModelChoiceField(
        Organisation.objects.order_by("name"), label=gettext_lazy("Import into")
    )
    delivery = forms.FileField(label=gettext_lazy("Delivery (zip)"))


class ConfirmForm(forms.Form):
    organisation = forms.ModelChoiceField(Organisation.objects.all())
    token = forms.UUIDField()


RUNS_SHOWN = 20


@platform_view
def platform_imports(request: HttpRequest) -> HttpResponse:
    """Upload -> the dry run's report -> confirm -> the import runs in the task worker; the
    page shows the latest runs with their progress (read from ``ImportRun``)."""
    context: dict[str, object] = {"form": UploadForm()}
    if request.method == "POST" and "token" in request.POST:
        confirm = ConfirmForm(request.POST)
        path = import_folder() / f"{confirm.data.get('token', '')}.zip"
        if confirm.is_valid() and path.is_file():
            organisation = confirm.cleaned_data["organisation"]
            run_import.enqueue(str(path), organisation.pk, request.user.pk)
            messages.success(request, _("The import has started."))
            return redirect(request.path)
        messages.error(request, _("This upload is no longer available: upload it again."))
        return redirect(request.path)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            token = uuid.uuid4()
            folder = import_folder()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{token}.zip"
            with path.open("wb") as target:
                for chunk in form.cleaned_data["delivery"].chunks():
                    target.write(chunk)
            checked = dry_run(path)
            report = checked.report
            report.problems = [p for p in report.problems if p.key != "import.organisation"]
            if not report.ok:
                path.unlink()
            context.update(
                report=report,
                create=checked.create,
                confirm=ConfirmForm(
                    initial={"token": token, "organisation": form.cleaned_data["organisation"]}
                ),
            )
    context["runs"] = ImportRun.objects.select_related("organisation").order_by("-pk")[:RUNS_SHOWN]
    return render(request, "exchange/platform_imports.html", context)
