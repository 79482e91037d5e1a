"""Person-list pages (D2, D4; decision 0034): the filtered list, its CSV and XLSX exports, and
the user's saved lists."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.records.services import log_security_event
from filum.steering import exports
from filum.steering.list_forms import PersonFilterForm, SavedListForm, as_query, stored_filters
from filum.steering.models import SavedPersonList
from filum.steering.person_lists import EXPORT_LIMIT, count_up_to, export_rows, person_page
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
        "submitted": submitted,
        "described": form.described() if page is not None else [],
        "query": query.urlencode(),
        "saved_lists": _saved_lists(request),
        "saved": saved,
        "save_form": SavedListForm(initial={"name": saved.name if saved else ""}),
        "export_limit": EXPORT_LIMIT,
    }
    return render(request, "steering/person_list.html", context)


def _export_filter(request: ActorRequest) -> tuple[PersonFilterForm, HttpResponse | None]:
    """The export's filter, or the answer instead of the file: back to the page for a filter
    not yet shown, not valid, or matching more rows than an export writes."""
    form = _form(request)
    back = f"{reverse('person_list')}?{request.GET.urlencode()}"
    if RUN not in request.GET:
        return form, redirect("person_list")
    if not form.is_valid():
        messages.error(request, _("Correct the filter before exporting."))
        return form, redirect(back)
    if count_up_to(request.actor, form.to_filter(), EXPORT_LIMIT) > EXPORT_LIMIT:
        messages.error(
            request,
            _(
                "This filter matches more than %(limit)s persons: an export writes at most "
                "%(limit)s. Narrow the filter."
            )
            % {"limit": f"{EXPORT_LIMIT:,}".replace(",", "'")},
        )
        return form, redirect(back)
    return form, None


def _exported(request: ActorRequest, kind: str) -> None:
    log_security_event(
        "person_list_export", request=request, format=kind, filters=stored_filters(request.GET)
    )


@requires("person.list")
def person_list_csv(request: ActorRequest) -> HttpResponseBase:
    form, refused = _export_filter(request)
    if refused is not None:
        return refused
    _exported(request, "csv")
    rows = export_rows(request.actor, form.to_filter(), path=request.path)
    made = timezone.localtime()
    response = StreamingHttpResponse(
        exports.csv_lines(rows, form.described(), made), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="persons-{made:%Y%m%d-%H%M}.csv"'
    return response


@requires("person.list")
def person_list_xlsx(request: ActorRequest) -> HttpResponseBase:
    form, refused = _export_filter(request)
    if refused is not None:
        return refused
    _exported(request, "xlsx")
    made = timezone.localtime()
    rows = export_rows(request.actor, form.to_filter(), path=request.path)
    return FileResponse(
        exports.xlsx_file(rows, form.described(), made),
        as_attachment=True,
        filename=f"persons-{made:%Y%m%d-%H%M}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
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
