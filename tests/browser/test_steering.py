"""Case steering in a real browser (S2, S3, I5, I7): a worker proposes segment B at Intake 2,
the section head confirms it (four eyes), the dossier is transferred and appears in the
receiving worker's cockpit; 13 months without a face-to-face interview later it is red, with
the reason in words. The pages run under the strict CSP without console errors."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
import time_machine
from playwright.sync_api import Browser, Page

from filum.followup import lifecycle
from filum.followup.rules import add_months
from tests.browser.conftest import ConsoleWatch, axe_violations, sign_in, sign_out

pytestmark = [pytest.mark.browser]


@dataclass(frozen=True)
class Scene:
    base: str
    case_id: str
    client_last: str
    colleague_id: str


@pytest.fixture
def scene(transactional_db: object, world: object, live_server: object) -> Scene:
    case = world.case  # type: ignore[attr-defined]
    case.client.last_name = "Zbinden"
    case.client.save()
    lifecycle.do_accept_intake(actor=world.worker.actor, case=case, reason="Compétent")  # type: ignore[attr-defined]
    return Scene(
        base=live_server.url,  # type: ignore[attr-defined]
        case_id=str(case.pk),
        client_last=case.client.last_name,
        colleague_id=str(world.colleague.user.pk),  # type: ignore[attr-defined]
    )


def _page(browser: Browser, **options: object) -> tuple[Page, ConsoleWatch]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    return page, watch


def test_s2_i7_proposal_confirmation_transfer_and_red_light_after_13_months(
    scene: Scene, browser: Browser
) -> None:
    page, watch = _page(browser)
    steering = f"{scene.base}/cases/{scene.case_id}/steering/"

    # The worker starts on the cockpit, opens the dossier and proposes segment B.
    sign_in(page, scene.base, "worker")
    assert page.url.endswith("/cockpit/")
    page.click(f"main a[href='/cases/{scene.case_id}/']")
    propose = page.locator(f"#steering-panel a[href='/cases/{scene.case_id}/steering/propose/']")
    propose.click()  # the steering block is loaded by htmx
    page.check("input[name=segment][value=B]")
    assert page.locator("[data-criteria-for=A]").is_hidden(), "only the criteria of B are shown"
    page.locator("[data-criteria-for=B] input[type=checkbox]").first.check()
    page.fill("#id_justification", "Besoin de conseils pour la santé et la famille.")
    page.click("main form button[type=submit]")
    page.wait_for_url(steering)
    assert page.locator(".proposal").count() == 1
    sign_out(page)

    # The section head sees the pending decision in the team view and confirms it.
    sign_in(page, scene.base, "head")
    page.click("nav.app-nav a[href='/cockpit/team/']")
    page.click("#pending-title ~ div a[role=button]")
    page.check("input[name=decision][value=confirm]")
    page.click("main form button[type=submit]")
    page.wait_for_url(steering)
    sign_out(page)

    # The worker transfers the dossier with the report and records a first interview.
    sign_in(page, scene.base, "worker")
    page.goto(steering)
    page.click(f"main a[href='/cases/{scene.case_id}/steering/transfer/']")
    page.select_option("#id_to_worker", scene.colleague_id)
    page.fill("#id_report", "Situation stable, suivi de la santé; proposition B confirmée.")
    page.click("main form button[type=submit]")
    page.wait_for_url(steering)
    page.goto(f"{scene.base}/cases/{scene.case_id}/journal/new/")
    page.select_option("#id_kind", "interview")
    page.select_option("#id_topic", index=1)
    page.fill("#id_duration_minutes", "45")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**/cases/{scene.case_id}/journal/")
    sign_out(page)

    # The receiving worker finds the dossier in their cockpit, in segment B.
    sign_in(page, scene.base, "colleague")
    row = page.locator("table.cockpit-table tbody tr", has_text=scene.client_last)
    assert row.count() == 1
    assert row.locator(".seg").inner_text() == "B"
    assert watch.take() == []

    # 13 months later, without another face-to-face interview, the dossier is red.
    later = add_months(datetime.date.today(), 13)
    with time_machine.travel(datetime.datetime.combine(later, datetime.time(9)), tick=True):
        page.goto(f"{scene.base}/login/")
        sign_in(page, scene.base, "colleague")
        row = page.locator("table.cockpit-table tbody tr", has_text=scene.client_last)
        assert "row--red" in (row.get_attribute("class") or "")
        assert (
            "0 sur au moins 3 entretiens physiques au cours des 12 derniers mois"
            in row.inner_text()
        )
        page.click("a.kpi--red")
        page.wait_for_url("**/cockpit/?light=red")
        assert page.locator("table.cockpit-table tbody tr").count() == 1
        page.click(f"main a[href='/cases/{scene.case_id}/']")
        banner = page.locator("#steering-panel .light-banner--red")
        banner.wait_for()
        assert "entretiens physiques" in banner.inner_text()
    assert watch.take() == []


def test_a11y_cockpit_team_and_steering_pages(scene: Scene, browser: Browser) -> None:
    page, _ = _page(browser, bypass_csp=True)
    problems = {}
    sign_in(page, scene.base, "head")
    for name, path in (
        ("cockpit", "/cockpit/"),
        ("team", "/cockpit/team/"),
        ("steering", f"/cases/{scene.case_id}/steering/"),
        ("proposal form", f"/cases/{scene.case_id}/steering/propose/"),
        ("journal", f"/cases/{scene.case_id}/journal/"),
        ("contact form", f"/cases/{scene.case_id}/journal/new/"),
        ("tasks", "/tasks/"),
        ("task form", f"/cases/{scene.case_id}/tasks/new/"),
        ("documents", f"/cases/{scene.case_id}/documents/"),
    ):
        page.goto(scene.base + path)
        page.wait_for_load_state("networkidle")
        problems[name] = axe_violations(page)
    assert {name: found for name, found in problems.items() if found} == {}


def test_r40_steering_pages_have_no_console_errors_or_csp_violations(
    scene: Scene, browser: Browser
) -> None:
    page, watch = _page(browser)
    sign_in(page, scene.base, "head")
    for path in (
        "/cockpit/",
        "/cockpit/team/",
        "/tasks/",
        f"/cases/{scene.case_id}/",
        f"/cases/{scene.case_id}/steering/",
        f"/cases/{scene.case_id}/journal/",
        f"/cases/{scene.case_id}/documents/",
        f"/cases/{scene.case_id}/tasks/new/",
    ):
        response = page.goto(scene.base + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
    assert page.evaluate("() => typeof Chart") in ("function", "undefined")
    assert watch.take() == []
