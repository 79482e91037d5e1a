"""One-time form tokens: a create form stores its data once, however often it is sent (X7).

Every create form carries ``{% form_token %}`` (a hidden UUID made when the form is shown).
Its view is decorated with ``@once_per_token``: the POST claims (user, token) with
INSERT ... ON CONFLICT DO NOTHING in the same transaction as the view's write. A second POST
of the same token (double click, resend after a lost response, browser back) waits for the
first to commit, finds the claim and is sent to where the first one was sent, with a message.
When the view does not succeed (form errors, an error message), the transaction is rolled
back, which releases the token, so the corrected form can be sent again.
See docs/decisions/0007-operations.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import messages
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from filum.web.models import SubmittedForm

FIELD = "form_token"

V = TypeVar("V", bound=Callable[..., HttpResponse])


def token_input() -> SafeString:
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, uuid.uuid4())


def _posted_token(request: HttpRequest) -> uuid.UUID | None:
    if request.method != "POST" or not request.user.is_authenticated:
        return None
    try:
        return uuid.UUID(request.POST.get(FIELD, ""))
    except ValueError:
        return None  # a form without a token (an older page, a script) is served as before


def _claim(user_id: int, token: uuid.UUID) -> bool:
    """True if this request is the first with the token; waits for a concurrent first one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO web_submittedform (user_id, token, result_url, created_at)"
            " VALUES (%s, %s, '', now()) ON CONFLICT (user_id, token) DO NOTHING RETURNING id",
            [user_id, token],
        )
        return cursor.fetchone() is not None


def _success_url(request: HttpRequest, response: HttpResponse) -> str | None:
    """Where a successful POST sent the browser; None if it did not succeed."""
    if not isinstance(response, HttpResponseRedirect):
        return None
    queued = getattr(messages.get_messages(request), "_queued_messages", [])
    if any(message.level >= messages.ERROR for message in queued):
        return None
    return str(response.url)


def once_per_token(view: V) -> V:
    """Serve a create form's POST at most once per token (see the module docstring)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _posted_token(request)
        if token is None:
            return view(request, *args, **kwargs)
        user_id: int = request.user.pk  # type: ignore[assignment]
        with transaction.atomic():
            if not _claim(user_id, token):
                stored = SubmittedForm.objects.filter(user_id=user_id, token=token).first()
                messages.info(
                    request, _("This form had already been sent: it was stored once, here it is.")
                )
                return redirect(stored.result_url if stored and stored.result_url else "home")
            response = view(request, *args, **kwargs)
            url = _success_url(request, response)
            if url is not None:
                SubmittedForm.objects.filter(user_id=user_id, token=token).update(result_url=url)
            else:
                transaction.set_rollback(True)
            return response

    return wrapped  # type: ignore[return-value]
