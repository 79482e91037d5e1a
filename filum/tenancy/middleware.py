"""Request middleware: sessions and their timeouts, the acting membership, mandatory MFA."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions import middleware as session_middleware
from django.contrib.sessions.exceptions import SessionInterrupted
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, resolve_url
from django.urls import resolve, reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from filum.tenancy.models import Membership
from filum.tenancy.policy import PUBLIC_VIEWS, Actor

SESSION_MEMBERSHIP_KEY = "filum_membership_id"
_STARTED = "filum_session_started"
_SEEN = "filum_session_seen"
# The last-activity stamp is written when it is older than this, not on every request: a
# request within a minute of the stamp saves no session row (U4). The idle timeout counts from
# the stamp, so it ends a session up to this much earlier than the last request + the timeout,
# never later.
SEEN_GRANULARITY = timedelta(minutes=1)
SameSite = Literal["Lax", "Strict", "None", False] | None


def to_login(request: HttpRequest, url: str) -> HttpResponseRedirect | HttpResponseClientRedirect:
    """Send the browser to ``url`` (the login page). An htmx request gets ``HX-Redirect`` so
    that the whole page goes there: a plain redirect would swap the login form into the panel
    that asked."""
    if request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


class SessionMiddleware(session_middleware.SessionMiddleware):
    """Django's, except for a request whose session was deleted while it ran: the user signed
    out in a parallel request (another tab, or the sign-out button while an htmx panel was
    still loading). Django answers 400 ``SessionInterrupted``; the user should see the login
    page, and nothing the request rendered (it ran signed in) may reach the signed-out browser."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except SessionInterrupted:
            answer: HttpResponse
            if request.method == "GET" and request.headers.get("HX-Request") != "true":
                answer = redirect_to_login(request.get_full_path())
            else:
                answer = to_login(request, resolve_url(settings.LOGIN_URL))
            answer.delete_cookie(
                settings.SESSION_COOKIE_NAME,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=cast(SameSite, settings.SESSION_COOKIE_SAMESITE),
            )
            return answer


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, with the whole page sent to the login page when an htmx request arrives
    without a session (signed out or expired while the page was open)."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[Any, Any],
    ) -> HttpResponseBase | None:
        refused = super().process_view(request, view_func, view_args, view_kwargs)
        if refused is not None and request.headers.get("HX-Request") == "true":
            return to_login(request, resolve_url(self.get_login_url(view_func)))
        return refused


class SessionTimeoutMiddleware:
    """Idle timeout and absolute lifetime, enforced on the server (R6).

    The idle timeout counts from the last-activity stamp, which is refreshed once it is older
    than ``SEEN_GRANULARITY`` (a minute): most requests then leave the session unchanged and
    Django saves no session row for them. The timeout is exact to within that minute: a session
    ends between ``SESSION_IDLE_TIMEOUT`` minus a minute and ``SESSION_IDLE_TIMEOUT`` after its
    last request, never later."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now()
            started = request.session.get(_STARTED)
            seen = request.session.get(_SEEN)
            expired = False
            if (
                started
                and now - datetime.fromisoformat(started) > settings.SESSION_ABSOLUTE_LIFETIME
            ):
                expired = True
            if seen and now - datetime.fromisoformat(seen) > settings.SESSION_IDLE_TIMEOUT:
                expired = True
            if expired:
                logout(request)
                return to_login(request, reverse("login") + "?expired=1")
            if not started:
                request.session[_STARTED] = now.isoformat()
            if not seen or now - datetime.fromisoformat(seen) >= SEEN_GRANULARITY:
                request.session[_SEEN] = now.isoformat()
        return self.get_response(request)


def memberships_of(user: Any) -> list[Membership]:
    """The user's active memberships, by organisation name and role (the switcher's order)."""
    return list(
        Membership.objects.active()
        .filter(user=user)
        .select_related("organisation", "team")
        .order_by("organisation__name", "role")
    )


class _MaybeActorRequest(HttpRequest):
    actor: Actor | None
    filum_memberships: list[Membership]


class ActorMiddleware:
    """Sets ``request.actor``: the user acting in their chosen membership, or None."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Outside protected views the actor may be missing; ``@requires`` refuses those
        # requests, so the views themselves see an ``ActorRequest`` with an actor.
        # One query for all of the user's memberships: the chosen one acts, and the header's
        # switcher (``user_memberships``) shows the same list without asking again.
        actor: Actor | None = None
        if request.user.is_authenticated:
            chosen = request.session.get(SESSION_MEMBERSHIP_KEY)
            # the authentication backend read them with the user (filum.tenancy.backends)
            memberships = getattr(request.user, "filum_memberships", None)
            if memberships is None:
                memberships = memberships_of(request.user)
            cast(_MaybeActorRequest, request).filum_memberships = memberships
            membership = next((m for m in memberships if chosen and m.pk == chosen), None)
            if membership is None and memberships:
                membership = memberships[0]
            if membership is not None:
                actor = Actor(user=request.user, membership=membership)
        cast(_MaybeActorRequest, request).actor = actor
        return self.get_response(request)


class MfaRequiredMiddleware:
    """Members of an organisation that requires MFA must confirm a one-time code (R1)."""

    ALLOWED = PUBLIC_VIEWS | {"logout", "mfa_setup", "mfa_verify", "set_language"}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        actor: Actor | None = getattr(request, "actor", None)
        if actor is not None and actor.organisation.mfa_required:
            verified = getattr(request.user, "is_verified", lambda: False)()
            if not verified:
                try:
                    name = resolve(request.path_info).url_name
                except Exception:
                    name = None
                if name not in self.ALLOWED and not request.path_info.startswith("/static/"):
                    from django_otp import devices_for_user

                    has_device = any(devices_for_user(request.user, confirmed=True))
                    return redirect("mfa_verify" if has_device else "mfa_setup")
        return self.get_response(request)
