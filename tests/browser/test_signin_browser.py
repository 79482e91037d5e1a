"""A brand-new user signs in for the first time, from the invitation e-mail to the cockpit,
enrolling an authenticator because their organisation requires two-factor sign-in (X1, R1)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import pytest
from django.core import mail
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ConsoleWatch, sign_in, sign_out

pytestmark = [pytest.mark.browser]

NEW_PASSWORD = "un jardin de tomates au bord du lac"


@dataclass(frozen=True)
class Scene:
    base: str
    superuser: str
    superuser_key: bytes


@pytest.fixture
def scene(transactional_db: object, world: object, live_server: object) -> Scene:
    org = world.service_org  # type: ignore[attr-defined]
    org.mfa_required = True
    org.save(update_fields=["mfa_required"])
    superuser = world.superuser.user  # type: ignore[attr-defined]
    device = TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    return Scene(
        base=live_server.url,  # type: ignore[attr-defined]
        superuser=superuser.username,
        superuser_key=device.bin_key,
    )


def code(key: bytes) -> str:
    return f"{totp(key):06d}"


def test_x1_a_new_user_signs_in_from_the_invitation_to_the_cockpit(
    scene: Scene, browser: Browser
) -> None:
    page = browser.new_page()
    watch = ConsoleWatch()
    watch.attach(page)

    # The super-user (with their own second factor) invites a new social worker.
    sign_in(page, scene.base, scene.superuser)
    expect(page).to_have_url(re.compile(r"/account/mfa/verify/"))
    page.fill("#id_token", code(scene.superuser_key))
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/organisation/members/"))
    page.fill("#id_username", "noemie.rochat")
    page.fill("#id_first_name", "Noémie")
    page.fill("#id_last_name", "Rochat")
    page.fill("#id_email", "noemie.rochat@example.ch")
    page.select_option("#id_role", "social_worker")
    page.select_option("#id_language", "fr")
    page.click("form[action='/organisation/members/'] button[type=submit]")
    expect(page.locator(".message--success")).to_contain_text("noemie.rochat@example.ch")
    sign_out(page)

    # She opens the link from the e-mail ...
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["noemie.rochat@example.ch"]
    match = re.search(r"https?://\S+/account/link/[\w-]+/", message.body)
    assert match, message.body
    page.goto(match.group(0))
    expect(page.locator("h1")).to_have_text("Bienvenue dans Filum")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("main form button[type=submit]")

    # ... sets up her authenticator app with the key shown ...
    expect(page).to_have_url(re.compile(r"/account/mfa/setup/"))
    secret = page.locator(".secret").inner_text().strip()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_token", code(key))
    page.click("main form button[type=submit]")

    # ... and lands on her cockpit.
    expect(page).to_have_url(re.compile(r"/cockpit/"))
    expect(page.locator(".app-nav")).to_be_visible()
    assert watch.take() == []

    # The link cannot be used twice.
    sign_out(page)
    page.goto(match.group(0))
    expect(page.locator("h1")).to_have_text("Ce lien a déjà été utilisé")
    page.close()
