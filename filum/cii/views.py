"""CII pages: opening a CII case, its record (partners, case numbers, lead coordinator,
profile, exit), the partners joining and leaving, the profile, the exit, and the monitoring
report with its CSV (X4, X5, D8)."""

from __future__ import annotations

import csv
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.cases import services as case_services
from filum.cases.models import Case, Domain
from filum.cases.permissions import get_case_for_actor, record_reads
from filum.cii import services
from filum.cii.forms import (
    CloseForm,
    CoordinatorForm,
    OpenForm,
    PartnerForm,
    ProfileForm,
    RenewForm,
    YearForm,
    partner_formset,
)
from filum.cii.models import CiiCase, CiiPartner
from filum.cii.permissions import get_cii_case_for_actor
from filum.cii.report import MonitoringReport, kpis, monitoring_report, parts, report_rows
from filum.people.models import Person
from filum.people.permissions import get_person_for_actor
from filum.records.services import log_security_event, refuse
from filum.tenancy.models import OrganisationKind
from filum.tenancy.policy import ActorRequest, Section, requires
from filum.web.forms import add_service_errors
from filum.web.once import once_per_token

_PLAN = [str(Section.PLAN)]


def _open(request: ActorRequest, *, client: Person, origin: Case | None) -> HttpResponse:
    actor = request.actor
    dossier = origin
    data = request.POST if request.method == "POST" else None
    # Only a CII dossier takes the CII record (and offers its authorisations); from a dossier
    # of another domain the CII case gets a dossier of its own.
    if dossier is not None and dossier.domain != Domain.CII:
        dossier = None
    form = OpenForm(data, organisation=actor.organisation, dossier=dossier)
    partners = partner_formset(data, owner_id=actor.organisation_id)
    if request.method == "POST" and form.is_valid() and partners.is_valid():
        try:
            record = services.do_open_cii_case(
                actor=actor,
                client=client,
                dossier=dossier,
                owner_body=form.cleaned_data["owner_body"],
                coordinator=form.cleaned_data["coordinator"],
                partners=partners.specs(),
                consent=form.cleaned_data.get("consent"),
                authorisation=form.authorisation(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            log_security_event(
                "share.granted",
                request=request,
                case=str(record.case_id),
                grantee=[p.organisation.pk for p in partners.specs()],
                sections=services.CII_SECTIONS,
            )
            messages.success(request, _("The CII case was opened and shared with its partners."))
            return redirect("cii_detail", case_id=record.case_id)
    context = {"form": form, "partners": partners, "person": client, "origin": origin}
    return render(request, "cii/open.html", context)


@requires("share.manage")
@once_per_token
def cii_open_person(request: ActorRequest, person_id: uuid.UUID) -> HttpResponse:
    """Open a CII case in a new CII dossier for a person."""
    request.actor.require("case.create")
    person = get_person_for_actor(request=request, person_id=person_id)
    return _open(request, client=person, origin=None)


@requires("share.manage")
@once_per_token
def cii_open_case(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """Open a CII case from a dossier: on it if it is a CII dossier without a CII record,
    otherwise in a new CII dossier for its client."""
    access = get_case_for_actor(request=request, case_id=case_id, need=Section.CORE)
    if not access.may("share.manage"):
        refuse(request, "case", case_id, owner_id=access.case.owner_id)
    record_reads(request, access, [Section.CORE])
    if CiiCase.objects.filter(case_id=case_id).exists():
        return redirect("cii_detail", case_id=case_id)
    return _open(request, client=access.case.client, origin=access.case)


@requires("plan.read")
def cii_detail(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    record, access = get_cii_case_for_actor(request=request, case_id=case_id, reads=_PLAN)
    partners = list(
        CiiPartner.objects.filter(cii_case=record).select_related(
            "organisation", "share", "added_by", "left_by"
        )
    )
    context = {
        "record": record,
        "case": record.case,
        "access": access,
        "partners": [p for p in partners if p.is_current],
        "former_partners": [p for p in partners if not p.is_current],
    }
    return render(request, "cii/detail.html", context)


@requires("share.manage")
@once_per_token
def cii_partner_add(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    record, _access = get_cii_case_for_actor(
        request=request, case_id=case_id, need=Section.CORE, action="share.manage"
    )
    form = PartnerForm(request.POST or None, owner_id=record.owner_id)
    if request.method == "POST" and form.is_valid():
        try:
            partner = services.do_add_partner(
                actor=request.actor, record=record, partner=form.spec()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            log_security_event(
                "share.granted",
                request=request,
                share=str(partner.share_id),
                case=str(record.case_id),
                grantee=partner.organisation_id,
                sections=services.CII_SECTIONS,
            )
            messages.success(request, _("The partner institution joined the CII case."))
            return redirect("cii_detail", case_id=record.case_id)
    return render(
        request, "cii/partner_form.html", {"form": form, "record": record, "case": record.case}
    )


@requires("share.manage")
@require_POST
def cii_partner_remove(request: ActorRequest, case_id: uuid.UUID, partner_id: int) -> HttpResponse:
    record, _access = get_cii_case_for_actor(
        request=request, case_id=case_id, need=Section.CORE, action="share.manage"
    )
    partner = CiiPartner.objects.filter(pk=partner_id, cii_case=record).first()
    if partner is None:
        raise Http404
    try:
        services.do_remove_partner(actor=request.actor, partner=partner)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        log_security_event(
            "share.revoked", request=request, share=str(partner.share_id), case=str(record.case_id)
        )
        messages.success(
            request, _("The partner institution left the CII case; its access has ended.")
        )
    return redirect("cii_detail", case_id=record.case_id)


@requires("share.manage")
def cii_coordinator(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    record, _access = get_cii_case_for_actor(
        request=request, case_id=case_id, need=Section.CORE, action="share.manage"
    )
    institutions = [
        record.owner_id,
        *record.partners.current().values_list("organisation_id", flat=True),
    ]
    form = CoordinatorForm(
        request.POST or None, organisation_ids=institutions, current=record.coordinator_id
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.do_set_coordinator(
                actor=request.actor, record=record, coordinator=form.cleaned_data["coordinator"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The lead coordinator was changed."))
            return redirect("cii_detail", case_id=record.case_id)
    return render(
        request, "cii/coordinator_form.html", {"form": form, "record": record, "case": record.case}
    )


@requires("share.manage")
@once_per_token
def cii_renew(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """A new signed authorisation for a running CII case: the partners' shares move onto it."""
    record, _access = get_cii_case_for_actor(
        request=request, case_id=case_id, need=Section.CORE, action="share.manage"
    )
    data = request.POST if request.method == "POST" else None
    form = RenewForm(data, dossier=record.case, exclude=record.consent_id)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.do_renew_authorisation(
                actor=request.actor,
                record=record,
                consent=form.cleaned_data.get("consent"),
                authorisation=form.authorisation(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            log_security_event(
                "share.granted",
                request=request,
                case=str(record.case_id),
                grantee=list(record.partners.current().values_list("organisation_id", flat=True)),
                sections=services.CII_SECTIONS,
            )
            messages.success(
                request,
                _("The CII case rests on the new authorisation; the partners' access follows it."),
            )
            return redirect("cii_detail", case_id=record.case_id)
    context = {"form": form, "record": record, "case": record.case}
    return render(request, "cii/renew_form.html", context)


@requires("plan.write")
def cii_profile(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    record, _access = get_cii_case_for_actor(
        request=request, case_id=case_id, write=True, reads=_PLAN
    )
    form = ProfileForm(request.POST or None, instance=record)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_update_profile(
                actor=request.actor,
                record=record,
                version=form.cleaned_data["version"],
                data=form.profile(),
            )
        except case_services.EditConflict:
            messages.error(
                request,
                _(
                    "Someone else changed this CII case in the meantime. Your changes were not "
                    "saved; reload the page to see the current data."
                ),
            )
            context = {"form": form, "record": record, "case": record.case}
            return render(request, "cii/profile_form.html", context, status=409)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The profile was saved."))
            return redirect("cii_detail", case_id=record.case_id)
    return render(
        request, "cii/profile_form.html", {"form": form, "record": record, "case": record.case}
    )


@requires("case.transition")
def cii_close(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    record, _access = get_cii_case_for_actor(
        request=request,
        case_id=case_id,
        need=Section.CORE,
        write=True,
        action="case.transition",
        reads=_PLAN,
    )
    if record.has_exit:
        messages.info(request, _("The exit of this CII case is already recorded."))
        return redirect("cii_detail", case_id=record.case_id)
    form = CloseForm(request.POST or None, record=record)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_close_cii_case(actor=request.actor, record=record, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The exit was recorded; the partners' access has ended."))
            return redirect("cii_detail", case_id=record.case_id)
    return render(
        request, "cii/close_form.html", {"form": form, "record": record, "case": record.case}
    )


def _report(request: ActorRequest) -> tuple[YearForm, MonitoringReport | None]:
    """The report for the year asked for, over what the reader may count: the canton
    office's whole canton, anyone else's own organisation (decision 0020)."""
    today = timezone.localdate()
    form = YearForm(request.GET or {"year": today.year}, today=today)
    if not form.is_valid():
        return form, None
    organisation = request.actor.organisation
    canton_wide = organisation.kind == OrganisationKind.CANTON_OFFICE
    cases = CiiCase.objects.countable_by(organisation=organisation, canton_wide=canton_wide)
    return form, monitoring_report(
        cases=cases, year=form.cleaned_data["year"], canton_wide=canton_wide
    )


@requires("cii.report")
def cii_report(request: ActorRequest) -> HttpResponse:
    form, report = _report(request)
    context = {
        "form": form,
        "report": report,
        "parts": parts(report) if report is not None else None,
        "kpis": kpis(report) if report is not None else None,
        "organisation": request.actor.organisation,
    }
    return render(request, "cii/report.html", context)


@requires("cii.report")
def cii_report_csv(request: ActorRequest) -> HttpResponse:
    form, report = _report(request)
    if report is None:
        messages.error(request, " ".join(str(e) for e in form.errors.get("year", [])))
        return redirect("cii_report")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cii-monitoring-{report.year}.csv"'
    response.write("\ufeff")  # a byte-order mark, so spreadsheet programs read UTF-8
    writer = csv.writer(response, delimiter=";")
    writer.writerows(report_rows(report))
    return response
