"""Shared CII cases in a real browser (X4, X5, D8): the worker opens a CII case from a dossier
with the invalidity and unemployment insurance offices and the signed authorisation; the
invalidity office's staff then work in its journal; the section head's monitoring report
draws its three charts. The pages run under the strict CSP without console errors and pass
axe in French and German."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from filum.cii.synthetic import make_synthetic_cii_cases
from filum.tenancy.models import OrganisationKind
from tests import factories
from tests.browser.conftest import ConsoleWatch, axe_violations, settle, sign_in, sign_out
from tests.conftest import make_persona

pytestmark = [pytest.mark.browser]


@dataclass(frozen=True)
class Scene:
    base: str
    case_id: str
    worker_id: str
    iv_id: str
    alv_id: str


@pytest.fixture
def scene(
    transactional_db: object, reference_data: None, world: object, live_server: object
) -> Scene:
    iv = factories.OrganisationFactory(name="Office AI Seeland", kind=OrganisationKind.CII_PARTNER)
    alv = factories.OrganisationFactory(name="ORP Bienne", kind=OrganisationKind.CII_PARTNER)
    make_persona(iv, "partner_staff", "iv_staff")
    make_synthetic_cii_cases(
        40,
        owner=world.service_org,  # type: ignore[attr-defined]
        coordinator=world.worker.user,  # type: ignore[attr-defined]
        years=(datetime.date.today().year - 1, datetime.date.today().year),
        seed=5,
    )
    return Scene(
        base=live_server.url,  # type: ignore[attr-defined]
        case_id=str(world.case.pk),  # type: ignore[attr-defined]
        worker_id=str(world.worker.user.pk),  # type: ignore[attr-defined]
        iv_id=str(iv.pk),
        alv_id=str(alv.pk),
    )


def _page(browser: Browser, **options: object) -> tuple[Page, ConsoleWatch]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    return page, watch


def test_x4_x5_d8_open_a_cii_case_work_as_partner_and_read_the_report(
    scene: Scene, browser: Browser
) -> None:
    page, watch = _page(browser)
    sign_in(page, scene.base, "worker")
    page.goto(f"{scene.base}/cases/{scene.case_id}/")
    settle(page)
    page.click("#section-cii a")
    page.wait_for_url(re.compile(r"/cii/new/case/"))
    page.select_option("#id_coordinator", scene.worker_id)
    page.select_option("#id_partner-0-organisation", scene.iv_id)
    page.select_option("#id_partner-0-body", "invalidity_insurance")
    page.fill("#id_partner-0-case_number", "AI-756.4471")
    page.select_option("#id_partner-1-organisation", scene.alv_id)
    page.select_option("#id_partner-1-body", "unemployment_insurance")
    page.fill("#id_partner-1-case_number", "ORP-2026-0815")
    page.select_option("#id_kind", "general")
    page.fill("#id_signed_on", datetime.date.today().isoformat())
    page.fill("#id_scope", "Échange CII entre l'aide sociale, l'AI et l'ORP")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    errors = page.locator(".field-errors, .form-errors, [role=alert]").all_inner_texts()
    assert re.search(r"/cii/[0-9a-f-]+/$", page.url), (page.url, errors)
    settle(page)
    expect(page.locator("main")).to_contain_text("AI-756.4471")
    expect(page.locator("main")).to_contain_text("ORP-2026-0815")
    cii_url = page.url
    dossier = cii_url.rstrip("/").rsplit("/", 1)[-1]
    assert watch.take() == []
    sign_out(page)

    sign_in(page, scene.base, "iv_staff")
    response = page.goto(f"{scene.base}/cases/{dossier}/journal/")
    assert response is not None and response.status == 200
    response = page.goto(cii_url)
    assert response is not None and response.status == 200
    expect(page.locator("main")).to_contain_text("Office AI Seeland")
    assert watch.take() == []
    sign_out(page)

    sign_in(page, scene.base, "head")
    page.goto(f"{scene.base}/cii/report/")
    settle(page)
    expect(page.locator("canvas[data-chart-drawn]")).to_have_count(3)
    expect(page.locator("main")).to_contain_text("Problème de santé")
    assert watch.take() == []


@pytest.mark.parametrize("language", ["fr", "de"])
def test_a11y_cii_pages(scene: Scene, browser: Browser, language: str) -> None:
    page, _ = _page(browser, bypass_csp=True, locale=language)
    sign_in(page, scene.base, "head")
    page.click(f".app-lang button[value={language}]")
    settle(page)
    problems = {}
    for name, path in (
        ("open", f"/cii/new/case/{scene.case_id}/"),
        ("report", "/cii/report/"),
    ):
        page.goto(scene.base + path)
        settle(page)
        problems[name] = axe_violations(page)
    assert {name: found for name, found in problems.items() if found} == {}
