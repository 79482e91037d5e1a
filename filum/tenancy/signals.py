"""Security events for sign-in, sign-in failures and lockouts (R2, R26).

Only the user name the person typed is kept, never the password or any other credential.
Connected in ``TenancyConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.http import HttpRequest

from filum.records.services import log_security_event

MAX_USERNAME = 150


def _typed_username(value: Any) -> str:
    return str(value or "")[:MAX_USERNAME]


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    log_security_event("login.succeeded", request=request, user=user)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = _typed_username(credentials.get(get_user_model().USERNAME_FIELD))
    log_security_event("login.failed", request=request, username=username)


def on_locked_out(
    sender: Any,
    request: HttpRequest | None = None,
    username: Any = None,
    ip_address: Any = None,
    **kwargs: Any,
) -> None:
    log_security_event("login.locked_out", request=request, username=_typed_username(username))


def connect() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="filum.login.succeeded")
    user_login_failed.connect(on_login_failed, dispatch_uid="filum.login.failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="filum.login.locked_out")
