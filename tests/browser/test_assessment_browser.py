"""A potential assessment in a real browser (A3-A7, U1): from the dossier's Assessment section, a
new assessment is made, filled in (language levels, choices, yes/no) and finalised; the
person's history then shows the German level rising from the earlier assessment, in French and
in German, with the synthesis; the pages pass axe-core and keep the console clean."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, expect

from filum.assessments import services
from filum.assessments.models import TemplateVersion
from filum.cases.models import Case
from tests.browser.conftest import ConsoleWatch, axe_violations, settle, sign_in

pytestmark = [pytest.mark.browser]

EARLIER = datetime.date(2025, 3, 12)


@dataclass(frozen=True)
class Scene:
    base: str
    case_id: str
    client_id: str


@pytest.fixture
def scene(
    transactional_db: object, reference_data: None, world: object, live_server: object
) -> Scene:
    """The worker's dossier, opened in 2024, whose client had a final assessment in 03.2025
    (German oral A1, written pre-A1)."""
    case = world.case  # type: ignore[attr-defined]
    Case.objects.filter(pk=case.pk).update(opened_on=datetime.date(2024, 11, 4))
    case.refresh_from_db()
    version = TemplateVersion.objects.get(template__canton="BE", status="published")
    actor = world.worker.actor  # type: ignore[attr-defined]
    earlier = services.do_start_assessment(
        actor=actor, case=case, person=case.client, version=version, assessed_on=EARLIER
    )
    services.do_finalise(
        actor=actor,
        assessment=earlier,
        revision=earlier.revision,
        assessed_on=EARLIER,
        answers={
            "school_years": "6",
            "education_level": "primary",
            "language_levels": [{"language": "de", "oral": "a1", "written": "pre_a1"}],
            "work_experience": "under_one",
            "work_capacity": "full",
            "care_duties": True,
            "main_goal": "language",
            "potential": "medium",
        },
    )
    return Scene(base=live_server.url, case_id=str(case.pk), client_id=str(case.client_id))  # type: ignore[attr-defined]


def test_a3_a7_make_fill_finalise_an_assessment_and_see_the_history(
    scene: Scene, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    sign_in(page, scene.base, "worker")

    # the dossier page loads its Assessment section
    page.goto(f"{scene.base}/cases/{scene.case_id}/")
    settle(page)
    section = page.locator("#section-assessment")
    expect(section.locator("table")).to_contain_text("12.03.2025")
    section.get_by_role("button", name="Nouvelle évaluation").click()
    page.wait_for_url("**/assessments/new/")

    # a new assessment of the client, dated 20.01.2026
    page.fill("#id_assessed_on", "2026-01-20")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/edit/")
    settle(page)

    # finalising with required fields empty is refused, nothing is lost
    page.fill("#id_school_years", "9")
    page.click("button[name=action][value=finalise]")
    expect(page.locator(".form-errors")).to_be_visible()
    expect(page.locator("#id_school_years")).to_have_value("9")

    page.select_option("#id_education_level", "lower_secondary")
    page.select_option("#id_work_experience", "one_to_five")
    page.select_option("#id_language_levels_0", "de")
    page.select_option("#id_language_levels_1", "a2")
    page.select_option("#id_language_levels_2", "a1")
    page.select_option("#id_language_levels_3", "ti")
    page.select_option("#id_language_levels_4", "c2")
    page.select_option("#id_work_capacity", "over_half")
    page.check("input[name=care_duties][value=yes]")
    page.select_option("#id_main_goal", "labour_market")
    page.select_option("#id_motivation", "high")
    page.select_option("#id_potential", "high")
    page.check("input[name=obstacles][value=childcare]")
    page.click("button[name=action][value=finalise]")
    page.wait_for_url(f"**/cases/{scene.case_id}/assessments/*/")
    expect(page.locator("main .page-header")).to_contain_text("finale")
    expect(page.locator("main")).to_contain_text("allemand")

    # the history: German oral A1 in 03.2025, A2 in 01.2026, and the synthesis
    page.goto(f"{scene.base}/cases/{scene.case_id}/assessments/persons/{scene.client_id}/")
    settle(page)
    german_oral = page.locator("tr", has_text="Niveaux de langue – allemand oral").last
    expect(german_oral).to_contain_text("A1 en 03.2025, A2 en 01.2026")
    synthesis = page.locator(".assessment-synthesis")
    expect(synthesis.locator("svg").first).to_be_visible()
    expect(synthesis).to_contain_text("1 échelon de plus")
    assert watch.take() == []

    # the same in German
    page.click(".app-lang button[value=de]")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    settle(page)
    expect(page.locator("h2#synthesis-title")).to_have_text("Synthese")
    german_oral = page.locator("tr", has_text="Sprachniveaus – Deutsch mündlich").last
    expect(german_oral).to_contain_text("A1 im 03.2025, A2 im 01.2026")
    expect(page.locator(".assessment-synthesis")).to_contain_text("1 Stufe höher")
    assert watch.take() == []
    context.close()


def test_a11y_assessment_pages_have_no_serious_violations(scene: Scene, browser: Browser) -> None:
    # axe is injected as a script, which the strict CSP would refuse: bypass it for this run.
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, scene.base, "worker")
    problems = {}
    page.goto(f"{scene.base}/cases/{scene.case_id}/assessments/new/")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/edit/")
    problems["assessment form"] = axe_violations(page)
    page.click("button[name=action][value=finalise]")
    expect(page.locator(".form-errors")).to_be_visible()
    problems["assessment form with errors"] = axe_violations(page)
    for name, path in (
        ("history", f"/cases/{scene.case_id}/assessments/persons/{scene.client_id}/"),
        ("list", f"/cases/{scene.case_id}/assessments/"),
    ):
        page.goto(scene.base + path)
        problems[name] = axe_violations(page)
    assert {name: found for name, found in problems.items() if found} == {}
    context.close()
