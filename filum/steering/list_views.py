"""Person-list pages (D2, D4; decision 0034): the filtered list, its CSV and XLSX exports (a
background job with a progress page and an owner-only download), and the user's saved
lists."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.records.services import log_security_event, refuse
from filum.steering.export_jobs import do_request_export, export_storage, recent_exports
from filum.steering.exports import CONTENT_TYPES
from filum.steering.list_forms import PersonFilterForm, SavedListForm, as_query, stored_filters
from filum.steering.models import ExportFormat, ExportStatus, PersonListExport, SavedPersonList
from filum.steering.person_lists import EXPORT_LIMIT, count_up_to, person_page
from filum.steering.rendering import person_rows
from filum.tenancy.policy import ActorRequest, requires

RUN = "run"  # the query-string mark of a submitted filter: without it the page shows the form


def _saved_lists(request: ActorRequest) -> list[SavedPersonList]:
    actor = request.actor
    return list(
        SavedPersonList.objects.filter(user_id=actor.user.pk, organisation_id=actor.organisation_id)
    )


def _own_saved(request: ActorRequest, list_id: str) -> SavedPersonList:
    """One of the user's own saved lists; anyone else's (or none) answers 404."""
    try:
        pk = int(list_id)
    except ValueError as exc:
        raise Http404 from exc
    actor = request.actor
    found = SavedPersonList.objects.filter(
        pk=pk, user_id=actor.user.pk, organisation_id=actor.organisation_id
    ).first()
    if found is None:
        raise Http404
    return found


def _parse_cursor(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _form(request: ActorRequest) -> PersonFilterForm:
    return PersonFilterForm(request.GET, canton=request.actor.organisation.canton)


@requires("person.list")
def person_list(request: ActorRequest) -> HttpResponse:
    """The filter form and, once submitted, one keyset page of the persons it matches."""
    saved = None
    if request.GET.get("saved"):
        saved = _own_saved(request, request.GET["saved"])
        query = as_query(saved.filters)
        query[RUN] = "1"
        return redirect(f"{reverse('person_list')}?{query.urlencode()}&list={saved.pk}")
    if request.GET.get("list"):
        saved = _own_saved(request, request.GET["list"])
    form = _form(request)
    page = None
    submitted = RUN in request.GET
    if submitted and form.is_valid():
        page = person_page(
            request.actor,
            form.to_filter(),
            cursor=_parse_cursor(request.GET.get("after", "")),
            path=request.path,
        )
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "form": form,
        "page": page,
        "row_html": person_rows(page.rows) if page is not None else "",
        "submitted": submitted,
        "described": form.described() if page is not None else [],
        "query": query.urlencode(),
        "saved_lists": _saved_lists(request),
        "saved": saved,
        "save_form": SavedListForm(initial={"name": saved.name if saved else ""}),
        "export_limit": EXPORT_LIMIT,
        "exports": recent_exports(request.actor),
    }
    return render(request, "steering/person_list.html", context)


def _back(filters: dict[str, object]) -> str:
    return f"{reverse('person_list')}?{as_query(filters).urlencode()}&{RUN}=1"


@requires("person.list")
@require_POST
def person_list_export(request: ActorRequest) -> HttpResponse:
    """Ask for the shown list as a file (``format``: csv or xlsx): back to the page for a
    filter not valid or matching more rows than an export writes (nothing enqueued), else the
    job is enqueued and the export's progress page shown."""
    actor = request.actor
    filters = stored_filters(request.POST)
    kind = request.POST.get("format", "")
    if kind not in ExportFormat.values:
        return redirect("person_list")
    form = PersonFilterForm(as_query(filters), canton=actor.organisation.canton)
    if not form.is_valid():
        messages.error(request, _("Correct the filter before exporting."))
        return redirect(_back(filters))
    if count_up_to(actor, form.to_filter(), EXPORT_LIMIT) > EXPORT_LIMIT:
        messages.error(
            request,
            _(
                "This filter matches more than %(limit)s persons: an export writes at most "
                "%(limit)s. Narrow the filter."
            )
            % {"limit": f"{EXPORT_LIMIT:,}".replace(",", "'")},
        )
        return redirect(_back(filters))
    export = do_request_export(
        actor=actor, filters=filters, format=kind, language=translation.get_language()
    )
    return redirect("person_list_export_detail", export_id=export.pk)


def _own_export(request: ActorRequest, export_id: uuid.UUID) -> PersonListExport:
    """One of the user's own exports, asked in the organisation they act in. Anyone else's
    is refused (the denial recorded) with the same 404 as a missing one."""
    export = PersonListExport.objects.filter(pk=export_id).first()
    if export is None:
        raise Http404
    actor = request.actor
    if export.user_id != actor.user.pk or export.organisation_id != actor.organisation_id:
        refuse(request, "export", export_id, owner_id=export.organisation_id)
    return export


@requires("person.list")
def person_list_export_detail(request: ActorRequest, export_id: uuid.UUID) -> HttpResponse:
    """The export's progress ("x of y rows", polled by htmx every second while the job is
    waiting or running), then its download link or why it failed. The owner's only."""
    export = _own_export(request, export_id)
    if request.method != "GET":
        return HttpResponse(status=405)
    context = {"export": export, "back": _back(export.filters)}
    if request.htmx:
        return render(request, "steering/_export_progress.html", context)
    return render(request, "steering/person_list_export.html", context)


@requires("person.list")
def person_list_export_download(request: ActorRequest, export_id: uuid.UUID) -> HttpResponseBase:
    """The export's file, for its owner, while it is kept (else 404); the download is
    logged as a security event."""
    export = _own_export(request, export_id)
    if request.method != "GET":
        return HttpResponse(status=405)
    if export.status != ExportStatus.DONE or export.is_expired:
        raise Http404
    try:
        handle = export_storage().open(export.file, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    log_security_event(
        "download",
        request=request,
        object="person_list_export",
        export=str(export.pk),
        format=export.format,
        rows=export.rows_written,
        sha256=export.sha256,
    )
    return FileResponse(
        handle,
        as_attachment=True,
        filename=export.filename,
        content_type=CONTENT_TYPES[export.format],
    )


@requires("person.list")
@require_POST
def person_list_save(request: ActorRequest) -> HttpResponse:
    """Save the shown filter under a name (a new list, or the list being edited: ``list``),
    rename nothing else, or delete a list (``delete``). Only the user's own lists."""
    actor = request.actor
    if request.POST.get("delete"):
        doomed = _own_saved(request, request.POST["delete"])
        doomed.delete()
        messages.success(request, _("The saved list was deleted."))
        return redirect("person_list")
    form = SavedListForm(request.POST)
    filters = stored_filters(request.POST)
    filter_form = PersonFilterForm(as_query(filters), canton=actor.organisation.canton)
    if not form.is_valid() or not filter_form.is_valid():
        messages.error(request, _("The list needs a name and a valid filter."))
        return redirect(f"{reverse('person_list')}?{as_query(filters).urlencode()}&{RUN}=1")
    now = timezone.now()
    editing = request.POST.get("list")
    try:
        with transaction.atomic():
            if editing:
                kept = _own_saved(request, editing)
                kept.name, kept.filters, kept.updated_at = form.cleaned_data["name"], filters, now
                kept.save()
            else:
                kept = SavedPersonList.objects.create(
                    user_id=actor.user.pk,
                    organisation_id=actor.organisation_id,
                    name=form.cleaned_data["name"],
                    filters=filters,
                    created_at=now,
                    updated_at=now,
                )
    except IntegrityError:
        messages.error(request, _("You already have a list of this name."))
        return redirect(f"{reverse('person_list')}?{as_query(filters).urlencode()}&{RUN}=1")
    messages.success(request, _("The list was saved."))
    return redirect(f"{reverse('person_list')}?saved={kept.pk}")
