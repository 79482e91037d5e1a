"""The most frequent intake task in a real browser: register a person (with the duplicate
check), open their dossier and record the Intake 1 decision in three form pages (P1, P6)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Frame

from tests.browser.conftest import ConsoleWatch, sign_in

pytestmark = [pytest.mark.browser]


@pytest.fixture
def intake_scene(transactional_db: object, world: object, live_server: object) -> dict[str, str]:
    return {
        "base": live_server.url,  # type: ignore[attr-defined]
        "responsible": str(world.worker.user.pk),  # type: ignore[attr-defined]
    }


def test_p1_register_open_and_decide_intake_in_three_form_pages(
    intake_scene: dict[str, str], browser: Browser
) -> None:
    base = intake_scene["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    sign_in(page, base, "intake")

    loads: list[str] = []

    def on_navigated(frame: Frame) -> None:
        if frame == page.main_frame:
            loads.append(frame.url.removeprefix(base))

    page.on("framenavigated", on_navigated)

    # 1. the person, with the duplicate check while typing
    page.goto(f"{base}/persons/new/")
    page.fill("#id_last_name", "Quarenghi-Flow")
    page.fill("#id_first_name", "Ottilie")
    page.fill("#id_birth_date", "1984-03-09")
    page.locator("#id_birth_date").dispatch_event("change")
    page.wait_for_load_state("networkidle")
    page.click("button[name=then][value=case]")
    page.wait_for_url("**/cases/new/**")

    # 2. the dossier: the opening date is already today's
    assert page.input_value("#id_opened_on") != ""
    page.select_option("#id_domain", index=1)
    page.fill("#id_title", "Demande d'aide")
    page.select_option("#id_responsible", intake_scene["responsible"])
    page.click("main form button[type=submit]")
    page.wait_for_url("**/steering/intake/")

    # 3. the Intake 1 decision, ending on the dossier's steering page
    page.check("input[name=decision][value=accept]")
    page.fill("#id_reason", "Compétence et subsidiarité vérifiées.")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/steering/")
    page.wait_for_load_state("networkidle")

    form_pages = [url for url in loads if not url.endswith("/steering/")]
    assert form_pages == [
        "/persons/new/",
        form_pages[1],
        form_pages[2],
    ], loads
    assert "/cases/new/" in form_pages[1] and form_pages[2].endswith("/steering/intake/")
    assert len(loads) == 4, loads  # three form pages and the dossier
    assert page.locator("main").inner_text().count("Quarenghi-Flow") >= 1
    assert watch.take() == []
    context.close()
