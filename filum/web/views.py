"""Start page (the health probes are in filum/web/probes.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from filum.tenancy.middleware import memberships_of
from filum.tenancy.policy import account_view, is_platform_admin

# Where each role starts; roles not listed start on their dossier list.
START_PAGES = {
    "dpo": "audit_find",
    "super_user": "members",
    "social_worker": "cockpit",
    "section_head": "cockpit",
    "intake_worker": "cockpit",
    "admin_assistant": "cockpit",
    "canton_officer": "template_list",
    "canton_analyst": "indicator_list",
}


@account_view
def home(request: HttpRequest) -> HttpResponse:
    actor = getattr(request, "actor", None)
    if actor is None:
        if is_platform_admin(request.user):
            return redirect("platform_organisations")
        return render(request, "web/no_membership.html", status=403)
    if actor.role in START_PAGES:
        return redirect(START_PAGES[actor.role])
    if actor.may("case.list"):
        return redirect("case_list")
    return render(request, "web/home.html", {"memberships": memberships_of(request.user)})
