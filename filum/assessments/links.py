"""Third-party input (A8): a worker sends a provider a single-use, expiring link to one form
about one person of a dossier; the provider fills it in without an account; the entry waits
as a draft marked "to review" until the worker accepts it (it becomes final) or rejects it
(kept with the reason). See docs/decisions/0023-third-party-links.md.

The token is random (256 bits) and only its SHA-256 is stored, as for sign-in links
(``filum.tenancy.signin``). Looking a token up is one indexed equality on the hash; every
unusable link (unknown, expired, revoked, used, its dossier closed) gets the same answer, and
an address that keeps sending unusable tokens is slowed down (``REFUSED_PER_IP``).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from functools import partial
from typing import Any

import pghistory
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from filum.assessments.answers import Answers, asked_sections, load_structure
from filum.assessments.models import (
    Assessment,
    AssessmentLink,
    AssessmentStatus,
    LinkChannel,
    Review,
    TemplateSection,
    TemplateVersion,
)
from filum.assessments.services import (
    EditConflict,
    ServiceError,
    _lock_template,
    check_required,
    current_versions,
    make_final,
    persons_of_case,
)
from filum.assessments.sms import send_sms
from filum.cases.models import Case
from filum.people.models import Person
from filum.plans.models import Provider
from filum.records.models import ReadKind, ReadLog, SecurityEvent
from filum.records.services import log_security_event
from filum.tenancy.policy import Actor, Section
from filum.tenancy.signin import new_token, public_link, token_hash

LIFETIME_DAYS = (3, 7, 14)
DEFAULT_LIFETIME_DAYS = 7
# Unusable tokens answered per address in a rolling hour before it gets "too many requests".
REFUSED_PER_IP = 20
RATE_WINDOW = datetime.timedelta(hours=1)
REFUSED = "assessment_link.refused"
# What logs and the audit context show instead of the public path (it holds the token, R27).
MASKED_PATH = "/f/<link {}>/"
LINKS_SHOWN = 20


def link_path(token: str) -> str:
    return reverse("assessment_link_form", kwargs={"token": token})


# --- the worker's side --------------------------------------------------------------------------


def providers_of_canton(canton: str) -> list[Provider]:
    return list(Provider.objects.filter(canton=canton, is_active=True).order_by("name", "id"))


@transaction.atomic
def do_issue_link(
    *,
    request: HttpRequest,
    actor: Actor,
    case: Case,
    person: Person,
    version: TemplateVersion,
    sections: Iterable[str],
    provider: Provider | None,
    recipient: str,
    channel: str,
    email: str,
    phone: str,
    days: int,
) -> AssessmentLink:
    """Make a link and send it (by e-mail or SMS, after the commit) in the organisation's
    language. Refused when the dossier is closed, the version is not the current one, the
    person is not of the dossier or a section is not in the version."""
    if not case.is_open:
        raise ServiceError(_("The dossier is closed: no new assessment is started in it."))
    if version.pk not in {v.pk for v in current_versions(case.owner.canton)}:
        raise ServiceError(_("This template version is no longer the current one."))
    if person.pk not in {p.pk for p in persons_of_case(case)}:
        raise ServiceError(_("This person does not belong to the dossier."))
    structure = load_structure(version)
    keys = list(dict.fromkeys(sections))
    if set(keys) - {s.key for s in structure.sections}:
        raise ServiceError(_("Choose sections of the chosen form."))
    if days not in LIFETIME_DAYS:
        raise ServiceError(_("Choose how long the link stays valid."))
    now = timezone.now()
    token = new_token()
    link = AssessmentLink.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=person,
        version=version,
        sections=keys,
        provider=provider,
        recipient=recipient,
        channel=channel,
        email=email if channel == LinkChannel.EMAIL else "",
        phone=phone if channel == LinkChannel.SMS else "",
        token_hash=token_hash(token),
        created_by=actor.user,
        created_at=now,
        expires_at=now + datetime.timedelta(days=days),
    )
    url = public_link(request, link_path(token))
    transaction.on_commit(partial(_deliver, link=link, url=url))
    log_security_event("assessment_link.sent", request=request, link=str(link.pk))
    return link


def _message(link: AssessmentLink, url: str) -> tuple[str, str, str]:
    """Subject, e-mail body and SMS text, in the organisation's language."""
    organisation = link.case.owner
    with override(organisation.language):
        until = formats.date_format(timezone.localtime(link.expires_at), "d.m.Y H:i")
        names = {
            "organisation": organisation.name,
            "form": link.version.template.name,
            "person": link.person.first_name,
            "until": until,
            "url": url,
        }
        subject = _("%(organisation)s: a form to fill in") % names
        body = "\n\n".join(
            [
                _("Hello %(recipient)s,") % {"recipient": link.recipient},
                _(
                    "%(organisation)s asks you to fill in the form “%(form)s” about "
                    "%(person)s. No account is needed: open this link."
                )
                % names,
                url,
                _("The link can be used once, until %(until)s. Please do not forward it.") % names,
                _("Sent by %(worker)s through Filum.") % {"worker": link.created_by},
            ]
        )
        sms = (
            _(
                "%(organisation)s: please fill in the form “%(form)s” about %(person)s: "
                "%(url)s (once, until %(until)s)"
            )
            % names
        )
    return subject, body, sms


def _deliver(*, link: AssessmentLink, url: str) -> None:
    subject, body, sms = _message(link, url)
    if link.channel == LinkChannel.SMS:
        send_sms(to=link.phone, body=sms)
    else:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [link.email])


@transaction.atomic
def do_revoke(*, actor: Actor, link: AssessmentLink) -> None:
    """Close a link before it is used."""
    now = timezone.now()
    revoked = AssessmentLink.objects.filter(
        pk=link.pk, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now, revoked_by=actor.user)
    if not revoked:
        raise ServiceError(_("This link was already used or withdrawn."))


@transaction.atomic
def do_accept(*, actor: Actor, assessment: Assessment) -> None:
    """Accept a provider's entry: it becomes a final assessment as it came (the required fields
    of the sections asked for were filled in when it was sent)."""
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if locked.review != Review.PENDING or locked.status != AssessmentStatus.DRAFT:
        raise ServiceError(_("This entry was already reviewed."))
    link = AssessmentLink.objects.get(assessment=locked)
    structure = load_structure(assessment.version)
    check_required(structure, locked.answers, link.sections)
    try:
        make_final(
            actor=actor,
            assessment=locked,
            structure=structure,
            review=Review.ACCEPTED,
            reviewed_by=actor.user,
            reviewed_at=timezone.now(),
        )
    except EditConflict as exc:
        raise ServiceError(_("This entry was already reviewed.")) from exc
    assessment.status = locked.status
    assessment.review = locked.review


@transaction.atomic
def do_reject(*, actor: Actor, assessment: Assessment, reason: str) -> None:
    """Reject a provider's entry: it is kept, with the reason, and appears in no history."""
    rejected = Assessment.objects.filter(
        pk=assessment.pk, status=AssessmentStatus.DRAFT, review=Review.PENDING
    ).update(
        status=AssessmentStatus.REJECTED,
        review=Review.REJECTED,
        review_reason=reason,
        reviewed_by=actor.user,
        reviewed_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not rejected:
        raise ServiceError(_("This entry was already reviewed."))


def case_links(case: Case, *, person: Person | None = None) -> list[AssessmentLink]:
    """The dossier's newest links (of one person), with their entry: one query."""
    rows = AssessmentLink.objects.filter(case=case)
    if person is not None:
        rows = rows.filter(person=person)
    found = list(
        rows.select_related(
            "person", "version__template", "provider", "assessment", "created_by"
        ).order_by("-created_at", "-pk")[:LINKS_SHOWN]
    )
    _name_sections(found)
    return found


def _name_sections(found: list[AssessmentLink]) -> None:
    """``section_names`` of each link: the titles of the sections it asks for (one query, none
    when every link asks for a whole form)."""
    asking = [link for link in found if link.sections]
    titles: dict[tuple[int, str], str] = {}
    if asking:
        for section in TemplateSection.objects.filter(
            version_id__in={link.version_id for link in asking}
        ):
            titles[(section.version_id, section.key)] = section.label
    for link in found:
        link.section_names = [  # type: ignore[attr-defined]
            titles.get((link.version_id, key), key) for key in link.sections
        ]


# --- the provider's side ------------------------------------------------------------------------


def refused_too_often(ip: str | None) -> bool:
    if not ip:
        return False
    since = timezone.now() - RATE_WINDOW
    return (
        SecurityEvent.objects.filter(kind=REFUSED, ip_address=ip, at__gte=since).count()
        >= REFUSED_PER_IP
    )


def log_refused(request: HttpRequest, link: AssessmentLink | None) -> None:
    """An unusable token: a security event without the token (the link, if there is one)."""
    log_security_event(
        REFUSED,
        request=request,
        organisation_id=link.owner_id if link else None,
        link=str(link.pk) if link else "",
    )


def _usable(link: AssessmentLink) -> bool:
    return link.is_open and link.case.is_open and link.case.owner.is_active


def find_link(token: str) -> tuple[AssessmentLink | None, bool]:
    """The link of a token and whether it can be filled in now. One indexed query."""
    if not token or len(token) > 100:
        return None, False
    link = (
        AssessmentLink.objects.select_related(
            "case__owner", "person", "version__template", "created_by"
        )
        .filter(token_hash=token_hash(token))
        .first()
    )
    return link, link is not None and _usable(link)


def act_for_link(link: AssessmentLink) -> None:
    """Name the link in the audit context of this request, instead of the path (R27)."""
    pghistory.context(
        url=MASKED_PATH.format(link.pk), link=str(link.pk), organisation=link.owner_id
    )


def record_open(link: AssessmentLink) -> None:
    """The provider opened the link: the first time is kept on the link, every opening is in
    the read log (the person's first name was shown), under the worker who sent it."""
    act_for_link(link)
    now = timezone.now()
    AssessmentLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(opened_at=now)
    ReadLog.objects.create(
        at=now,
        user_id=link.created_by_id,
        organisation_id=link.owner_id,
        case_id=link.case_id,
        person_id=link.person_id,
        section=Section.CORE,
        kind=ReadKind.LINK,
        path=MASKED_PATH.format(link.pk),
    )


class LinkUnusable(Exception):
    """The link was used, revoked or expired meanwhile (a second submit)."""


@transaction.atomic
def do_submit(*, link_id: uuid.UUID, answers: Answers) -> Assessment:
    """Store a provider's answers as a draft to review and use the link up. The row lock makes
    the link single-use: a second submit waits, then finds it used (``LinkUnusable``)."""
    link = (
        AssessmentLink.objects.select_for_update(of=("self",))
        .select_related("case__owner", "version")
        .get(pk=link_id)
    )
    if not _usable(link):
        raise LinkUnusable
    act_for_link(link)
    structure = load_structure(link.version)
    check_required(structure, answers, link.sections)
    _lock_template(link.version.template_id, share=True)
    now = timezone.now()
    try:
        with transaction.atomic():
            assessment = Assessment.objects.create(
                case_id=link.case_id,
                owner_id=link.owner_id,
                person_id=link.person_id,
                version=link.version,
                assessed_on=timezone.localdate(),
                answers=answers,
                created_by_id=link.created_by_id,
                created_at=now,
                updated_at=now,
                review=Review.PENDING,
            )
    except IntegrityError as exc:  # the person left the household, the dossier moved on
        raise LinkUnusable from exc
    AssessmentLink.objects.filter(pk=link.pk).update(used_at=now, assessment=assessment)
    log_security_event("assessment_link.used", organisation_id=link.owner_id, link=str(link.pk))
    return assessment


def asked(link: AssessmentLink) -> Any:
    """The version's structure and the sections the link asks for."""
    structure = load_structure(link.version)
    return structure, asked_sections(structure, link.sections)
