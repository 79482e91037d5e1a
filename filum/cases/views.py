"""Dossier pages: list, opening, detail, editing, closing, shares and consent."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.cases import services
from filum.cases.forms import CaseEditForm, CaseForm, ConsentForm, ShareForm
from filum.cases.lists import SCOPES, dossier_page
from filum.cases.models import CaseTransition, Consent, Share, Stage
from filum.cases.permissions import CaseAccess, get_case_for_actor
from filum.cases.rendering import dossier_rows
from filum.people.models import UnitMember
from filum.people.permissions import get_person_for_actor
from filum.prepared import PreparedQuery
from filum.records.services import log_security_event, refuse
from filum.tenancy.policy import SECTIONS, ActorRequest, Section, requires
from filum.web.forms import add_service_errors
from filum.web.once import once_per_token
from filum.web.paging import parse_date_cursor


@requires("case.list")
def case_list(request: ActorRequest) -> HttpResponse:
    """The actor's dossiers, newest first, paged by keyset (opened_on, number)."""
    actor = request.actor
    default_scope = "shared" if actor.role == "partner_staff" else "mine"
    scope = request.GET.get("scope", default_scope)
    if scope not in SCOPES:
        scope = "org"  # "all" and anything else: the whole organisation's list
    status = request.GET.get("status", "open")
    page = dossier_page(
        actor, scope=scope, status=status, cursor=parse_date_cursor(request.GET.get("after", ""))
    )
    context = {
        "rows": page.rows,
        "row_html": dossier_rows(page.rows, scope),
        "scope": scope,
        "status": status,
        "next_cursor": page.next_cursor,
    }
    return render(request, "cases/case_list.html", context)


@requires("case.create")
@once_per_token
def case_create(request: ActorRequest, person_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    person = get_person_for_actor(request=request, person_id=person_id)
    form = CaseForm(request.POST or None, organisation_id=actor.organisation_id)
    if request.method == "POST" and form.is_valid():
        case = services.do_open_case(
            actor=actor,
            client=person,
            domain=form.cleaned_data["domain"],
            opened_on=form.cleaned_data["opened_on"],
            responsible=form.cleaned_data["responsible"],
            title=form.cleaned_data["title"],
        )
        if case.stage == Stage.INTAKE_1 and actor.may("case.transition"):
            # straight on to the intake decision: register, open, decide in three pages (P1)
            messages.success(request, _("The dossier was opened. Record the intake decision."))
            return redirect("intake_decide", case_id=case.pk)
        messages.success(request, _("The dossier was opened."))
        return redirect("case_detail", case_id=case.pk)
    return render(request, "cases/case_form.html", {"form": form, "person": person})


# The dossier page's queries, compiled once per thread (U4, decision 0015): the same
# querysets as the related managers would build, each filtered by one key.
_MEMBERS = PreparedQuery(
    lambda unit_id: UnitMember.objects.filter(unit_id=unit_id).select_related("person")
)
_EVENTS = PreparedQuery(
    lambda case_id: CaseTransition.objects.filter(case_id=case_id).select_related("actor")[:50]
)
_SHARES = PreparedQuery(
    lambda case_id: Share.objects.filter(case_id=case_id).select_related(
        "organisation", "granted_by", "consent"
    )
)
_CONSENTS = PreparedQuery(
    lambda case_id: Consent.objects.filter(case_id=case_id).select_related("person")
)


def _detail_context(access: CaseAccess) -> dict[str, object]:
    case = access.case
    context: dict[str, object] = {"access": access, "case": case}
    if access.can_read(Section.CORE):
        context["members"] = (
            _MEMBERS.objects(case.assistance_unit_id) if case.assistance_unit_id is not None else []
        )
        context["events"] = _EVENTS.objects(case.pk)
    if access.is_owner:
        context["shares"] = _SHARES.objects(case.pk)
        context["consents"] = _CONSENTS.objects(case.pk)
    return context


@requires("core.read")
def case_detail(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    access = get_case_for_actor(request=request, case_id=case_id, reads=SECTIONS)
    return render(request, "cases/case_detail.html", _detail_context(access))


@requires("core.write")
def case_edit(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = get_case_for_actor(
        request=request, case_id=case_id, need=Section.CORE, write=True, reads=[Section.CORE]
    )
    case = access.case
    form = CaseEditForm(request.POST or None, instance=case, organisation_id=case.owner_id)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in ("domain", "title", "opened_on", "responsible")}
        try:
            services.do_update_case(
                actor=actor, case=case, version=form.cleaned_data["version"], data=data
            )
        except services.EditConflict:
            messages.error(
                request,
                _(
                    "Someone else changed this dossier in the meantime. Your changes were not "
                    "saved; reload the page to see the current data."
                ),
            )
            return render(request, "cases/case_edit.html", {"form": form, "case": case}, status=409)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("case_detail", case_id=case.pk)
    return render(request, "cases/case_edit.html", {"form": form, "case": case})


def _owner_access(request: ActorRequest, case_id: uuid.UUID) -> CaseAccess:
    """Shares and consents are managed by the dossier's owner (the forms show no content)."""
    access = get_case_for_actor(request=request, case_id=case_id, need=Section.CORE)
    if not access.may("share.manage"):
        refuse(request, "case", case_id, owner_id=access.case.owner_id)
    return access


@requires("share.manage")
@once_per_token
def share_create(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = _owner_access(request, case_id)
    form = ShareForm(request.POST or None, case=access.case)
    if request.method == "POST" and form.is_valid():
        try:
            share = services.do_share_case(actor=actor, case=access.case, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            log_security_event(
                "share.granted",
                request=request,
                share=str(share.pk),
                case=str(access.case.pk),
                grantee=share.organisation_id,
                sections=share.sections,
            )
            messages.success(request, _("The sections were shared."))
            return redirect("case_detail", case_id=access.case.pk)
    return render(request, "cases/share_form.html", {"form": form, "case": access.case})


@requires("share.manage")
@require_POST
def share_revoke(request: ActorRequest, case_id: uuid.UUID, share_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = _owner_access(request, case_id)
    share = (
        Share.objects.filter(pk=share_id, case=access.case)
        .select_related("organisation", "case")
        .first()
    )
    if share is None:
        raise Http404
    try:
        services.do_revoke_share(actor=actor, share=share)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("case_detail", case_id=access.case.pk)
    log_security_event(
        "share.revoked", request=request, share=str(share.pk), case=str(access.case.pk)
    )
    messages.success(request, _("The share was revoked."))
    return redirect("case_detail", case_id=access.case.pk)


@requires("share.manage")
@once_per_token
def consent_create(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    actor = request.actor
    access = _owner_access(request, case_id)
    form = ConsentForm(request.POST or None, case=access.case)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_record_consent(
                actor=actor, case=access.case, person=access.case.client, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The consent was recorded."))
            return redirect("case_detail", case_id=access.case.pk)
    return render(request, "cases/consent_form.html", {"form": form, "case": access.case})


@requires("share.manage")
@require_POST
def consent_withdraw(request: ActorRequest, case_id: uuid.UUID, consent_id: int) -> HttpResponse:
    actor = request.actor
    access = _owner_access(request, case_id)
    consent = Consent.objects.filter(pk=consent_id, case=access.case).select_related("case").first()
    if consent is None:
        raise Http404
    services.do_withdraw_consent(actor=actor, consent=consent, on=timezone.localdate())
    messages.success(request, _("The consent was withdrawn; shares based on it have ended."))
    return redirect("case_detail", case_id=access.case.pk)
