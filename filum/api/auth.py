"""Bearer-token authentication of the API: the token, its rate limit and its scope."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from filum.api.models import ApiToken, Scope
from filum.api.problems import Problem
from filum.api.tokens import audit_context, count_request, find_token, token_actor
from filum.tenancy.policy import Actor, allowed_relations


class TokenAuth(HttpBearer):
    """``Authorization: Bearer filum_...``. A token in force acts as its organisation's API
    role (``token_actor``); each request counts against its window (429 past the limit, the
    request refused before anything else); an operation outside the token's scopes is 403."""

    def __init__(self, scope: str) -> None:
        if scope not in Scope.values:
            raise ValueError(f"unknown scope {scope!r}")
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = find_token(token)
        if found is None:
            return None
        actor = token_actor(found)
        request.actor = actor  # type: ignore[attr-defined]
        limit = settings.FILUM_API_RATE_LIMIT
        if count_request(found) > limit:
            raise Problem(
                429,
                f"More than {limit} requests in {settings.FILUM_API_RATE_WINDOW_SECONDS} "
                "seconds with this token.",
                kind="rate-limited",
                headers={"Retry-After": str(settings.FILUM_API_RATE_WINDOW_SECONDS)},
            )
        if self.scope not in found.scopes:
            raise Problem(403, f"This token lacks the scope {self.scope}.", kind="missing-scope")
        audit_context(found, actor)
        return found


def actor_of(request: HttpRequest, action: str) -> Actor:
    """The token's actor, if its role may do ``action`` at all (as ``@requires`` for pages);
    object checks follow in the doors. Otherwise the uniform 404."""
    actor: Any = getattr(request, "actor", None)
    if actor is None or not allowed_relations(actor.role, action):
        raise Problem(404, "Not found.")
    return actor
