"""Sign-in, MFA, choosing the acting membership, and a super-user's management of members."""

from __future__ import annotations

import base64
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from filum.records.services import log_security_event
from filum.tenancy import services, signin
from filum.tenancy.forms import (
    ForgotPasswordForm,
    MemberForm,
    OrganisationMfaForm,
    OtpForm,
    SignInForm,
)
from filum.tenancy.middleware import SESSION_MEMBERSHIP_KEY, memberships_of
from filum.tenancy.models import LinkPurpose, Membership, Organisation
from filum.tenancy.policy import ActorRequest, account_view, platform_view, requires

MODEL_BACKEND = "filum.tenancy.backends.ModelBackend"
# The one answer to "forgot password", whether or not the address belongs to an account.
RESET_ANSWER = gettext_lazy(
    "If an account uses this address, a link to choose a new password is on its way. "
    "It can be used once, within one hour."
)


def remember_language(response: HttpResponseBase, language: str) -> HttpResponseBase:
    """Keep the user's language for the pages after sign-out too (the sign-in page)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


class SignInView(auth_views.LoginView):
    template_name = "tenancy/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        remember_language(response, form.get_user().language)
        return response


login_view = login_not_required(SignInView.as_view())
login_view.filum_action = "public"  # type: ignore[attr-defined]


@login_not_required
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also stores the choice on a signed-in user (X1)."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if request.method == "POST" and user.is_authenticated and language in dict(settings.LANGUAGES):
        if user.language != language:
            user.language = language
            user.save(update_fields=["language"])
    return response


set_language.filum_action = "public"  # type: ignore[attr-defined]


@login_not_required
@never_cache
def signin_link(request: HttpRequest, token: str) -> HttpResponse:
    """Choose a password through an invitation or reset link, then land signed in (X1)."""
    check = signin.check_link(token)
    if check.link is not None:
        # The person the link was made for reads it in their language, signed in or not.
        translation.activate(check.link.user.language)
        request.LANGUAGE_CODE = check.link.user.language
    if check.problem is not None or check.link is None:
        return link_problem(request, check.problem or signin.LinkProblem.UNKNOWN)
    link = check.link
    form = SetPasswordForm(link.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = signin.do_set_password(link=link, password=form.cleaned_data["new_password1"])
        if user is None:
            return link_problem(request, signin.check_link(token).problem or "used")
        invited = link.purpose == LinkPurpose.INVITATION
        kind = "password.set" if invited else "password.reset_used"
        log_security_event(kind, request=request, user=user, link=link.pk)
        # the session is bound to the new password's hash, so log in the updated user
        auth_login(request, user, backend=MODEL_BACKEND)
        messages.success(request, _("Your password is set. Welcome to Filum."))
        return remember_language(redirect("home"), user.language)  # type: ignore[return-value]
    return render(
        request,
        "tenancy/set_password.html",
        {"form": form, "invited": link.purpose == LinkPurpose.INVITATION, "link_user": link.user},
    )


signin_link.filum_action = "public"  # type: ignore[attr-defined]


def link_problem(request: HttpRequest, problem: str) -> HttpResponse:
    """A link that cannot be used: say why, in the reader's language, and what to do."""
    status = 404 if problem == signin.LinkProblem.UNKNOWN else 410
    return render(request, "tenancy/link_problem.html", {"problem": problem}, status=status)


@login_not_required
def password_forgot(request: HttpRequest) -> HttpResponse:
    """Ask for a link by e-mail. The answer never says whether the address is known (R5)."""
    form = ForgotPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if signin.reset_rate_exceeded(ip=request.META.get("REMOTE_ADDR")):
            context = {"form": form, "limited": True}
            return render(request, "tenancy/password_forgot.html", context, status=429)
        signin.request_reset(request=request, email=form.cleaned_data["email"])
        messages.info(request, RESET_ANSWER)
        return redirect("login")
    return render(request, "tenancy/password_forgot.html", {"form": form})


password_forgot.filum_action = "public"  # type: ignore[attr-defined]


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
    form = MemberForm(request.POST or None, organisation=actor.organisation, granted_by=actor.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            membership, created = services.do_add_member(
                actor=actor,
                username=form.cleaned_data["username"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                team=form.cleaned_data["team"],
                language=form.cleaned_data["language"],
            )
            log_security_event(
                "membership.granted",
                request=request,
                membership=membership.pk,
                role=membership.role,
            )
            if created:
                signin.issue_link(
                    request=request,
                    user=membership.user,
                    purpose=LinkPurpose.INVITATION,
                    created_by=request.user,  # type: ignore[arg-type]
                )
        if created:
            messages.success(
                request,
                _("The member was added and an invitation was sent to %(email)s.")
                % {"email": membership.user.email},
            )
        else:
            messages.success(request, _("The member was added."))
        return redirect("members")
    return render(request, "tenancy/members.html", {"rows": rows, "form": form})


@requires("org.manage_users")
@require_POST
def member_invite(request: ActorRequest, membership_id: int) -> HttpResponse:
    """Send a new invitation; the links sent before stop working."""
    actor = request.actor
    membership = services.get_membership_for_actor(actor=actor, membership_id=membership_id)
    user = membership.user
    if user.has_usable_password() or not user.is_active or not user.email:
        messages.warning(
            request,
            _(
                "%(user)s has already chosen a password. If it is forgotten, "
                "“Forgot password” on the sign-in page sends a new link."
            )
            % {"user": user},
        )
    else:
        signin.issue_link(
            request=request,
            user=user,
            purpose=LinkPurpose.INVITATION,
            created_by=request.user,  # type: ignore[arg-type]
        )
        messages.success(
            request,
            _("A new invitation was sent to %(email)s; earlier links no longer work.")
            % {"email": user.email},
        )
    return redirect("members")


@requires("org.manage_users")
@require_POST
def member_deactivate(request: ActorRequest, membership_id: int) -> HttpResponse:
    actor = request.actor
    membership = services.get_membership_for_actor(actor=actor, membership_id=membership_id)
    services.do_deactivate_membership(actor=actor, membership=membership)
    log_security_event("membership.revoked", request=request, membership=membership.pk)
    messages.success(request, _("The role was withdrawn."))
    return redirect("members")


def _mfa_settings(request: HttpRequest, organisations: Any, *, platform: bool) -> HttpResponse:
    """Switch two-factor sign-in for one of ``organisations`` (one page for the super-user's
    own organisation, one for the platform administrator's list of all of them)."""
    if request.method == "POST":
        form = OrganisationMfaForm(request.POST, organisations=organisations)
        if not form.is_valid():
            raise Http404
        organisation = form.cleaned_data["organisation"]
        required = form.cleaned_data["mfa_required"]
        if services.do_set_mfa_required(organisation=organisation, required=required):
            log_security_event(
                "organisation.mfa_changed",
                request=request,
                organisation_id=organisation.pk,
                required=required,
            )
        if required:
            messages.success(
                request,
                _("%(org)s now requires two-factor sign-in.") % {"org": organisation},
            )
        else:
            messages.success(
                request,
                _("%(org)s no longer requires two-factor sign-in.") % {"org": organisation},
            )
        return redirect(request.path)
    context = {"organisations": organisations, "platform": platform}
    return render(request, "tenancy/mfa_settings.html", context)


@requires("org.manage_users")
def organisation_security(request: ActorRequest) -> HttpResponse:
    actor = request.actor
    organisations = Organisation.objects.filter(pk=actor.organisation_id)
    return _mfa_settings(request, organisations, platform=False)


@platform_view
def platform_organisations(request: HttpRequest) -> HttpResponse:
    organisations = Organisation.objects.order_by("name")
    return _mfa_settings(request, organisations, platform=True)
