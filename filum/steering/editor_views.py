"""The canton analyst's indicator editor (D1, D3; decision 0039): create an indicator, change
one (a new version, never an edit in place), preview the draft on the current extract through
the indicator page's own computation, retire and bring back, and the history of the versions
with a field-by-field comparison and the re-runs of the figures kept on each."""

from __future__ import annotations

import logging
from typing import Any

import duckdb
from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from filum.steering.analyst_views import (
    Labels,
    _folder,
    _query,
    _raw,
    chart,
    dimension_label,
    shown_value,
)
from filum.steering.editor import IndicatorForm, compare, initial_texts
from filum.steering.extract import manifest
from filum.steering.indicators import StaleVersion, compute, create_indicator, revise
from filum.steering.models import IndicatorDefinition, IndicatorReport
from filum.tenancy.policy import ActorRequest, requires

logger = logging.getLogger(__name__)

# a new indicator starts as a count of the open dossiers, the simplest definition there is
STARTER: dict[str, Any] = {
    "table": "dossiers",
    "where": [{"field": "status", "op": "eq", "value": "open"}],
    "measure": "count",
    "dimensions": ["service", "commune"],
    "split": "service",
}


def _latest_or_404(key: str) -> IndicatorDefinition:
    latest = IndicatorDefinition.objects.filter(key=key).order_by("-version").first()
    if latest is None:
        raise Http404
    return latest


@requires("indicator.define")
def indicator_create(request: ActorRequest) -> HttpResponse:
    """A new indicator: its version 1."""
    return _editor(request, None)


@requires("indicator.define")
def indicator_edit(request: ActorRequest, key: str) -> HttpResponse:
    """A change of an indicator, saved as its next version."""
    return _editor(request, _latest_or_404(key))


def _editor(request: ActorRequest, latest: IndicatorDefinition | None) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    action = request.POST.get("action", "save")
    if request.method == "GET" or action == "table":
        if request.method == "GET":
            texts = initial_texts(latest) if latest else {"base_version": 0}
            start = latest.definition if latest else STARTER
        else:  # another table: its fields, the names and descriptions kept, nothing checked
            texts = {k: request.POST.get(k, "") for k in IndicatorForm.base_fields}
            start = {
                "table": request.POST.get("table"),
                "measure": request.POST.get("measure"),
                "where": [],
            }
        form = IndicatorForm(initial=texts, initial_definition=start)
        return _render(request, form, latest)
    form = IndicatorForm(request.POST)
    if not form.check():
        return _render(request, form, latest)
    definition = form.definition()
    folder = _folder(request)
    preview: dict[str, Any] | None = None
    if folder is not None:
        # the indicator page's computation on the current extract: a definition it cannot
        # compute is neither shown nor saved (the list would fail on it)
        try:
            outcome = compute(definition, folder, by=definition.get("split", ""))
        except (duckdb.Error, OSError, ValueError):
            logger.warning("indicator preview failed", exc_info=True)
            form.add_error(
                None,
                _(
                    "The definition cannot be computed on the extract of %(as_of)s: it is not "
                    "saved. Check the values of the conditions against the data dictionary."
                )
                % {"as_of": manifest(folder)["as_of"]},
            )
            return _render(request, form, latest)
        preview = {
            "total": shown_value(outcome.measure, outcome.total),
            "chart": chart(outcome, Labels()),
            "by": dimension_label(outcome.by),
            "as_of": outcome.as_of,
        }
    if action == "preview":
        return _render(request, form, latest, preview=preview, previewed=True)
    texts = form.texts()
    if latest is not None and not _changed(latest, texts, definition):
        form.add_error(None, _("Nothing has changed: no new version is saved."))
        return _render(request, form, latest, preview=preview)
    try:
        if latest is None:
            new = create_indicator(by=request.actor.user, definition=definition, **texts)
        else:
            new = revise(
                latest.key,
                by=request.actor.user,
                base=form.cleaned_data["base_version"],
                definition=definition,
                **texts,
            )
    except StaleVersion as stale:
        form.add_error(None, _stale_message(stale.latest, form.cleaned_data["base_version"]))
        return _render(request, form, latest, status=409)
    except IntegrityError:  # a concurrent creation took the same key at the same moment
        form.add_error(None, _("Someone saved at the same moment: nothing is saved, try again."))
        return _render(request, form, latest, status=409)
    messages.success(
        request,
        _("Version %(version)s is saved; the earlier versions stay as they were.")
        % {"version": new.version},
    )
    return redirect("indicator_detail", new.key)


def _changed(latest: IndicatorDefinition, texts: dict[str, str], definition: Any) -> bool:
    return definition != latest.definition or any(getattr(latest, k) != v for k, v in texts.items())


def _stale_message(latest: IndicatorDefinition, base: int) -> str:
    return _(
        "Version %(latest)s of this indicator was saved by %(user)s on %(when)s while you were "
        "changing version %(base)s: your changes are not saved. Open the latest version and "
        "make them again."
    ) % {
        "latest": latest.version,
        "user": latest.created_by or "Filum",
        "when": timezone.localtime(latest.created_at).strftime("%d.%m.%Y %H:%M"),
        "base": base,
    }


def _render(
    request: ActorRequest,
    form: IndicatorForm,
    latest: IndicatorDefinition | None,
    *,
    preview: dict[str, Any] | None = None,
    previewed: bool = False,
    status: int = 200,
) -> HttpResponse:
    language = get_language() or "fr"
    return render(
        request,
        "steering/indicator_edit.html",
        {
            "form": form,
            "latest": latest,
            "label": latest.label(language) if latest else "",
            "preview": preview,
            "previewed": previewed,
        },
        status=status,
    )


@requires("indicator.define")
def indicator_retire(request: ActorRequest, key: str) -> HttpResponse:
    """Retire an indicator (``retired=1``) or bring it back (``retired=0``): a new version that
    differs only in that, on the version the page showed (``base``). Nothing is deleted."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    latest = _latest_or_404(key)
    base, retire = request.POST.get("base", ""), request.POST.get("retired")
    if not base.isdigit() or retire not in ("0", "1"):
        messages.error(request, _("The request is incomplete: nothing has changed."))
        return redirect("indicator_detail", key)
    if latest.retired == (retire == "1"):
        messages.info(request, _("Nothing has changed."))
        return redirect("indicator_detail", key)
    try:
        revise(key, by=request.actor.user, base=int(base), retired=retire == "1")
    except StaleVersion as stale:
        messages.error(request, _stale_message(stale.latest, int(base)))
        return redirect("indicator_detail", key)
    messages.success(
        request,
        _("The indicator is retired: it leaves the list; its versions and kept figures stay.")
        if retire == "1"
        else _("The indicator is back in the list."),
    )
    return redirect("indicator_detail", key)


@requires("steering.read")
def indicator_history(request: ActorRequest, key: str) -> HttpResponse:
    """Who saved which version when, two versions compared field by field (``a`` and ``b``,
    by default the latest and the one before), and the figures kept on each version with the
    link that computes them again on their version and extract."""
    versions = list(
        IndicatorDefinition.objects.filter(key=key)
        .select_related("created_by")
        .order_by("-version")
    )
    if not versions:  # a missing indicator answers 404 whatever the method
        raise Http404
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    by_number = {v.version: v for v in versions}

    def chosen(name: str, default: IndicatorDefinition) -> IndicatorDefinition:
        raw = request.GET.get(name, "")
        return by_number.get(int(raw), default) if raw.isdigit() else default

    new = chosen("b", versions[0])
    old = chosen("a", versions[1] if len(versions) > 1 else versions[0])
    labels, language = Labels(), get_language() or "fr"
    detail = reverse("indicator_detail", args=[key])
    reports: dict[int, list[tuple[IndicatorReport, str]]] = {}
    for report in IndicatorReport.objects.filter(
        canton=request.actor.organisation.canton, definition__key=key
    ).select_related("definition")[:50]:
        href = detail + _query(
            {
                "version": report.definition.version,
                "extract": report.extract,
                "by": report.by,
                **{k: _raw(v) for k, v in report.filters.items()},
            }
        )
        reports.setdefault(report.definition.version, []).append((report, href))
    rows = [
        {
            "version": v,
            "href": detail + _query({"version": v.version}),
            "reports": reports.get(v.version, []),
        }
        for v in versions
    ]
    return render(
        request,
        "steering/indicator_history.html",
        {
            "key": key,
            "label": versions[0].label(language),
            "latest": versions[0],
            "rows": rows,
            "old": old,
            "new": new,
            "lines": compare(old, new, labels) if old.pk != new.pk else [],
            "may_define": request.actor.may("indicator.define"),
        },
    )
