"""Request middleware: session timeouts, the acting membership, mandatory MFA."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import resolve, reverse
from django.utils import timezone

from filum.tenancy.models import Membership
from filum.tenancy.policy import PUBLIC_VIEWS, Actor

SESSION_MEMBERSHIP_KEY = "filum_membership_id"
_STARTED = "filum_session_started"
_SEEN = "filum_session_seen"


class SessionTimeoutMiddleware:
    """Idle timeout and absolute lifetime, enforced on the server (R6)."""

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
                return redirect(reverse("login") + "?expired=1")
            if not started:
                request.session[_STARTED] = now.isoformat()
            request.session[_SEEN] = now.isoformat()
        return self.get_response(request)


def memberships_of(user: Any) -> list[Membership]:
    return list(
        Membership.objects.active()
        .filter(user=user)
        .select_related("organisation", "team")
        .order_by("organisation__name", "role")
    )


class _MaybeActorRequest(HttpRequest):
    actor: Actor | None


class ActorMiddleware:
    """Sets ``request.actor``: the user acting in their chosen membership, or None."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Outside protected views the actor may be missing; ``@requires`` refuses those
        # requests, so the views themselves see an ``ActorRequest`` with an actor.
        actor: Actor | None = None
        if request.user.is_authenticated:
            chosen = request.session.get(SESSION_MEMBERSHIP_KEY)
            qs = (
                Membership.objects.active()
                .filter(user=request.user)
                .select_related("organisation", "team")
                .order_by("organisation__name", "role")
            )
            membership = (qs.filter(pk=chosen).first() if chosen else None) or qs.first()
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
