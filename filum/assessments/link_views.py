"""Third-party input (A8): the worker sends a provider a link to one form and reviews what
comes back (accept or reject); the provider's own page at ``/f/<token>/`` needs no account.
See docs/decisions/0023-third-party-links.md."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from filum.assessments import links, services
from filum.assessments.answers import Answers, section_form
from filum.assessments.forms import LinkForm, RejectForm
from filum.assessments.models import AssessmentLink, TemplateSection, TemplateVersion
from filum.assessments.permissions import (
    get_assessment_for_actor,
    get_case_assessments_for_actor,
    get_link_for_actor,
)
from filum.tenancy.policy import ActorRequest, requires
from filum.web.once import once_per_token


def _section_choices(versions: list[TemplateVersion]) -> list[tuple[str, str]]:
    """The sections of the current forms, by key (one query); named with their form when the
    canton has several."""
    several = len(versions) > 1
    names = {v.pk: v.template.name for v in versions}
    choices: dict[str, str] = {}
    for section in TemplateSection.objects.filter(version__in=versions).order_by(
        "version__template_id", "position", "id"
    ):
        label = f"{names[section.version_id]} – {section.label}" if several else section.label
        choices.setdefault(section.key, label)
    return list(choices.items())


@requires("assessment.write")
@once_per_token
def assessment_link_create(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """Send a provider a link to fill in a form about a person of the dossier."""
    access = get_case_assessments_for_actor(request=request, case_id=case_id, write=True)
    case = access.case
    persons = services.persons_of_case(case)
    versions = services.current_versions(case.owner.canton)
    form = LinkForm(
        request.POST or None,
        persons=persons,
        versions=versions,
        sections=_section_choices(versions),
        providers=links.providers_of_canton(case.owner.canton),
        lifetimes=links.LIFETIME_DAYS,
        default_days=links.DEFAULT_LIFETIME_DAYS,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            link = links.do_issue_link(
                request=request,
                actor=request.actor,
                case=case,
                person=next(p for p in persons if str(p.pk) == data["person"]),
                version=next(v for v in versions if v.pk == data["version"]),
                sections=data["sections"],
                provider=data["provider"],
                recipient=data["recipient"],
                channel=data["channel"],
                email=data.get("email") or "",
                phone=data.get("phone") or "",
                days=data["days"],
            )
        except services.ServiceError as exc:
            form.add_error(None, list(exc.args))
        else:
            messages.success(
                request,
                _("The link was sent to %(recipient)s (%(address)s).")
                % {"recipient": link.recipient, "address": link.email or link.phone},
            )
            return redirect("case_assessments", case_id=case.pk)
    return render(
        request,
        "assessments/link_create.html",
        {"case": case, "form": form, "versions": versions},
    )


@requires("assessment.write")
@require_POST
def assessment_link_revoke(
    request: ActorRequest, case_id: uuid.UUID, link_id: uuid.UUID
) -> HttpResponse:
    link, _access = get_link_for_actor(request=request, case_id=case_id, link_id=link_id)
    try:
        links.do_revoke(actor=request.actor, link=link)
    except services.ServiceError as exc:
        messages.error(request, str(exc.args[0]))
    else:
        messages.success(request, _("The link was withdrawn: it can no longer be used."))
    return redirect("case_assessments", case_id=case_id)


def _not_pending(request: HttpRequest, case_id: uuid.UUID, assessment_id: uuid.UUID) -> Any:
    messages.info(
        request, _("Only a third party's entry that waits for review is accepted or rejected.")
    )
    return redirect("assessment_detail", case_id=case_id, assessment_id=assessment_id)


@requires("assessment.write")
@require_POST
def assessment_accept(
    request: ActorRequest, case_id: uuid.UUID, assessment_id: uuid.UUID
) -> HttpResponse:
    """Accept a provider's entry: it becomes a final assessment, in the person's history."""
    assessment, _access = get_assessment_for_actor(
        request=request, case_id=case_id, assessment_id=assessment_id, write=True, reads=()
    )
    if not assessment.is_pending:
        return _not_pending(request, case_id, assessment.pk)
    try:
        links.do_accept(actor=request.actor, assessment=assessment)
    except services.ServiceError as exc:
        messages.error(request, str(exc.args[0]))
    else:
        messages.success(request, _("The entry was accepted: it is now a final assessment."))
    return redirect("assessment_detail", case_id=case_id, assessment_id=assessment.pk)


@requires("assessment.write")
def assessment_reject(
    request: ActorRequest, case_id: uuid.UUID, assessment_id: uuid.UUID
) -> HttpResponse:
    """Reject a provider's entry with a reason: it is kept, and appears in no history."""
    assessment, _access = get_assessment_for_actor(
        request=request, case_id=case_id, assessment_id=assessment_id, write=True
    )
    if not assessment.is_pending:
        return _not_pending(request, case_id, assessment.pk)
    form = RejectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            links.do_reject(
                actor=request.actor, assessment=assessment, reason=form.cleaned_data["reason"]
            )
        except services.ServiceError as exc:
            form.add_error(None, list(exc.args))
        else:
            messages.success(request, _("The entry was rejected."))
            return redirect("case_assessments", case_id=case_id)
    return render(
        request,
        "assessments/assessment_reject.html",
        {"assessment": assessment, "case": assessment.case, "form": form},
    )


# --- the provider's page ------------------------------------------------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    """Not for search engines. The site's ``Referrer-Policy: same-origin`` keeps the token in
    the Referer to Filum itself (``no-referrer`` would make browsers send ``Origin: null``
    with the form, which the CSRF check refuses)."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _unusable(request: HttpRequest, *, status: int = 404) -> HttpResponse:
    """The one answer to every token that cannot be used: unknown, expired, withdrawn, used.
    It is the same page in French and German whatever the link, so nothing can be learnt from
    it about a token."""
    return _private(
        render(request, "assessments/link_unusable.html", {"limited": status == 429}, status=status)
    )


def _speak_to(request: HttpRequest, link: AssessmentLink) -> None:
    """The organisation's language, unless the reader chose one with the FR/DE switch."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    language = chosen if chosen in dict(settings.LANGUAGES) else link.case.owner.language
    translation.activate(language)
    request.LANGUAGE_CODE = language


@login_not_required
@never_cache
def assessment_link_form(request: HttpRequest, token: str) -> HttpResponse:
    """A provider fills in the form a link asks for, without an account (A8)."""
    if links.refused_too_often(request.META.get("REMOTE_ADDR")):
        return _unusable(request, status=429)
    link, usable = links.find_link(token)
    if link is None or not usable:
        links.log_refused(request, link)
        return _unusable(request)
    _speak_to(request, link)
    structure, sections = links.asked(link)
    data = request.POST if request.method == "POST" else None
    forms = [section_form(structure, s, data=data, enforce_required=True) for s in sections]
    if data is None:
        links.record_open(link)
    elif all(f.is_valid() for f in forms):
        answers: Answers = {k: v for f in forms for k, v in f.answers().items()}
        if not answers:
            forms[0].add_error(None, _("Fill in at least one field before sending."))
        else:
            try:
                links.do_submit(link_id=link.pk, answers=answers)
            except links.LinkUnusable:
                links.log_refused(request, link)
                return _unusable(request)
            except services.ServiceError as exc:
                forms[0].add_error(None, list(exc.args))
            else:
                return _private(render(request, "assessments/link_done.html", {"link": link}))
    context = {"link": link, "forms": forms, "posted": data is not None}
    return _private(render(request, "assessments/link_form.html", context))


assessment_link_form.filum_action = "public"  # type: ignore[attr-defined]
