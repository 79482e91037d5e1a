"""The super-user's page of the organisation's API tokens (decision 0028)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filum.api import tokens
from filum.api.forms import TokenForm
from filum.api.models import ApiToken
from filum.tenancy.policy import ActorRequest, requires

LIST_SIZE = 200


@requires("org.manage_users")
def api_tokens(request: ActorRequest) -> HttpResponse:
    """The organisation's tokens, newest first, and the form for a new one; a new token's
    secret is shown on the answer to the POST, once, and never again."""
    actor = request.actor
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        created = tokens.do_create_token(
            actor=actor,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.expires_at(),
            request=request,
        )
        form = TokenForm()
    rows = list(
        ApiToken.objects.filter(organisation_id=actor.organisation_id)
        .select_related("created_by", "revoked_by", "use")
        .order_by("-created_at", "-pk")[:LIST_SIZE]
    )
    return render(
        request,
        "api/tokens.html",
        {"form": form, "rows": rows, "created": created, "current": "members"},
    )


@requires("org.manage_users")
@require_POST
def api_token_revoke(request: ActorRequest, token_id: int) -> HttpResponse:
    token = tokens.get_token_for_actor(actor=request.actor, token_id=token_id)
    if tokens.do_revoke_token(actor=request.actor, token=token, request=request):
        messages.success(request, _("The token was revoked. It no longer works."))
    return redirect("api_tokens")
