"""The AIS timeline and the integration cockpit in a real browser (I4, I7, U1; decisions
0021, 0022): a worker opens a provisionally admitted client's timeline from the plan page,
reaches a measure's bar with the Tab key and hears its name, reads the same content as a
table and records a situation change; a section head filters the integration cockpit by
worker and by provider. The pages run under the strict CSP without console errors."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from filum.people.models import Person
from tests import factories
from tests import plan_factories as pf
from tests.browser.conftest import settle, sign_in, watched_page

pytestmark = [pytest.mark.browser]

MEASURE = "Cours d'allemand Zyqtimewq"
OTHER = "Stage Zyqboiswq"


@dataclass(frozen=True)
class Scene:
    base: str
    case_id: str
    client_id: str
    provider_id: str
    colleague_id: str


@pytest.fixture
def scene(
    transactional_db: object, reference_data: None, world: object, live_server: object
) -> Scene:
    today = timezone.localdate()
    case = world.case  # type: ignore[attr-defined]
    arrival = today - datetime.timedelta(days=3 * 365 + 60)
    Person.objects.filter(pk=case.client_id).update(
        residence_status="F", arrival_date=arrival, birth_date=datetime.date(1988, 5, 4)
    )
    case.opened_on = arrival + datetime.timedelta(days=30)
    case.domain = "asylum_aid"
    case.save(update_fields=["opened_on", "domain"])
    worker = world.worker.user  # type: ignore[attr-defined]
    plan = pf.plan(case, worker)
    office = world.officer.membership.organisation  # type: ignore[attr-defined]
    school = pf.provider(office, name="École Zyrlingua")
    workshop = pf.provider(office, name="Atelier Zyrwerk")
    pf.measure(
        plan,
        worker,
        title=MEASURE,
        provider=school,
        status="running",
        planned_start=arrival + datetime.timedelta(days=60),
        actual_start=arrival + datetime.timedelta(days=60),
        planned_end=today + datetime.timedelta(days=90),
    )
    # a colleague's integration dossier with a measure of the other provider
    colleague = world.colleague.user  # type: ignore[attr-defined]
    other = factories.CaseFactory(
        owner=world.service_org,  # type: ignore[attr-defined]
        responsible=colleague,
        domain="asylum_aid",
        team=case.team,
    )
    pf.measure(
        pf.plan(other, colleague),
        colleague,
        title=OTHER,
        provider=workshop,
        planned_start=today + datetime.timedelta(days=5),
        planned_end=today + datetime.timedelta(days=60),
    )
    return Scene(
        base=live_server.url,  # type: ignore[attr-defined]
        case_id=str(case.pk),
        client_id=str(case.client_id),
        provider_id=str(school.pk),
        colleague_id=str(colleague.pk),
    )


def test_i4_u1_timeline_by_keyboard_as_a_table_and_a_situation_change(
    scene: Scene, browser: Browser
) -> None:
    page, watch = watched_page(browser, locale="fr-CH")
    sign_in(page, scene.base, "worker")
    page.goto(f"{scene.base}/cases/{scene.case_id}/plan/")
    settle(page)
    page.click(f"a[href$='/plan/timeline/{scene.client_id}/']")
    page.wait_for_url(f"**/plan/timeline/{scene.client_id}/")
    settle(page)
    expect(page.locator("h1")).to_contain_text("Chronologie AIS")
    expect(page.locator("[data-milestone-state]")).to_have_count(2)  # A1 and labour market
    expect(page.locator("[data-milestone-state='missed']")).to_have_count(1)

    # Tab through the page until the measure's bar has the focus: its name is announced
    label = ""
    for _ in range(80):
        page.keyboard.press("Tab")
        testid = page.evaluate("document.activeElement.getAttribute('data-testid')")
        if testid == "measure-bar":
            label = page.evaluate("document.activeElement.getAttribute('aria-label')")
            break
    assert label.startswith(MEASURE), label
    expect(page.locator(".timeline__measure:focus")).to_have_count(1)

    # the same content as a table
    table = page.get_by_test_id("timeline-table")
    expect(table).to_contain_text(MEASURE)
    expect(table).to_contain_text("A1 oral dans une langue nationale")
    expect(table).to_contain_text("manquée")

    # record a situation change: a job in the first labour market
    page.select_option("#id_situation", "work:first_labour_market")
    page.fill("#id_on", (timezone.localdate() - datetime.timedelta(days=10)).isoformat())
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**/plan/timeline/{scene.client_id}/")
    settle(page)
    expect(page.locator(".messages")).to_contain_text(
        "Le changement de situation a été enregistré."
    )
    expect(table).to_contain_text("premier marché du travail")
    expect(page.locator(".timeline__situation")).to_have_count(1)
    # the labour-market milestone is met now
    expect(page.locator("[data-milestone-state='met']")).to_have_count(1)

    assert watch.take() == []
    # a date before the arrival is refused with its reason (a 400 answer), nothing recorded
    page.select_option("#id_situation", "education:post_compulsory")
    page.fill("#id_on", "2000-01-01")
    page.click("main form button[type=submit]")
    settle(page)
    expect(page.locator("main")).to_contain_text("ne peut pas être avant")
    expect(page.locator(".timeline__situation")).to_have_count(1)
    problems = watch.take()
    assert all("status of 400" in problem for problem in problems), problems


def test_i7_integration_cockpit_filters_by_worker_and_provider(
    scene: Scene, browser: Browser
) -> None:
    page, watch = watched_page(browser, locale="de-CH")
    sign_in(page, scene.base, "head")
    page.goto(f"{scene.base}/cockpit/integration/")
    settle(page)
    main = page.locator("main")
    expect(main).to_contain_text(MEASURE)
    expect(main).to_contain_text(OTHER)
    expect(page.locator("[data-figure='persons']")).to_have_text("2")

    # by worker: the colleague's dossier only (the filter applies on change)
    page.select_option("#f-worker", scene.colleague_id)
    page.wait_for_url(f"**worker={scene.colleague_id}*")
    settle(page)
    expect(main).to_contain_text(OTHER)
    expect(main).not_to_contain_text(MEASURE)

    # by provider: the language school's measures only
    page.select_option("#f-worker", "")
    page.wait_for_url("**/cockpit/integration/?*")
    settle(page)
    page.select_option("#f-provider", scene.provider_id)
    page.wait_for_url(f"**provider={scene.provider_id}*")
    settle(page)
    expect(main).to_contain_text(MEASURE)
    expect(main).not_to_contain_text(OTHER)
    expect(page.locator("[data-figure='persons']")).to_have_text("1")
    assert watch.take() == []
