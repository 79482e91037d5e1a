"""Links by e-mail to choose a password: invitations and "forgot password" (X1, R1, R5).

A link carries a random token; only its SHA-256 is stored. A link is single-use, expires
(``LIFETIMES``) and is replaced by any newer link for the same user. Nothing here tells a
caller whether an e-mail address belongs to an account: ``request_reset`` answers the same
either way, and limits how often it sends.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import secrets
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from filum.records.models import SecurityEvent
from filum.records.services import log_security_event
from filum.tenancy.models import LinkPurpose, SignInLink, User

LIFETIMES = {
    LinkPurpose.INVITATION: datetime.timedelta(hours=72),
    LinkPurpose.RESET: datetime.timedelta(hours=1),
}
# "Forgot password": requests per IP address and links per account, in one rolling hour.
RATE_WINDOW = datetime.timedelta(hours=1)
RESET_REQUESTS_PER_IP = 10
RESET_LINKS_PER_ACCOUNT = 3
TOKEN_BYTES = 32


class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REPLACED = "replaced"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LinkCheck:
    link: SignInLink | None
    problem: LinkProblem | None


def check_link(token: str) -> LinkCheck:
    """The open link for this token, or why it cannot be used."""
    link = SignInLink.objects.select_related("user").filter(token_hash=token_hash(token)).first()
    if link is None or not link.user.is_active:
        return LinkCheck(None, LinkProblem.UNKNOWN)
    if link.used_at is not None:
        return LinkCheck(link, LinkProblem.USED)
    if link.replaced_at is not None:
        return LinkCheck(link, LinkProblem.REPLACED)
    if link.expires_at <= timezone.now():
        return LinkCheck(link, LinkProblem.EXPIRED)
    return LinkCheck(link, None)


def new_token() -> str:
    """A random token of 256 bits for a link; store only ``token_hash`` of it."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def public_link(request: HttpRequest, path: str) -> str:
    """The full address of a path sent out by e-mail or SMS. A configured public address
    keeps a forged Host header out of the link."""
    public = getattr(settings, "PUBLIC_URL", "")
    return f"{public}{path}" if public else request.build_absolute_uri(path)


def _link_url(request: HttpRequest, token: str) -> str:
    return public_link(request, reverse("signin_link", kwargs={"token": token}))


def _send_link_email(*, user: User, purpose: str, url: str) -> None:
    hours = int(LIFETIMES[LinkPurpose(purpose)].total_seconds() // 3600)
    with override(user.language):
        if purpose == LinkPurpose.INVITATION:
            subject = _("Filum: your invitation")
            intro = _("You have been invited to Filum. Choose your password with this link:")
        else:
            subject = _("Filum: choose a new password")
            intro = _("Someone asked to reset your Filum password. Choose a new one here:")
        body = "\n\n".join(
            [
                intro,
                url,
                _("Your user name: %(username)s") % {"username": user.username},
                ngettext(
                    "The link can be used once and is valid for %(hours)d hour.",
                    "The link can be used once and is valid for %(hours)d hours.",
                    hours,
                )
                % {"hours": hours},
                _("If you did not expect this e-mail, ignore it: nothing changes."),
            ]
        )
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


@transaction.atomic
def issue_link(
    *, request: HttpRequest, user: User, purpose: str, created_by: User | None = None
) -> SignInLink:
    """A new link for the user, replacing every open one; the e-mail leaves on commit."""
    now = timezone.now()
    SignInLink.objects.filter(user=user, used_at__isnull=True, replaced_at__isnull=True).update(
        replaced_at=now
    )
    token = new_token()
    link = SignInLink.objects.create(
        user=user,
        purpose=purpose,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + LIFETIMES[LinkPurpose(purpose)],
        created_by=created_by,
    )
    url = _link_url(request, token)
    transaction.on_commit(partial(_send_link_email, user=user, purpose=purpose, url=url))
    kind = "invitation.sent" if purpose == LinkPurpose.INVITATION else "password.reset_sent"
    log_security_event(kind, request=request, user=user, link=link.pk)
    return link


def reset_rate_exceeded(*, ip: str | None) -> bool:
    """Too many "forgot password" requests from this address in the last hour."""
    if not ip:
        return False
    since = timezone.now() - RATE_WINDOW
    recent = SecurityEvent.objects.filter(
        kind="password.reset_requested", ip_address=ip, at__gte=since
    )
    return recent.count() >= RESET_REQUESTS_PER_IP


@transaction.atomic
def request_reset(*, request: HttpRequest, email: str) -> None:
    """Send a reset link to every active account with this address, within the limits.

    Returns nothing on purpose: the caller must answer the same whatever happened here.
    """
    users = list(User.objects.filter(email__iexact=email.strip(), is_active=True))
    log_security_event(
        "password.reset_requested", request=request, user=users[0] if len(users) == 1 else None
    )
    since = timezone.now() - RATE_WINDOW
    for user in users:
        recent = SignInLink.objects.filter(
            user=user, purpose=LinkPurpose.RESET, created_at__gte=since
        ).count()
        if recent >= RESET_LINKS_PER_ACCOUNT:
            log_security_event("password.reset_limited", request=request, user=user)
            continue
        issue_link(request=request, user=user, purpose=LinkPurpose.RESET)


@transaction.atomic
def do_set_password(*, link: SignInLink, password: str) -> User | None:
    """Set the password through an open link and close it; the user, or None if the link
    was closed meanwhile (two tabs, a double click): the row lock makes it single-use."""
    locked = SignInLink.objects.select_for_update().get(pk=link.pk)
    now = timezone.now()
    if locked.used_at or locked.replaced_at or locked.expires_at <= now:
        return None
    user = locked.user
    user.set_password(password)
    user.save(update_fields=["password"])
    locked.used_at = now
    locked.save(update_fields=["used_at"])
    SignInLink.objects.filter(user=user, used_at__isnull=True, replaced_at__isnull=True).update(
        replaced_at=now
    )
    return user
