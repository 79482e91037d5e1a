"""The integration plan in a real browser (I1, I2, I6): a worker makes a dossier's plan from
the canton's template, adds a measure for a goal with a programme from the catalogue and
books a place; in German, a second worker books into the now full period and lands on the
waiting list with its position. The pages run under the strict CSP without console
errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import factories
from tests import plan_factories as pf
from tests.browser.conftest import ConsoleWatch, axe_violations, settle, sign_in, sign_out

pytestmark = [pytest.mark.browser]


@dataclass(frozen=True)
class Scene:
    base: str
    case_id: str
    other_case_id: str
    programme_id: str


@pytest.fixture
def scene(
    transactional_db: object, reference_data: None, world: object, live_server: object
) -> Scene:
    office = world.officer.membership.organisation  # type: ignore[attr-defined]
    pf.template(office, name="Agenda Intégration", goals=["orientation", "coordination"])
    provider = pf.provider(office, name="Atelier Zyrwerk")
    programme = pf.programme(office, name="Stage Zyrbois", category="work_placement", of=provider)
    pf.period(programme, places=1, note="lu-ve")
    other = factories.CaseFactory(
        owner=world.service_org,  # type: ignore[attr-defined]
        responsible=world.colleague.user,  # type: ignore[attr-defined]
    )
    other_plan = pf.plan(other, world.colleague.user)  # type: ignore[attr-defined]
    pf.measure(
        other_plan,
        world.colleague.user,  # type: ignore[attr-defined]
        title="Stage atelier bois",
        category="work_placement",
        programme=programme,
        provider=provider,
    )
    return Scene(
        base=live_server.url,  # type: ignore[attr-defined]
        case_id=str(world.case.pk),  # type: ignore[attr-defined]
        other_case_id=str(other.pk),
        programme_id=str(programme.pk),
    )


def _page(browser: Browser, **options: object) -> tuple[Page, ConsoleWatch]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    return page, watch


def test_i1_i2_worker_makes_a_plan_adds_a_measure_and_books_a_place(
    scene: Scene, browser: Browser
) -> None:
    page, watch = _page(browser, locale="fr-CH")
    sign_in(page, scene.base, "worker")
    page.goto(f"{scene.base}/cases/{scene.case_id}/")
    page.click("#section-plan a[href$='/plan/']")
    page.wait_for_url("**/plan/")
    page.click("main a[href$='/plan/new/']")
    page.wait_for_url("**/plan/new/")
    expect(page.locator("#id_template option:checked")).to_have_text("Agenda Intégration")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/plan/")
    goals = page.locator("[data-goal]")
    expect(goals).to_have_count(3)
    assert [goals.nth(i).get_attribute("data-goal") for i in range(3)] == [
        "reinsertion",
        "orientation",
        "coordination",
    ]

    # a measure for the vocational orientation, from the catalogue
    page.locator("#goal-orientation a:has-text('Ajouter une mesure')").click()
    page.wait_for_url("**/plan/measures/new/**")
    expect(page.locator("input[name=goals]:checked")).to_have_count(1)
    page.fill("#id_title", "Stage d'orientation en atelier")
    page.select_option("#id_category", "work_placement")
    page.select_option("#id_programme", scene.programme_id)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/book/")

    # the only period has one place: book it
    page.locator("input[name=period]").first.check()
    page.click("main form button[type=submit]")
    page.wait_for_url("**/plan/measures/*/")
    expect(page.locator(".message--success")).to_contain_text("Une place a été réservée")
    expect(page.locator("main .badge--placed").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("inscrite")

    # the plan shows the measure under its goal
    page.goto(f"{scene.base}/cases/{scene.case_id}/plan/")
    expect(page.locator("#goal-orientation")).to_contain_text("Stage d'orientation en atelier")
    measure_url = page.locator("#goal-orientation a[href*='/measures/']").first.get_attribute(
        "href"
    )
    settle(page)
    assert watch.take() == []
    sign_out(page)

    # the pages are accessible (axe-core needs its script: a page without the CSP)
    page, _ = _page(browser, locale="fr-CH", bypass_csp=True)
    sign_in(page, scene.base, "worker")
    problems = {}
    for name, path in (
        ("plan", f"/cases/{scene.case_id}/plan/"),
        ("measure", measure_url),
        ("catalogue", "/catalogue/"),
    ):
        page.goto(f"{scene.base}{path}")
        problems[name] = axe_violations(page)
    assert problems == {"plan": [], "measure": [], "catalogue": []}


def test_i2_a_full_period_puts_the_measure_on_the_waiting_list_in_german(
    scene: Scene, browser: Browser
) -> None:
    page, watch = _page(browser, locale="de-CH")
    # the worker takes the only place
    sign_in(page, scene.base, "worker")
    page.goto(f"{scene.base}/cases/{scene.case_id}/plan/")
    page.click("main a[href$='/plan/new/']")
    page.wait_for_url("**/plan/new/")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/plan/")
    page.click("main .actions a[href$='/measures/new/']")
    page.fill("#id_title", "Praktikum Holzwerkstatt")
    page.select_option("#id_category", "work_placement")
    page.select_option("#id_programme", scene.programme_id)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/book/")
    page.locator("input[name=period]").first.check()
    page.click("main form button[type=submit]")
    page.wait_for_url("**/plan/measures/*/")
    sign_out(page)

    # the colleague switches to German and books the same period for another dossier
    sign_in(page, scene.base, "colleague")
    page.click(".app-lang button[value=de]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{scene.base}/catalogue/")
    expect(page.locator("main")).to_contain_text("Stage Zyrbois")
    expect(page.locator("main .badge--full")).to_have_text("ausgebucht")
    page.goto(f"{scene.base}/cases/{scene.other_case_id}/plan/")
    page.click("main a:has-text('Stage atelier bois')")
    page.click("main .actions a[href$='/book/']")
    page.wait_for_url("**/book/")
    expect(page.locator("main form")).to_contain_text("ausgebucht")
    page.locator("input[name=period]").first.check()
    page.click("main form button[type=submit]")
    page.wait_for_url("**/plan/measures/*/")
    expect(page.locator(".message--warning")).to_contain_text("Warteliste")
    expect(page.locator(".message--warning")).to_contain_text("Position 1")
    expect(page.locator("main .badge--waiting").first).to_have_text("Warteliste, Position 1")
    settle(page)
    assert watch.take() == []
    sign_out(page)
