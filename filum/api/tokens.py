"""Making, revoking and checking API tokens; the per-token rate limit (decision 0028)."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import pghistory
from django.conf import settings
from django.db import connection, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from filum.api.models import ApiToken, Scope
from filum.records.services import log_security_event
from filum.tenancy.models import Membership, User
from filum.tenancy.policy import API_ROLE, Actor
from filum.tenancy.signin import token_hash

TOKEN_PREFIX = "filum_"  # noqa: S105 (not a secret: what every token starts with)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def _secret() -> tuple[str, str]:
    public = secrets.token_hex(4)
    return public, f"{TOKEN_PREFIX}{public}_{secrets.token_urlsafe(32)}"


@transaction.atomic
def do_create_token(
    *,
    actor: Actor,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime.datetime | None,
    request: HttpRequest | None = None,
) -> NewToken:
    """A token of the actor's organisation, acting as a new technical user."""
    public, secret = _secret()
    user = User(
        username=f"api-{public}",
        first_name=name[:150],
        last_name="(API)",
        is_active=True,
        # the language of the token's error messages: the organisation's
        language=actor.organisation.language,
    )
    user.set_unusable_password()
    user.save()
    token = ApiToken.objects.create(
        organisation_id=actor.organisation_id,
        user=user,
        name=name,
        prefix=f"{TOKEN_PREFIX}{public}",
        token_hash=token_hash(secret),
        scopes=sorted(set(scopes), key=list(Scope.values).index),
        created_by=actor.user,
        expires_at=expires_at,
    )
    log_security_event(
        "api_token.created",
        request=request,
        user=actor.user,
        organisation_id=actor.organisation_id,
        token=token.pk,
        scopes=token.scopes,
    )
    return NewToken(token=token, secret=secret)


def get_token_for_actor(*, actor: Actor, token_id: int) -> ApiToken:
    """A token of the actor's organisation (the super-user's page); else the uniform 404."""
    token = ApiToken.objects.filter(pk=token_id, organisation_id=actor.organisation_id).first()
    if token is None:
        raise Http404
    return token


@transaction.atomic
def do_revoke_token(*, actor: Actor, token: ApiToken, request: HttpRequest | None = None) -> bool:
    """Revoke at once; the next request with it answers 401. False if it already was."""
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor.user
    )
    if changed:
        log_security_event(
            "api_token.revoked",
            request=request,
            user=actor.user,
            organisation_id=actor.organisation_id,
            token=token.pk,
        )
    return bool(changed)


def token_actor(token: ApiToken) -> Actor:
    """The actor a token acts as: its technical user in the organisation's API role. The
    membership is not stored: no member can hold the API role, and the token cannot sign in."""
    membership = Membership(
        user=token.user, organisation=token.organisation, role=API_ROLE, is_active=True
    )
    return Actor(user=token.user, membership=membership)


def find_token(secret: str) -> ApiToken | None:
    """The token in force with this secret (one query), or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return (
        ApiToken.objects.in_force()
        .filter(token_hash=token_hash(secret), user__is_active=True)
        .select_related("organisation", "user")
        .first()
    )


def count_request(token: ApiToken) -> int:
    """Count the request in the token's fixed window and stamp its last use, in one upsert;
    the number of requests in the current window, this one included."""
    now = timezone.now()
    window = settings.FILUM_API_RATE_WINDOW_SECONDS
    start = datetime.datetime.fromtimestamp(
        int(now.timestamp()) // window * window, tz=datetime.UTC
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO api_apitokenuse (token_id, window_start, window_count, last_used_at)
            VALUES (%s, %s, 1, %s)
            ON CONFLICT (token_id) DO UPDATE SET
                window_count = CASE WHEN api_apitokenuse.window_start = EXCLUDED.window_start
                                    THEN api_apitokenuse.window_count + 1 ELSE 1 END,
                window_start = EXCLUDED.window_start,
                last_used_at = EXCLUDED.last_used_at
            RETURNING window_count
            """,
            [token.pk, start, now],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 1


def audit_context(token: ApiToken, actor: Actor) -> None:
    """Name the token's user and organisation in the audit of whatever the request writes
    (the session middleware found no user)."""
    pghistory.context(
        user=token.user_id,
        organisation=actor.organisation_id,
        role=actor.role,
        api_token=token.pk,
    )
