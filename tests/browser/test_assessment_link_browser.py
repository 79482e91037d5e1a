"""Third-party input in a real browser (A8): the worker sends a language school a link to the
languages section of the potential assessment; the school opens it in a browser without an
account (nothing of the dossier but the first name), fills in the German levels and sends
them; the worker finds the entry waiting, accepts it and sees the level in the person's
history. The link is used up afterwards. The pages pass axe-core and keep the console clean."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Browser, expect

from filum.cases.models import Case
from filum.people.models import Person
from tests.browser.conftest import ConsoleWatch, axe_violations, settle, sign_in

pytestmark = [pytest.mark.browser]

FIRST_NAME = "Zyaminawq"
LAST_NAME = "Zylastnamewq"
TOKEN_IN = re.compile(r"https?://[^\s]+/f/[A-Za-z0-9_-]+/")


@dataclass(frozen=True)
class Scene:
    base: str
    case_id: str
    client_id: str


@pytest.fixture
def scene(
    transactional_db: object,
    reference_data: None,
    world: Any,
    live_server: Any,
    settings: Any,
) -> Scene:
    """The worker's dossier, opened in 2024; its client is named so that the test can check
    what the provider sees."""
    settings.FILUM_SMS_SENDER = "filum.assessments.sms.MemorySender"
    case = world.case
    Case.objects.filter(pk=case.pk).update(opened_on=datetime.date(2024, 11, 4))
    Person.objects.filter(pk=case.client_id).update(first_name=FIRST_NAME, last_name=LAST_NAME)
    return Scene(base=live_server.url, case_id=str(case.pk), client_id=str(case.client_id))


def _link_from_the_mail() -> str:
    """The link in the last e-mail sent (the live server runs in this process)."""
    assert mail.outbox, "no e-mail was sent"
    found = TOKEN_IN.search(mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(0)


def test_a8_a_provider_fills_in_a_form_through_a_link_and_the_worker_accepts_it(
    scene: Scene, browser: Browser
) -> None:
    worker_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = worker_context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    sign_in(page, scene.base, "worker")

    # the worker sends the languages section to a language school, by e-mail
    page.goto(f"{scene.base}/cases/{scene.case_id}/assessments/")
    settle(page)
    page.get_by_role("button", name="Envoyer un formulaire à un prestataire").click()
    page.wait_for_url("**/assessments/links/new/")
    settle(page)
    page.check("input[name=sections][value=languages]")
    page.fill("#id_recipient", "École de langues Zylingowq")
    page.fill("#id_email", "cours@example.ch")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**/cases/{scene.case_id}/assessments/")
    settle(page)
    expect(page.locator(".messages")).to_contain_text("Le lien a été envoyé")
    links = page.locator("table.link-list")
    expect(links).to_contain_text("École de langues Zylingowq")
    expect(links).to_contain_text("envoyé")
    link = _link_from_the_mail()
    assert watch.take() == []

    # the school opens it in a browser of its own, without an account
    provider_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    provider = provider_context.new_page()
    provider_watch = ConsoleWatch()
    provider_watch.attach(provider)
    provider.goto(link)
    settle(provider)
    expect(provider.locator("h1")).to_have_text("Évaluation du potentiel")
    expect(provider.locator("main")).to_contain_text(FIRST_NAME)
    expect(provider.locator("main")).not_to_contain_text(LAST_NAME)
    expect(provider.locator("#section-languages")).to_be_visible()
    expect(provider.locator("#section-schooling")).to_have_count(0)
    # sending without the required levels is refused, with the reason
    provider.get_by_role("button", name="Envoyer", exact=True).click()
    expect(provider.locator(".form-errors")).to_be_visible()
    expect(provider.locator("#section-languages .field-errors")).to_contain_text("obligatoire")
    provider.select_option("#id_language_levels_0", "de")
    provider.select_option("#id_language_levels_1", "a2")
    provider.select_option("#id_language_levels_2", "a1")
    provider.select_option("#id_language_source", "course")
    provider.get_by_role("button", name="Envoyer", exact=True).click()
    expect(provider.locator("h1")).to_have_text("Merci")
    assert provider_watch.take() == []
    # the link is used up: opening it again says so, in French and German (a 404)
    response = provider.goto(link)
    assert response is not None and response.status == 404
    expect(provider.locator("main")).to_contain_text("Ce lien ne peut pas être utilisé")
    expect(provider.locator("main")).to_contain_text("Dieser Link kann nicht verwendet werden")
    assert all("status of 404" in problem for problem in provider_watch.take())
    provider_context.close()

    # the worker finds the entry waiting for review and accepts it
    page.reload()
    settle(page)
    expect(page.locator("table.link-list")).to_contain_text("à examiner")
    page.get_by_role("link", name=re.compile("Examiner la saisie")).click()
    page.wait_for_url(f"**/cases/{scene.case_id}/assessments/*/")
    settle(page)
    expect(page.locator("main")).to_contain_text("École de langues Zylingowq")
    expect(page.locator("main")).to_contain_text("allemand")
    page.get_by_role("button", name="Accepter").click()
    expect(page.locator(".messages")).to_contain_text("La saisie a été acceptée")
    expect(page.locator("main .page-header")).to_contain_text("finale")

    # the German level is in the person's history
    page.get_by_role("button", name="Historique").click()
    page.wait_for_url(f"**/assessments/persons/{scene.client_id}/")
    settle(page)
    german_oral = page.locator("tr", has_text="Niveaux de langue – allemand oral").last
    expect(german_oral).to_contain_text("A2")
    expect(page.locator("table.link-list")).to_contain_text("acceptée")
    assert watch.take() == []
    worker_context.close()


def test_a11y_link_pages_have_no_serious_violations(scene: Scene, browser: Browser) -> None:
    # axe is injected as a script, which the strict CSP would refuse: bypass it for this run.
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, scene.base, "worker")
    problems = {}
    page.goto(f"{scene.base}/cases/{scene.case_id}/assessments/links/new/")
    problems["send a link"] = axe_violations(page)
    page.click("main form button[type=submit]")
    expect(page.locator(".form-errors")).to_be_visible()
    problems["send a link with errors"] = axe_violations(page)
    page.fill("#id_recipient", "École de langues Zylingowq")
    page.fill("#id_email", "cours@example.ch")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**/cases/{scene.case_id}/assessments/")
    problems["list with a link"] = axe_violations(page)
    link = _link_from_the_mail()
    anonymous = browser.new_context(bypass_csp=True).new_page()
    anonymous.goto(link)
    problems["provider's form"] = axe_violations(anonymous)
    anonymous.get_by_role("button", name="Envoyer", exact=True).click()
    expect(anonymous.locator(".form-errors")).to_be_visible()
    problems["provider's form with errors"] = axe_violations(anonymous)
    anonymous.goto(link.replace("/f/", "/f/x"))
    problems["unusable link"] = axe_violations(anonymous)
    assert {name: found for name, found in problems.items() if found} == {}
    context.close()
