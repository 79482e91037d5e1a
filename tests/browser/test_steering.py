"""Case steering in a real browser (S2, S3, I5, I7): a worker proposes segment B at Intake 2,
the section head confirms it (four eyes), the dossier is transferred and appears in the
receiving worker's cockpit; 13 months without a face-to-face interview later it is red, with
the reason in words. The pages run under the strict CSP without console errors."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import pytest
import time_machine
from playwright.sync_api import Browser, Page, expect

from filum.followup import lifecycle
from filum.followup.models import Task
from filum.followup.rules import add_months
from tests.browser.conftest import ConsoleWatch, axe_violations, settle, sign_in, sign_out

pytestmark = [pytest.mark.browser]


@dataclass(frozen=True)
class Scene:
    base: str
    case_id: str
    client_last: str
    colleague_id: str


@pytest.fixture
def scene(
    transactional_db: object, reference_data: None, world: object, live_server: object
) -> Scene:
    case = world.case  # type: ignore[attr-defined]
    case.client.last_name = "Zwygart"  # no random (Faker) name contains it
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
    expect(page.locator(".proposal")).to_have_count(1)
    sign_out(page)

    # The section head sees the pending decision in the team view and confirms it.
    sign_in(page, scene.base, "head")
    page.click("nav.app-nav a[href='/cockpit/team/']")
    page.wait_for_url("**/cockpit/team/")
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
    expect(row).to_have_count(1)
    expect(row.locator(".seg")).to_have_text("B")
    assert watch.take() == []

    # 13 months later, without another face-to-face interview, the dossier is red.
    later = add_months(datetime.date.today(), 13)
    with time_machine.travel(datetime.datetime.combine(later, datetime.time(9)), tick=True):
        page.goto(f"{scene.base}/login/")
        sign_in(page, scene.base, "colleague")
        row = page.locator("table.cockpit-table tbody tr", has_text=scene.client_last)
        expect(row).to_have_class(re.compile(r"\brow--red\b"))
        expect(row).to_contain_text(
            "0 sur au moins 3 entretiens physiques au cours des 12 derniers mois"
        )
        page.click("a.kpi--red")
        page.wait_for_url("**/cockpit/?light=red")
        expect(page.locator("table.cockpit-table tbody tr")).to_have_count(1)
        page.click(f"main a[href='/cases/{scene.case_id}/']")
        banner = page.locator("#steering-panel .light-banner--red")
        expect(banner).to_contain_text("entretiens physiques")
        settle(page)
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


# Elements that stick out of their panel without being inside a scrolling container
# (wide tables must scroll inside their .table-wrap, or wrap).
OVERFLOWING = r"""() => {
    const found = [];
    for (const box of document.querySelectorAll("main .panel, main .kpis, main .page-header")) {
        const limit = box.getBoundingClientRect().right;
        for (const el of box.querySelectorAll("*")) {
            let up = el.parentElement, scrolls = false;
            while (up && up !== box && !scrolls) {
                scrolls = getComputedStyle(up).overflowX !== "visible";
                up = up.parentElement;
            }
            const right = el.getBoundingClientRect().right;
            if (!scrolls && right > limit + 1) {
                const where = box.querySelector("h2")?.id || box.className;
                const by = Math.round(right - limit);
                found.push(`${where}: ${el.tagName}.${el.className} by ${by}px`);
            }
        }
    }
    return found;
}"""


@pytest.fixture
def busy_desk(scene: Scene, world: object) -> Scene:
    """The worker's desk with dossiers in every segment, each with an overdue task of a long
    (German) title, as a real service's cockpit and team view look."""
    from tests import factories
    from tests.test_steering_views import in_counselling

    for segment in ("A", "B", "C", "B"):
        case = in_counselling(
            world,
            case=factories.CaseFactory(
                owner=world.service_org,  # type: ignore[attr-defined]
                responsible=world.worker.user,  # type: ignore[attr-defined]
                team=world.case.team,  # type: ignore[attr-defined]
                client__last_name="Schwarzenbach-Zurbriggen",
                client__first_name="Anne-Marie",
            ),
            segment=segment,
        )
        Task.objects.create(
            case=case,
            owner=case.owner,
            title="Kostengutsprache für die Zahnbehandlung bei der Krankenkasse einholen",
            due_on=datetime.date.today() - datetime.timedelta(days=3),
            assigned_to=world.worker.user,  # type: ignore[attr-defined]
        )
    return scene


@pytest.mark.parametrize("width", [1280, 1024, 800])
def test_u3_the_german_cockpit_fits_its_containers(
    busy_desk: Scene, browser: Browser, width: int
) -> None:
    page, _ = _page(browser)
    page.set_viewport_size({"width": width, "height": 900})
    for persona, path in (("worker", "/cockpit/"), ("head", "/cockpit/team/")):
        sign_in(page, busy_desk.base, persona)
        page.click(".app-lang button[value=de]")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        page.goto(busy_desk.base + path)
        settle(page)
        assert page.evaluate(OVERFLOWING) == [], path
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, path
        if path == "/cockpit/" and width >= 1024:
            # on a laptop the whole table is in view, without scrolling sideways
            sizes = page.evaluate(
                "() => [...document.querySelectorAll('.table-wrap')]"
                ".map(w => w.scrollWidth - w.clientWidth)"
            )
            assert sizes and max(sizes) <= 1, sizes
        sign_out(page)
