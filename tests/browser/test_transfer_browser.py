"""Dossier transfer in a real browser (P3, decision 0026): the sending section head offers a
dossier to another service, the receiving section head finds the offer in the cockpit and
accepts it choosing a worker, and the sender afterwards reads only its own period of the
journal. The pages run under the strict CSP without console errors."""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from filum.cases.models import Case
from filum.journal.models import Contact, Topic
from tests.browser.conftest import ConsoleWatch, settle, sign_in, sign_out
from tests.conftest import make_persona

pytestmark = [pytest.mark.browser]


@dataclass(frozen=True)
class Scene:
    base: str
    case_id: str
    receiver_id: str
    worker_id: str


def _contact(case: object, day: datetime.date, note: str) -> None:
    Contact.objects.create(
        case=case,
        owner_id=case.owner_id,  # type: ignore[attr-defined]
        kind="interview",
        date=day,
        topic=Topic.objects.get(code="health"),
        duration_minutes=30,
        counts=True,
        is_face_to_face=True,
        note=note,
        recorded_by=case.responsible,  # type: ignore[attr-defined]
    )


@pytest.fixture
def scene(
    transactional_db: object, reference_data: None, world: object, live_server: object
) -> Scene:
    make_persona(world.outsider_org, "section_head", "thun_head")  # type: ignore[attr-defined]
    case = world.case  # type: ignore[attr-defined]
    _contact(case, timezone.localdate() - datetime.timedelta(days=3), "Entretien Zyravant")
    return Scene(
        base=live_server.url,  # type: ignore[attr-defined]
        case_id=str(case.pk),
        receiver_id=str(world.outsider_org.pk),  # type: ignore[attr-defined]
        worker_id=str(world.outsider.user.pk),  # type: ignore[attr-defined]
    )


def _write_after_cut_over(case_id: str) -> None:
    try:
        _contact(Case.objects.get(pk=case_id), timezone.localdate(), "Entretien Zyraprès")
    finally:
        connection.close()


def _page(browser: Browser) -> tuple[Page, ConsoleWatch]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-CH")
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    return page, watch


def test_p3_offer_accept_and_the_sender_sees_only_its_own_period(
    scene: Scene, browser: Browser, world: object
) -> None:
    page, watch = _page(browser)

    # the sending section head offers the dossier
    sign_in(page, scene.base, "head")
    page.goto(f"{scene.base}/cases/{scene.case_id}/")
    page.click("main a[href$='/hand-over/']")
    page.wait_for_url("**/hand-over/")
    page.select_option("#id_receiver", scene.receiver_id)
    page.fill("#id_note", "Déménagement à Thoune, loyer vérifié.")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/cases/transfers/")
    settle(page)
    expect(page.locator(".messages")).to_contain_text("Sozialdienst Thun-Test")
    sign_out(page)

    # the receiving section head sees it in the cockpit and accepts, naming a worker
    sign_in(page, scene.base, "thun_head")
    page.goto(f"{scene.base}/cockpit/")
    settle(page)
    panel = page.locator("#transfer-offers")
    expect(panel.locator("[data-transfer]")).to_have_count(1)
    panel.locator("a[href$='/accept/']").click()
    page.wait_for_url("**/accept/")
    expect(page.locator("#transfer-note")).to_have_text("Déménagement à Thoune, loyer vérifié.")
    page.select_option("#id_responsible", scene.worker_id)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**/cases/{scene.case_id}/")
    settle(page)
    sign_out(page)

    # the new service writes in the journal; the sender reads only what came before
    # (the ORM in a thread of its own: Playwright's loop runs in this one)
    writer = threading.Thread(target=_write_after_cut_over, args=(scene.case_id,))
    writer.start()
    writer.join(timeout=30)
    sign_in(page, scene.base, "head")
    page.goto(f"{scene.base}/cases/{scene.case_id}/")
    settle(page)
    expect(page.locator("#former-owner-period")).to_be_visible()
    page.goto(f"{scene.base}/cases/{scene.case_id}/journal/")
    settle(page)
    expect(page.locator("main")).to_contain_text("Entretien Zyravant")
    expect(page.locator("main")).not_to_contain_text("Entretien Zyraprès")
    assert watch.take() == []
