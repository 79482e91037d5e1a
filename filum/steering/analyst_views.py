"""The canton analyst's pages (D1, D6, X3; decision 0032): the indicators with charts and a
drill-down by service, commune and period, computed with DuckDB from the canton's current
extract, never from a named record. Cells of fewer than 5 persons are not shown, nor a cell
that would give one away by subtraction; counts are rounded to 5 (decision 0032,
"Differencing")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.db import models
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from filum.cases.models import CaseStatus, ClosureReason, Domain, Segment, Stage
from filum.cii.models import Education, ExitState, Health, OutOfWork
from filum.people.models import ResidenceStatus
from filum.plans.labels import milestone_label
from filum.plans.timeline import STATE_LABELS
from filum.steering.dataset import TABLES
from filum.steering.extract import ExtractMissing, current_extract, extract_by_name
from filum.steering.indicators import Cell, Outcome, compute
from filum.steering.models import IndicatorDefinition, IndicatorReport
from filum.tenancy.models import Commune, Organisation
from filum.tenancy.policy import ActorRequest, requires

CHOICES: dict[str, type[models.Choices]] = {
    "segment": Segment,
    "closure_reason": ClosureReason,
    "domain": Domain,
    "stage": Stage,
    "status": CaseStatus,
    "residence_status": ResidenceStatus,
    "exit_state": ExitState,
    "health": Health,
    "out_of_work": OutOfWork,
    "education": Education,
}
NO_EXTRACT = "No extract of the canton's dataset has been written yet: it is made every night."
CHART_WIDTH, BAR_HEIGHT, LABEL_WIDTH = 640, 22, 240


def dimension_label(name: str) -> str:
    labels = {
        "service": _("service"),
        "commune": _("commune"),
        "segment": _("segment"),
        "domain": _("domain"),
        "closure_reason": _("closure reason"),
        "stage": _("stage"),
        "residence_status": _("residence status"),
        "exit_state": _("state at exit"),
        "health": _("health"),
        "out_of_work": _("out of work"),
        "milestone": _("milestone"),
        "state": _("state"),
    }
    if name in labels:
        return str(labels[name])
    if name.endswith("_year"):
        return _("year")
    return name


class Labels:
    """Words for the values of a dimension, in the reader's language."""

    def __init__(self) -> None:
        self._services: dict[int, str] | None = None
        self._communes: dict[int, str] | None = None

    def __call__(self, name: str, value: Any) -> str:
        if value is None or value == "":
            return _("unknown")
        if name == "service":
            if self._services is None:
                self._services = dict(Organisation.objects.values_list("pk", "name"))
            return self._services.get(value, str(value))
        if name == "commune":
            if self._communes is None:
                self._communes = {
                    bfs: f"{n} ({bfs})"
                    for bfs, n in Commune.objects.values_list("bfs_number", "name")
                }
            return self._communes.get(value, str(value))
        if name == "milestone":
            return milestone_label(value)
        if name == "state":
            return str(STATE_LABELS.get(value, value))
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if name in CHOICES:
            try:
                return str(CHOICES[name](value).label)
            except ValueError:
                return str(value)
        return str(value)


@dataclass
class Bar:
    label: str
    value: float | int | None  # None: fewer than 5, not shown
    shown: str
    y: int
    width: int
    href: str = ""


@dataclass
class Chart:
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = CHART_WIDTH


def shown_value(measure: str, cell: Cell) -> str:
    value = cell.shown(measure)
    if value is None:
        if cell.secondary:
            return pgettext("indicator cell", "not shown")
        return _("fewer than 5") if cell.hidden else "–"
    if measure == "share":
        return f"{value:.1f} %".replace(".", ",") if get_language() == "fr" else f"{value:.1f} %"
    if measure == "median":
        return _("%(days)s days") % {"days": int(value)}
    return f"{value:,}".replace(",", "\u202f")


def chart(outcome: Outcome, labels: Labels, hrefs: list[str] | None = None) -> Chart:
    """A horizontal bar chart of the groups (server-rendered SVG: no script, no style)."""
    values = [c.shown(outcome.measure) for c in outcome.groups]
    top = 100.0 if outcome.measure == "share" else max([v for v in values if v] or [1])
    bars = []
    for i, (cell, value) in enumerate(zip(outcome.groups, values, strict=True)):
        width = 0 if value is None else round((CHART_WIDTH - LABEL_WIDTH - 90) * value / top)
        bars.append(
            Bar(
                labels(outcome.by, cell.value),
                value,
                shown_value(outcome.measure, cell),
                6 + i * (BAR_HEIGHT + 6),
                max(width, 0),
                hrefs[i] if hrefs else "",
            )
        )
    return Chart(bars, 12 + len(bars) * (BAR_HEIGHT + 6))


def _latest() -> list[IndicatorDefinition]:
    """The latest version of every indicator; a retired one (decision 0039) is among them."""
    latest = IndicatorDefinition.objects.order_by("key", "-version").distinct("key").values("pk")
    return list(IndicatorDefinition.objects.filter(pk__in=latest).order_by("pk"))


def _folder(request: ActorRequest) -> Path | None:
    try:
        return current_extract(request.actor.organisation.canton)
    except ExtractMissing:
        return None


@requires("steering.read")
def indicator_list(request: ActorRequest) -> HttpResponse:
    """Every indicator of the canton (latest version) with its figure and its first split."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    folder = _folder(request)
    labels, language = Labels(), get_language() or "fr"
    cards = []
    latest = _latest()
    if folder is not None:
        for definition in (d for d in latest if not d.retired):
            outcome = compute(
                definition.definition, folder, by=definition.definition.get("split", "")
            )
            cards.append(
                {
                    "definition": definition,
                    "label": definition.label(language),
                    "description": definition.description(language),
                    "total": shown_value(outcome.measure, outcome.total),
                    "chart": chart(outcome, labels),
                    "by": dimension_label(outcome.by),
                }
            )
    return render(
        request,
        "steering/indicator_list.html",
        {
            "cards": cards,
            "folder": folder,
            "as_of": _as_of(folder),
            "retired": [(d.key, d.label(language)) for d in latest if d.retired],
            "may_define": request.actor.may("indicator.define"),
        },
    )


def _as_of(folder: Path | None) -> str:
    if folder is None:
        return ""
    from filum.steering.extract import manifest

    return str(manifest(folder)["as_of"])


def _parse(definition: dict[str, Any], name: str, raw: str) -> Any:
    column = TABLES[definition["table"]].column(name)
    if column is None or raw == "":
        raise ValueError(raw)
    if column.type == "int":
        return int(raw)
    if column.type == "bool":
        if raw not in ("true", "false"):
            raise ValueError(raw)
        return raw == "true"
    return raw


def _query(params: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


@requires("steering.read")
def indicator_detail(request: ActorRequest, key: str) -> HttpResponse:
    """One indicator: its total, split by a dimension (``by``) and narrowed to values of
    others (the drill-down: ``service``, ``commune``, the period ...), on its latest version
    or ``version``, on the current extract or a kept one (``extract``, a report's re-run).
    A POST keeps the figure as shown as a report."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    versions = list(IndicatorDefinition.objects.filter(key=key).order_by("-version"))
    if not versions:
        raise Http404
    canton = request.actor.organisation.canton
    definition = versions[0]
    if request.GET.get("version", "").isdigit():
        definition = next(
            (v for v in versions if v.version == int(request.GET["version"])), definition
        )
    data = definition.definition
    dimensions: list[str] = data.get("dimensions", [])
    by = request.GET.get("by", data.get("split", ""))
    if by not in dimensions:
        by = data.get("split", "")
    filters: dict[str, Any] = {}
    for name in dimensions:
        if name in request.GET and name != by:
            try:
                filters[name] = _parse(data, name, request.GET[name])
            except ValueError:
                messages.error(
                    request,
                    _("“%(value)s” is not a value of %(field)s: the filter is left out.")
                    % {"value": request.GET[name], "field": dimension_label(name)},
                )
    try:
        folder = extract_by_name(canton, request.GET.get("extract", ""))
    except ExtractMissing:
        folder = None
    labels, language = Labels(), get_language() or "fr"
    context: dict[str, Any] = {
        "definition": definition,
        "versions": versions,
        "retired": versions[0].retired,
        "may_define": request.actor.may("indicator.define"),
        "label": definition.label(language),
        "description": definition.description(language),
        "folder": folder,
        "reports": [
            (
                report,
                _query(
                    {
                        "version": report.definition.version,
                        "extract": report.extract,
                        "by": report.by,
                        **{k: _raw(v) for k, v in report.filters.items()},
                    }
                ),
            )
            for report in IndicatorReport.objects.filter(
                canton=canton, definition__key=key
            ).select_related("definition")[:20]
        ],
    }
    if folder is None:
        if request.method == "POST":
            messages.error(request, _(NO_EXTRACT))
            return redirect(request.get_full_path())
        return render(request, "steering/indicator_detail.html", context)
    outcome = compute(data, folder, by=by, filters=filters)
    if request.method == "POST":
        IndicatorReport.objects.create(
            definition=definition,
            canton=canton,
            extract=folder.name,
            as_of=outcome.as_of,
            by=by,
            filters=filters,
            result=outcome.as_json(),
            created_by=request.actor.user,
        )
        messages.success(request, _("The figure is kept with the version and extract it used."))
        return redirect(request.get_full_path())
    base = {"version": definition.version, "by": by, **{k: _raw(v) for k, v in filters.items()}}
    if request.GET.get("extract"):
        base["extract"] = folder.name
    next_by = next((d for d in dimensions if d != by and d not in filters), "")
    hrefs = [
        _query({**base, by: _raw(cell.value), "by": next_by})
        if cell.value is not None and not cell.hidden
        else ""
        for cell in outcome.groups
    ]
    context.update(
        outcome=outcome,
        total=shown_value(outcome.measure, outcome.total),
        chart=chart(outcome, labels, hrefs),
        by_label=dimension_label(by),
        splits=[
            (d, dimension_label(d), _query({**base, "by": d}))
            for d in dimensions
            if d not in filters
        ],
        active=[
            (dimension_label(n), labels(n, v), _query({k: x for k, x in base.items() if k != n}))
            for n, v in filters.items()
        ],
        as_of=outcome.as_of,
    )
    return render(request, "steering/indicator_detail.html", context)


def _raw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
