"""Pages of the federal statistics and the service's monitoring (D6, D7; decision 0035)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from filum.records.models import ReadKind
from filum.records.services import log_list_reads, refuse
from filum.steering import monitoring as mon
from filum.steering.models import ShsDelivery, ShsMappingEntry, ShsMappingVersion
from filum.steering.shs import MAPPED
from filum.tenancy.policy import ActorRequest, Section, platform_view, requires

DELIVERIES_SHOWN = 24


@requires("steering.monitoring")
def monitoring_page(request: ActorRequest) -> HttpResponse:
    """Figures only, from the kept monthly table: no dossier is read, none is logged."""
    data = mon.monitoring(request.actor.organisation, timezone.localdate())
    context = {
        "data": data,
        "bars": mon.open_bars(data.months),
        "chart": {"width": mon.CHART_WIDTH, "height": mon.CHART_HEIGHT, "bar": mon.CHART_BAR},
        "min_peers": mon.MIN_PEERS,
        "organisation": request.actor.organisation,
    }
    return render(request, "steering/monitoring.html", context)


@requires("shs.deliver")
def shs_deliveries(request: ActorRequest) -> HttpResponse:
    deliveries = (
        ShsDelivery.objects.filter(organisation_id=request.actor.organisation_id)
        .select_related("mapping")
        .defer("content", "case_ids")
        .order_by("-month", "-mapping__number")[:DELIVERIES_SHOWN]
    )
    return render(request, "steering/shs_deliveries.html", {"deliveries": deliveries})


@requires("shs.deliver")
def shs_delivery_download(request: ActorRequest, delivery_id: int) -> HttpResponse:
    """The delivery file; its dossiers' export is logged (pseudonymous data are personal)."""
    delivery = ShsDelivery.objects.filter(pk=delivery_id).select_related("mapping").first()
    if delivery is None:
        raise Http404
    if delivery.organisation_id != request.actor.organisation_id:
        refuse(request, "delivery", delivery_id, owner_id=delivery.organisation_id)
    if request.method != "GET":
        return HttpResponse(status=405)
    log_list_reads(
        actor=request.actor,
        case_ids=delivery.case_ids,
        section=Section.CORE,
        kind=ReadKind.EXPORT,
        path=request.path,
    )
    response = HttpResponse(delivery.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{delivery.filename}"'
    return response


def parse_entries(text: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Lines ``variable;Filum value;SHS code`` → entries, or the errors (line by line)."""
    entries: list[tuple[str, str, str]] = []
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        if len(parts) != 3:  # noqa: PLR2004
            errors.append(_("Line %(n)s: write variable;Filum value;SHS code.") % {"n": number})
            continue
        variable, value, code = parts
        if variable not in MAPPED:
            errors.append(
                _("Line %(n)s: unknown variable %(variable)s.")
                % {"n": number, "variable": variable}
            )
        elif not code or len(code) > 16 or len(value) > 64:  # noqa: PLR2004
            errors.append(_("Line %(n)s: the SHS code is missing or too long.") % {"n": number})
        elif (variable, value) in seen:
            errors.append(_("Line %(n)s: this value is mapped twice.") % {"n": number})
        else:
            seen.add((variable, value))
            entries.append((variable, value, code))
    return entries, errors


@platform_view
def platform_shs_mapping(request: HttpRequest) -> HttpResponse:
    """The platform administrator fills in a canton's mapping table: saving makes a new
    version (the old ones stay as deliveries used them)."""
    canton = (request.POST.get("canton") or request.GET.get("canton") or "BE").strip().upper()
    text = request.POST.get("entries", "")
    errors: list[str] = []
    if len(canton) != 2 or not canton.isalpha():  # noqa: PLR2004
        errors.append(_("A canton is written with two letters, e.g. BE."))
        canton = "BE"
    current = ShsMappingVersion.objects.filter(canton=canton).order_by("-number").first()
    if request.method == "POST" and not errors:
        entries, errors = parse_entries(text)
        if not entries and not errors:
            errors.append(_("The table is empty."))
        if not errors:
            with transaction.atomic():
                top = ShsMappingVersion.objects.select_for_update().filter(canton=canton)
                number = (top.aggregate(n=Max("number"))["n"] or 0) + 1
                version = ShsMappingVersion.objects.create(
                    canton=canton,
                    number=number,
                    note=request.POST.get("note", "")[:200],
                    created_by=request.user if request.user.is_authenticated else None,
                )
                ShsMappingEntry.objects.bulk_create(
                    ShsMappingEntry(version=version, variable=v, filum_value=f, shs_code=c)
                    for v, f, c in entries
                )
            saved = _("Version %(n)s of the table of %(canton)s saved.")
            messages.success(request, saved % {"n": number, "canton": canton})
            return redirect(f"{request.path}?canton={canton}")
    if request.method != "POST" and current is not None:
        text = "\n".join(
            f"{e.variable};{e.filum_value};{e.shs_code}" for e in current.entries.all()
        )
    context = {
        "canton": canton,
        "current": current,
        "versions": ShsMappingVersion.objects.filter(canton=canton).order_by("-number")[:20],
        "text": text,
        "errors": errors,
        "variables": MAPPED,
    }
    return render(request, "steering/shs_mapping.html", context, status=400 if errors else 200)
