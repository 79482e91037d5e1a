"""Signing in for real: invitations, "forgot password", two-factor sign-in per organisation,
the user's language, and who may grant roles to whom (X1, X6, R1, R5)."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from filum.records.models import SecurityEvent
from filum.tenancy import services
from filum.tenancy.models import Membership, SignInLink, User
from filum.tenancy.signin import RESET_LINKS_PER_ACCOUNT, RESET_REQUESTS_PER_IP
from tests import factories
from tests.conftest import make_persona
from tests.factories import PASSWORD
from tests.test_templates_i18n import check_page, strict_templates  # noqa: F401 (fixture)

NEW_PASSWORD = "un jardin de tomates au bord du lac"
LINK = re.compile(r"https?://\S+/account/link/(?P<token>[\w-]+)/")


@pytest.fixture
def send_mail_now(django_capture_on_commit_callbacks):
    """E-mails leave on commit; the test transaction never commits, so run the callbacks."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def invite(world, send_mail_now, *, username="neo", language="fr", role="social_worker"):
    data = {
        "username": username,
        "first_name": "Noémie",
        "last_name": "Rochat",
        "email": f"{username}@example.ch",
        "role": role,
        "team": "",
        "language": language,
    }
    client = world.superuser.client()
    response = send_mail_now(lambda: client.post(reverse("members"), data))
    assert response.status_code == 302, response.content.decode()[:500]
    return User.objects.get(username=username)


def link_in(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return reverse("signin_link", kwargs={"token": match["token"]})


def choose_password(client: Client, url: str, password: str = NEW_PASSWORD):
    return client.post(url, {"new_password1": password, "new_password2": password})


def text(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------------------------------------
# Invitations (X1)


def test_x1_invited_user_sets_a_password_and_lands_on_the_cockpit(world, send_mail_now):
    user = invite(world, send_mail_now)
    assert not user.has_usable_password()
    assert [m.to for m in mail.outbox] == [["neo@example.ch"]]
    message = mail.outbox[0]
    assert "neo" in message.body and "72" in message.body
    url = link_in(message)
    token = url.rstrip("/").rsplit("/", 1)[1]
    stored = SignInLink.objects.get(user=user)
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    assert stored.expires_at - stored.created_at == datetime.timedelta(hours=72)
    assert SecurityEvent.objects.filter(kind="invitation.sent", user=user).exists()

    client = Client()
    assert client.get(url).status_code == 200
    response = choose_password(client, url)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home"))["Location"] == reverse("cockpit")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert SecurityEvent.objects.filter(kind="password.set", user=user).exists()
    # and from now on with the password on the sign-in page
    again = Client()
    response = again.post(reverse("login"), {"username": "neo", "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_x1_invitation_in_german_for_a_german_speaking_user(world, send_mail_now):
    invite(world, send_mail_now, username="anna", language="de")
    message = mail.outbox[0]
    assert "Passwort" in message.subject + message.body
    response = Client().get(link_in(message))
    assert 'lang="de"' in text(response)


def test_x1_a_weak_password_is_refused_and_the_link_stays_open(world, send_mail_now):
    user = invite(world, send_mail_now)
    url = link_in(mail.outbox[0])
    response = choose_password(Client(), url, "short")
    assert response.status_code == 200
    assert response.context["form"].errors
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert SignInLink.objects.get(user=user).used_at is None
    assert choose_password(Client(), url).status_code == 302


def test_x1_a_used_link_is_refused_with_a_clear_message(world, send_mail_now):
    user = invite(world, send_mail_now)
    url = link_in(mail.outbox[0])
    assert choose_password(Client(), url).status_code == 302
    for response in (Client().get(url), choose_password(Client(), url, "another long passphrase")):
        assert response.status_code == 410
        assert "déjà été utilisé" in text(response)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_x1_an_expired_link_is_refused_in_the_users_language(world, send_mail_now):
    user = invite(world, send_mail_now, username="kurt", language="de")
    url = link_in(mail.outbox[0])
    later = timezone.now() + datetime.timedelta(hours=72, minutes=1)
    with time_machine.travel(later, tick=False):
        for response in (Client().get(url), choose_password(Client(), url)):
            assert response.status_code == 410
            assert "abgelaufen" in text(response)
    user.refresh_from_db()
    assert not user.has_usable_password()


@pytest.mark.parametrize("token", ["garbage", "x" * 300, "Zm9v-YmFy_", "0" * 64])
def test_x1_a_wrong_token_answers_a_clear_404(world, token):
    url = reverse("signin_link", kwargs={"token": token})
    for response in (Client().get(url), choose_password(Client(), url)):
        assert response.status_code == 404
        assert "pas valide" in text(response)
    assert not SignInLink.objects.exists()
    assert not SecurityEvent.objects.filter(kind__startswith="password.").exists()


def test_x1_a_new_invitation_replaces_the_old_link(world, send_mail_now):
    user = invite(world, send_mail_now)
    first = link_in(mail.outbox[0])
    membership = Membership.objects.get(user=user)
    resend = reverse("member_invite", kwargs={"membership_id": membership.pk})
    response = send_mail_now(lambda: world.superuser.client().post(resend))
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    second = link_in(mail.outbox[1])
    assert first != second
    response = Client().get(first)
    assert response.status_code == 410 and "remplacé" in text(response)
    assert choose_password(Client(), second).status_code == 302
    assert SecurityEvent.objects.filter(kind="invitation.sent", user=user).count() == 2


def test_x1_no_new_invitation_once_the_password_is_chosen(world, send_mail_now):
    resend = reverse("member_invite", kwargs={"membership_id": world.worker.membership.pk})
    response = send_mail_now(lambda: world.superuser.client().post(resend))
    assert response.status_code == 302
    assert mail.outbox == []
    assert not SignInLink.objects.filter(user=world.worker.user).exists()


def test_x1_an_invited_member_of_an_mfa_organisation_enrols_totp(world, send_mail_now):
    world.service_org.mfa_required = True
    world.service_org.save(update_fields=["mfa_required"])
    # the super-user confirmed their own sign-in with a code
    user = User.objects.get(pk=world.superuser.user.pk)
    TOTPDevice.objects.create(user=user, name="su", confirmed=True)
    invite_client = Client()
    invite_client.force_login(user)
    device = TOTPDevice.objects.get(user=user)
    invite_client.post(reverse("mfa_verify"), {"token": f"{totp(device.bin_key):06d}"})
    data = {
        "username": "neo",
        "first_name": "Noé",
        "last_name": "Rochat",
        "email": "neo@example.ch",
        "role": "social_worker",
        "language": "fr",
    }
    assert send_mail_now(lambda: invite_client.post(reverse("members"), data)).status_code == 302

    client = Client()
    assert choose_password(client, link_in(mail.outbox[0])).status_code == 302
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_setup")
    client.get(reverse("mfa_setup"))
    new = TOTPDevice.objects.get(user__username="neo", confirmed=False)
    response = client.post(reverse("mfa_setup"), {"token": f"{totp(new.bin_key):06d}"})
    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"] == reverse("cockpit")
    assert client.get(reverse("cockpit")).status_code == 200


# ---------------------------------------------------------------------------------------------
# Forgot password (R5)


def forgot(client: Client, email: str, ip: str = "203.0.113.20"):
    return client.post(reverse("password_forgot"), {"email": email}, REMOTE_ADDR=ip)


def test_r5_forgot_password_answers_the_same_for_an_unknown_address(world, send_mail_now):
    known = send_mail_now(lambda: forgot(Client(), world.worker.user.email.upper()))
    unknown = send_mail_now(lambda: forgot(Client(), "nobody@example.ch"))
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == reverse("login")
    pages = [Client().get(r["Location"]) for r in (known, unknown)]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [world.worker.user.email]
    kinds = SecurityEvent.objects.filter(kind="password.reset_requested")
    assert kinds.count() == 2
    assert pages[0].status_code == pages[1].status_code == 200


def test_r5_a_reset_link_replaces_the_password_once(world, send_mail_now):
    send_mail_now(lambda: forgot(Client(), world.worker.user.email))
    url = link_in(mail.outbox[0])
    stored = SignInLink.objects.get(user=world.worker.user)
    assert stored.expires_at - stored.created_at == datetime.timedelta(hours=1)
    client = Client()
    assert choose_password(client, url).status_code == 302
    user = User.objects.get(pk=world.worker.user.pk)
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert SecurityEvent.objects.filter(kind="password.reset_used", user=user).exists()
    assert Client().get(url).status_code == 410
    later = timezone.now() + datetime.timedelta(minutes=61)
    send_mail_now(lambda: forgot(Client(), world.worker.user.email))
    with time_machine.travel(later, tick=False):
        response = Client().get(link_in(mail.outbox[1]))
        assert response.status_code == 410 and "expiré" in text(response)


def test_r5_forgot_password_is_rate_limited(world, send_mail_now):
    for _ in range(RESET_LINKS_PER_ACCOUNT + 2):
        send_mail_now(lambda: forgot(Client(), world.worker.user.email))
    assert len(mail.outbox) == RESET_LINKS_PER_ACCOUNT
    # per address: the same answer, nothing more sent; per network: told to wait
    sent = SecurityEvent.objects.filter(kind="password.reset_requested").count()
    for _ in range(RESET_REQUESTS_PER_IP - sent):
        assert forgot(Client(), "nobody@example.ch").status_code == 302
    response = forgot(Client(), world.colleague.user.email)
    assert response.status_code == 429
    assert len(mail.outbox) == RESET_LINKS_PER_ACCOUNT
    assert forgot(Client(), world.colleague.user.email, ip="198.51.100.1").status_code == 302


def test_r5_the_sign_in_page_links_to_forgot_password(db):
    assert reverse("password_forgot") in text(Client().get(reverse("login")))


# ---------------------------------------------------------------------------------------------
# The user's language (X1)


def test_x1_the_stored_language_is_applied_at_sign_in(world):
    User.objects.filter(pk=world.worker.user.pk).update(language="de")
    client = Client()
    client.cookies["django_language"] = "fr"
    response = client.post(reverse("login"), {"username": "worker", "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "de"
    page = client.get(reverse("cockpit"), HTTP_ACCEPT_LANGUAGE="fr")
    assert 'lang="de"' in text(page)


def test_x1_switching_the_language_stores_it_on_the_user(world):
    client = world.worker.client()
    response = client.post(reverse("set_language"), {"language": "de", "next": "/"})
    assert response.status_code == 302
    assert User.objects.get(pk=world.worker.user.pk).language == "de"
    assert 'lang="de"' in text(client.get(reverse("cockpit")))
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert User.objects.get(pk=world.worker.user.pk).language == "de"


# ---------------------------------------------------------------------------------------------
# Two-factor sign-in per organisation (R1)


def mfa_post(client: Client, url: str, org, required: bool):
    return client.post(url, {"organisation": org.pk, "mfa_required": "on" if required else ""})


def platform_admin() -> Client:
    """A platform administrator (is_superuser, no membership) in a session confirmed by TOTP."""
    admin = factories.UserFactory(username="platform", is_superuser=True)
    device = TOTPDevice.objects.create(user=admin, name="admin", confirmed=True)
    client = Client()
    client.force_login(admin)
    client.post(reverse("mfa_verify"), {"token": f"{totp(device.bin_key):06d}"})
    return client


def test_r1_the_super_user_switches_two_factor_sign_in_for_their_organisation(world):
    url = reverse("organisation_security")
    client = world.superuser.client()
    page = client.get(url)
    assert page.status_code == 200 and world.service_org.name in text(page)
    assert world.partner_org.name not in text(page)
    # another organisation through the same form: refused, nothing changes
    assert mfa_post(client, url, world.partner_org, True).status_code == 404
    world.partner_org.refresh_from_db()
    assert not world.partner_org.mfa_required
    assert mfa_post(client, url, world.service_org, True).status_code == 302
    world.service_org.refresh_from_db()
    assert world.service_org.mfa_required
    event = SecurityEvent.objects.get(kind="organisation.mfa_changed")
    assert event.organisation_id == world.service_org.pk and event.detail["required"] is True
    # from now on the super-user too must set up an authenticator first
    assert client.get(url)["Location"] == reverse("mfa_setup")


@pytest.mark.parametrize("persona", ["worker", "head", "dpo", "partner", "outsider"])
def test_r1_other_roles_cannot_switch_two_factor_sign_in(world, persona):
    client = getattr(world, persona).client()
    for url in (reverse("organisation_security"), reverse("platform_organisations")):
        assert client.get(url).status_code == 404
        assert mfa_post(client, url, world.service_org, True).status_code == 404
    world.service_org.refresh_from_db()
    assert not world.service_org.mfa_required


def test_r1_the_platform_administrator_switches_it_for_any_organisation(world):
    url = reverse("platform_organisations")
    client = platform_admin()
    page = client.get(url)
    assert page.status_code == 200
    for org in (world.service_org, world.partner_org, world.outsider_org):
        assert org.name in text(page)
    assert mfa_post(client, url, world.outsider_org, True).status_code == 302
    world.outsider_org.refresh_from_db()
    assert world.outsider_org.mfa_required
    assert mfa_post(client, url, world.outsider_org, False).status_code == 302
    world.outsider_org.refresh_from_db()
    assert not world.outsider_org.mfa_required
    assert SecurityEvent.objects.filter(kind="organisation.mfa_changed").count() == 2
    assert client.get(reverse("home"))["Location"] == url


def test_r1_the_platform_pages_need_a_confirmed_second_factor(db):
    admin = factories.UserFactory(username="platform", is_superuser=True)
    client = Client()
    client.force_login(admin)
    response = client.get(reverse("platform_organisations"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_setup")


# ---------------------------------------------------------------------------------------------
# Role grants (X1) and the DPO's filter (X6)


def test_x1_a_super_user_cannot_grant_a_role_to_themself(world):
    data = {
        "username": "superuser",
        "first_name": "Sam",
        "last_name": "Super",
        "email": "superuser@example.ch",
        "role": "social_worker",
        "language": "fr",
    }
    response = world.superuser.client().post(reverse("members"), data)
    assert response.status_code == 200
    assert "votre propre compte" in text(response)
    assert not Membership.objects.filter(user=world.superuser.user, role="social_worker").exists()
    with pytest.raises(services.SelfGrantRefused):
        services.do_add_member(
            actor=world.superuser.actor,
            username="superuser",
            first_name="",
            last_name="",
            email="",
            role="social_worker",
            team=None,
        )
    # another super-user of the organisation may
    other = make_persona(world.service_org, "super_user", "second_superuser")
    assert other.client().post(reverse("members"), data).status_code == 302
    assert Membership.objects.filter(user=world.superuser.user, role="social_worker").exists()


def test_x6_the_dpo_filter_lists_only_the_own_organisations_users(world):
    response = world.dpo.client().get(reverse("audit_case", args=[world.case.pk]))
    assert response.status_code == 200
    listed = set(response.context["form"].fields["user"].queryset)
    assert world.worker.user in listed and world.dpo.user in listed
    for persona in ("partner", "partner_superuser", "outsider"):
        assert getattr(world, persona).user not in listed, persona
    assert f'value="{world.outsider.user.pk}"' not in text(response)


# ---------------------------------------------------------------------------------------------
# The new pages render in both languages with labelled fields (U3)


@pytest.mark.usefixtures("strict_templates")
@pytest.mark.parametrize("language", ["fr", "de"])
def test_u3_sign_in_pages_render(world, send_mail_now, language):
    invite(world, send_mail_now, language=language)
    url = link_in(mail.outbox[0])
    anonymous = Client()
    anonymous.cookies["django_language"] = language
    for page in ("/account/password/forgot/", url, "/account/link/unknown/"):
        check_page(anonymous, page)
    check_page(anonymous, "/account/password/forgot/", method="post", data={"email": "x"})
    check_page(anonymous, url, method="post", data={"new_password1": "a", "new_password2": "b"})
    superuser = world.superuser.client()
    html = check_page(superuser, "/organisation/members/")
    assert reverse("member_invite", args=[Membership.objects.get(user__username="neo").pk]) in html
    check_page(superuser, "/organisation/security/")
    check_page(platform_admin(), "/platform/organisations/")
