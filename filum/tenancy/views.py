"""Sign-in, MFA, choosing the acting membership, and a super-user's management of members."""

from __future__ import annotations

import base64

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from filum.records.services import log_security_event
from filum.tenancy import services
from filum.tenancy.forms import MemberForm, OtpForm, SignInForm
from filum.tenancy.middleware import SESSION_MEMBERSHIP_KEY, memberships_of
from filum.tenancy.models import Membership
from filum.tenancy.policy import ActorRequest, account_view, requires


class SignInView(auth_views.LoginView):
    template_name = "tenancy/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


login_view = login_not_required(SignInView.as_view())
login_view.filum_action = "public"  # type: ignore[attr-defined]


@account_view
def logout_view(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return render(request, "tenancy/logout_confirm.html")
    response = auth_views.LogoutView.as_view()(request)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@account_view
@require_POST
def switch_membership(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("membership", "")
    if not wanted.isdigit() or not any(m.pk == int(wanted) for m in memberships_of(request.user)):
        raise Http404
    request.session[SESSION_MEMBERSHIP_KEY] = int(wanted)
    return redirect("home")


@account_view
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP authenticator: show the key as QR code, confirm with a first code."""
    verified = getattr(request.user, "is_verified", lambda: False)()
    if not verified and any(devices_for_user(request.user, confirmed=True)):
        # Replacing a device needs a session confirmed with the current one; otherwise a
        # password alone would be enough to enrol an attacker's authenticator.
        return redirect("mfa_verify")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="default", confirmed=False)
    form = OtpForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            TOTPDevice.objects.filter(user=request.user, confirmed=True).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        otp_login(request, device)
        log_security_event("mfa.enrolled", request=request)
        messages.success(request, _("Two-factor sign-in is set up."))
        return redirect("home")
    qr = segno.make(device.config_url, error="m")
    svg = base64.b64encode(qr.svg_inline(scale=4).encode()).decode()
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "tenancy/mfa_setup.html",
        {"form": form, "qr_data_uri": f"data:image/svg+xml;base64,{svg}", "secret": secret},
    )


@account_view
def mfa_verify(request: HttpRequest) -> HttpResponse:
    device = next(iter(devices_for_user(request.user, confirmed=True)), None)
    if device is None:
        return redirect("mfa_setup")
    form = OtpForm(request.POST or None, device=device)
    if request.method == "POST":
        if form.is_valid():
            otp_login(request, device)
            log_security_event("mfa.verified", request=request)
            next_url = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                next_url = "home"
            return redirect(next_url)
        log_security_event("mfa.failed", request=request)
    return render(request, "tenancy/mfa_verify.html", {"form": form})


@requires("org.manage_users")
def members(request: ActorRequest) -> HttpResponse:
    actor = request.actor
    rows = (
        Membership.objects.filter(organisation_id=actor.organisation_id)
        .select_related("user", "team")
        .order_by("user__last_name", "user__first_name", "role")
    )
    form = MemberForm(request.POST or None, organisation=actor.organisation)
    if request.method == "POST" and form.is_valid():
        membership = services.do_add_member(
            actor=actor,
            username=form.cleaned_data["username"],
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            team=form.cleaned_data["team"],
        )
        log_security_event(
            "membership.granted", request=request, membership=membership.pk, role=membership.role
        )
        messages.success(request, _("The member was added."))
        return redirect("members")
    return render(request, "tenancy/members.html", {"rows": rows, "form": form})


@requires("org.manage_users")
@require_POST
def member_deactivate(request: ActorRequest, membership_id: int) -> HttpResponse:
    actor = request.actor
    membership = services.get_membership_for_actor(actor=actor, membership_id=membership_id)
    services.do_deactivate_membership(actor=actor, membership=membership)
    log_security_event("membership.revoked", request=request, membership=membership.pk)
    messages.success(request, _("The role was withdrawn."))
    return redirect("members")
