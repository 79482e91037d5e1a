"""Sign-in, passwords, lockout, sessions and two-factor sign-in (R1–R8, R26)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, identify_hasher
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.test.signals import template_rendered
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from filum.records.models import SecurityEvent
from tests import factories
from tests.factories import PASSWORD
from tests.test_access_matrix import ENDPOINTS, build_target
from tests.test_access_matrix import reverse as matrix_reverse

LOGIN = "/login/"
IP = "203.0.113.7"


def sign_in(client: Client, username: str, password: str, ip: str = IP):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# ---------------------------------------------------------------------------------------------
# Passwords (R4)


def test_r4_argon2_hashes_the_passwords(world):
    assert get_hasher().algorithm == "argon2"
    assert identify_hasher(world.worker.user.password).algorithm == "argon2"


@pytest.mark.parametrize("password", ["short-pw-11", "abcdefghijk", "password1234"])
def test_r4_short_and_common_passwords_are_refused(db, password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_r4_a_long_passphrase_is_accepted_untruncated(world):
    passphrase = "le chat de la voisine dort sur le toit rouge depuis midi, hélas!"
    assert len(passphrase) == 64
    validate_password(passphrase, user=world.worker.user)
    user = world.worker.user
    user.set_password(passphrase)
    user.save()
    assert user.check_password(passphrase)
    assert not user.check_password(passphrase[:63])
    client = Client()
    assert sign_in(client, "worker", passphrase).status_code == 302
    assert signed_in(client)


def test_r5_only_the_approved_authentication_backends(db):
    assert settings.AUTHENTICATION_BACKENDS == [
        "axes.backends.AxesStandaloneBackend",
        "filum.tenancy.backends.ModelBackend",
    ]
    assert not get_user_model().objects.filter(username__in=["admin", "root"]).exists()


# ---------------------------------------------------------------------------------------------
# Sign-in events and lockout (R2, R26)


def test_r26_sign_in_and_failures_are_logged_without_the_password(world):
    client = Client()
    wrong = "Wrong-Canary-Passw0rd!"
    response = sign_in(client, "worker", wrong)
    assert response.status_code == 200
    assert not signed_in(client)
    assert response.context["form"].has_error("__all__", "invalid_login")
    failed = SecurityEvent.objects.get(kind="login.failed")
    assert failed.detail == {"username": "worker"}
    assert failed.ip_address == IP
    assert sign_in(client, "worker", PASSWORD).status_code == 302
    success = SecurityEvent.objects.get(kind="login.succeeded")
    assert success.user == world.worker.user
    assert success.ip_address == IP
    for event in SecurityEvent.objects.all():
        assert wrong not in str(event.detail)
        assert PASSWORD not in str(event.detail)


def test_r27_a_newline_in_the_user_name_stays_in_one_field(db):
    sign_in(Client(), "evil\nlogin.succeeded user=admin", "x" * 12)
    event = SecurityEvent.objects.get(kind="login.failed")
    assert event.detail["username"] == "evil\nlogin.succeeded user=admin"
    assert not SecurityEvent.objects.filter(kind="login.succeeded").exists()


def test_r2_lockout_after_five_failures_per_user_and_ip_with_cool_off(world):
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(attacker, "worker", "not-the-password")
    assert SecurityEvent.objects.filter(kind="login.locked_out").exists()
    locked = SecurityEvent.objects.filter(kind="login.locked_out").first()
    assert locked is not None and locked.detail == {"username": "worker"}

    # The right password is refused too while the lock lasts ...
    victim = Client()
    response = sign_in(victim, "worker", PASSWORD)
    assert response.status_code in (403, 429)
    assert not signed_in(victim)
    # ... but only for this user from this address.
    colleague = Client()
    assert sign_in(colleague, "colleague", PASSWORD).status_code == 302
    assert signed_in(colleague)
    elsewhere = Client()
    assert sign_in(elsewhere, "worker", PASSWORD, ip="198.51.100.9").status_code == 302

    later = timezone.now() + settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        after = Client()
        assert sign_in(after, "worker", PASSWORD).status_code == 302
        assert signed_in(after)


def test_r2_four_failures_do_not_lock(world):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "worker", "not-the-password")
    assert sign_in(client, "worker", PASSWORD).status_code == 302
    assert not SecurityEvent.objects.filter(kind="login.locked_out").exists()


# ---------------------------------------------------------------------------------------------
# Sessions (R6, R7)


def test_r6_idle_timeout_sends_back_to_the_login_page(world):
    client = world.worker.client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get(reverse("case_list")).status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=29), tick=False):
        assert client.get(reverse("case_list")).status_code == 200
    with time_machine.travel(start + datetime.timedelta(minutes=29 + 31), tick=False):
        response = client.get(reverse("case_list"))
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
        again = client.get(reverse("case_list"))
        assert again.status_code == 302 and again["Location"].startswith(LOGIN)


def case_list_at(client: Client, at: datetime.datetime) -> int:
    """The status of the dossier list asked for at ``at`` (302: sent to the login page)."""
    with time_machine.travel(at, tick=False):
        response = client.get(reverse("case_list"))
    assert response.status_code != 302 or response["Location"].startswith(LOGIN)
    return response.status_code


def test_r6_idle_timeout_counts_from_a_stamp_kept_to_the_minute(world):
    """The last-activity stamp is refreshed once a minute (U4): requests within a minute of it
    do not move it, so the timeout ends the session up to a minute early, never late."""
    client = world.worker.client()
    start = timezone.now()
    idle = settings.SESSION_IDLE_TIMEOUT
    second = datetime.timedelta(seconds=1)
    assert case_list_at(client, start) == 200
    assert case_list_at(client, start + 50 * second) == 200  # the stamp stays at start
    assert case_list_at(client, start + idle - second) == 200  # refreshes the stamp
    assert case_list_at(client, start + idle - second + idle + second) == 302


def test_r6_idle_timeout_is_never_later_than_configured(world):
    client = world.worker.client()
    start = timezone.now()
    last = start + datetime.timedelta(seconds=50)  # within the stamp's minute
    assert case_list_at(client, start) == 200
    assert case_list_at(client, last) == 200
    # idle for the timeout since the last request: signed out
    assert case_list_at(client, last + settings.SESSION_IDLE_TIMEOUT) == 302


def test_r6_absolute_lifetime_ends_even_a_busy_session(world):
    client = world.worker.client()
    start = timezone.now()
    statuses = []
    for minutes in range(0, 10 * 60 + 21, 20):
        with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
            statuses.append((minutes, client.get(reverse("case_list")).status_code))
    assert all(status == 200 for minutes, status in statuses if minutes <= 10 * 60)
    assert [status for minutes, status in statuses if minutes > 10 * 60] == [302]


def test_r7_logout_deletes_the_server_session_and_clears_the_browser(world):
    client = Client()
    sign_in(client, "worker", PASSWORD)
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=old_key).exists()
    assert client.get(reverse("logout")).status_code == 200  # a confirmation page, no logout
    assert Session.objects.filter(session_key=old_key).exists()
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "cookies" in response["Clear-Site-Data"] and "storage" in response["Clear-Site-Data"]
    assert not Session.objects.filter(session_key=old_key).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    response = replay.get(reverse("case_list"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@contextmanager
def signing_out_elsewhere_while_rendering(client: Client) -> Iterator[None]:
    """The same browser signs out (another tab, or the sign-out button) while ``client``'s
    request is being rendered: the session row disappears between load and save."""
    other_tab = Client()
    other_tab.cookies = client.cookies
    done = []

    def sign_out(**_: object) -> None:
        if not done:
            done.append(True)
            assert other_tab.post(reverse("logout")).status_code == 302

    template_rendered.connect(sign_out)
    try:
        yield
    finally:
        template_rendered.disconnect(sign_out)
    assert done, "the request rendered no template: the sign-out never happened"


def test_r7_a_panel_whose_session_ends_while_it_loads_sends_the_page_to_the_login(world):
    client = world.worker.client()
    panel = reverse("case_steering_panel", args=[world.case.pk])
    with signing_out_elsewhere_while_rendering(client):
        response = client.get(panel, headers={"HX-Request": "true"})
    # htmx replaces the whole page, instead of showing the login form inside the panel
    assert response.status_code == 200
    assert response["HX-Redirect"] == LOGIN
    assert b"steering" not in response.content.lower()
    again = client.get(panel, headers={"HX-Request": "true"})
    assert again.status_code == 200 and again["HX-Redirect"].startswith(LOGIN)


def test_r7_a_page_whose_session_ends_while_it_loads_goes_to_the_login(world):
    client = world.worker.client()
    detail = reverse("case_detail", args=[world.case.pk])
    with signing_out_elsewhere_while_rendering(client):
        response = client.get(detail)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={detail}"
    assert client.get(detail).status_code == 302


def test_r7_the_session_key_changes_at_sign_in(world):
    client = Client()
    session = client.session
    session["before"] = "anonymous"
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert sign_in(client, "worker", PASSWORD).status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()


def test_r7_a_deactivated_user_is_out_at_once(world):
    client = world.worker.client()
    assert client.get(reverse("case_list")).status_code == 200
    world.worker.user.is_active = False
    world.worker.user.save(update_fields=["is_active"])
    response = client.get(reverse("case_list"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert sign_in(Client(), "worker", PASSWORD).status_code == 200  # refused


def test_r7_a_withdrawn_role_takes_effect_at_once(world):
    client = world.worker.client()
    assert client.get(reverse("case_detail", args=[world.case.pk])).status_code == 200
    world.worker.membership.is_active = False
    world.worker.membership.save(update_fields=["is_active"])
    assert client.get(reverse("case_detail", args=[world.case.pk])).status_code == 404


def test_r7_switching_to_a_foreign_membership_is_refused(world):
    client = world.worker.client()
    foreign = world.outsider.membership.pk
    assert client.post(reverse("switch_membership"), {"membership": foreign}).status_code == 404
    assert client.get(reverse("case_detail", args=[world.other_case.pk])).status_code == 404


# ---------------------------------------------------------------------------------------------
# Two-factor sign-in (R1, R3)


def _token(device: TOTPDevice) -> str:
    """The current code of the device (time_machine moves the clock it reads)."""
    return f"{totp(device.bin_key):06d}"


def _every_url(world) -> list[str]:
    bystander = factories.OrganisationFactory(name="Bystander")
    urls = []
    for name, endpoint in ENDPOINTS.items():
        # the API answers tokens, not sessions (a session gets 401 there: test_access_matrix)
        if endpoint.kind in ("public", "api") or name in {"logout", "mfa_setup", "mfa_verify"}:
            continue
        for kind in endpoint.targets:
            urls.append(matrix_reverse(name, kwargs=build_target(world, bystander, kind).kwargs))
    return urls


def test_r1_members_of_an_mfa_organisation_must_enrol_before_anything_else(world):
    world.service_org.mfa_required = True
    world.service_org.save(update_fields=["mfa_required"])
    client = world.worker.client()
    urls = _every_url(world)
    assert len(urls) > 20
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, (method, url)
            assert response["Location"] == reverse("mfa_setup"), (method, url)
    # Members of other organisations are not concerned.
    assert world.partner.client().get(reverse("case_list")).status_code == 200

    page = client.get(reverse("mfa_setup"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=world.worker.user, confirmed=False)
    assert client.post(reverse("mfa_setup"), {"token": "000000"}).status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    now = timezone.now() + datetime.timedelta(seconds=5)  # past the throttle of the failure
    with time_machine.travel(now, tick=False):
        response = client.post(reverse("mfa_setup"), {"token": _token(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert SecurityEvent.objects.filter(kind="mfa.enrolled", user=world.worker.user).exists()
    assert client.get(reverse("case_list")).status_code == 200

    # A new session must confirm a code; the code already used does not work again (R3).
    later = Client()
    later.force_login(world.worker.user)
    for url in urls[:5]:
        response = later.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("mfa_verify")
    with time_machine.travel(now, tick=False):
        reused = later.post(reverse("mfa_verify"), {"token": _token(device)})
    assert reused.status_code == 200
    assert "déjà été utilisé" in reused.content.decode()
    assert later.get(reverse("case_list")).status_code == 302
    assert SecurityEvent.objects.filter(kind="mfa.failed").count() == 1
    step = now + datetime.timedelta(seconds=30)
    with time_machine.travel(step, tick=False):
        response = later.post(reverse("mfa_verify"), {"token": _token(device)})
        assert response.status_code == 302
        assert later.get(reverse("case_list")).status_code == 200


def test_r1_an_enrolled_user_cannot_replace_the_device_without_a_code(world):
    """Without this, a stolen password alone would let an attacker enrol their own device."""
    world.service_org.mfa_required = True
    world.service_org.save(update_fields=["mfa_required"])
    TOTPDevice.objects.create(user=world.worker.user, name="phone", confirmed=True)
    attacker = world.worker.client()
    response = attacker.get(reverse("mfa_setup"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_verify")
    assert not TOTPDevice.objects.filter(user=world.worker.user, confirmed=False).exists()
    own = TOTPDevice.objects.create(user=world.worker.user, name="x", confirmed=False)
    response = attacker.post(reverse("mfa_setup"), {"token": _token(own)})
    assert response.status_code == 302 and response["Location"] == reverse("mfa_verify")
    assert TOTPDevice.objects.filter(user=world.worker.user, confirmed=True).count() == 1
    assert attacker.get(reverse("case_list")).status_code == 302


def test_r1_the_code_page_does_not_redirect_elsewhere(world):
    world.service_org.mfa_required = True
    world.service_org.save(update_fields=["mfa_required"])
    device = TOTPDevice.objects.create(user=world.worker.user, name="phone", confirmed=True)
    client = world.worker.client()
    url = reverse("mfa_verify") + "?next=https://evil.example/phish"
    response = client.post(url, {"token": _token(device)})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_r3_recovery_and_device_keys_are_not_in_security_events(world):
    world.service_org.mfa_required = True
    world.service_org.save(update_fields=["mfa_required"])
    client = world.worker.client()
    client.get(reverse("mfa_setup"))
    device = TOTPDevice.objects.get(user=world.worker.user)
    client.post(reverse("mfa_setup"), {"token": _token(device)})
    for event in SecurityEvent.objects.all():
        assert device.key not in str(event.detail)
