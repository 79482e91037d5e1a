"""Person lists in a real browser (D4, decision 0034): a section head filters the persons of
the service's dossiers, sees the household member listed, exports the list as CSV (a job:
its progress page, then the file) with the filter in it. The pages run under the strict CSP
without console errors."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, expect

from filum.people.models import AssistanceUnit, Person, UnitMember
from filum.steering.export_jobs import write_export
from filum.steering.models import PersonListExport
from tests import factories
from tests.browser.conftest import sign_in, watched_page

pytestmark = [pytest.mark.browser]


@pytest.fixture
def base(
    transactional_db: object,
    reference_data: None,
    world: object,
    live_server: object,
    settings: Any,
    tmp_path: Path,
) -> str:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    case = world.case  # type: ignore[attr-defined]
    service = world.service_org  # type: ignore[attr-defined]
    Person.objects.filter(pk=case.client_id).update(
        last_name="Zwygart", first_name="Amanuel", residence_status="F"
    )
    son = factories.PersonFactory(
        last_name="Zwygart", first_name="Dawit", residence_status="F", registered_by=service
    )
    unit = AssistanceUnit.objects.create(name="Zwygart", registered_by=service)
    UnitMember.objects.create(unit=unit, person_id=case.client_id, relation="applicant")
    UnitMember.objects.create(unit=unit, person=son, relation="child")
    case.assistance_unit = unit
    case.save(update_fields=["assistance_unit"])
    factories.CaseFactory(owner=service, client__last_name="Zwahlen", client__residence_status="C")
    return str(live_server.url)  # type: ignore[attr-defined]


def _run_the_job() -> None:
    """What the task worker does with the waiting export (in a thread of its own)."""
    try:
        assert write_export(PersonListExport.objects.get().pk).status == "done"
    finally:
        connection.close()


def test_d4_a_section_head_filters_and_downloads_a_person_list(base: str, browser: Browser) -> None:
    page, watch = watched_page(browser)
    sign_in(page, base, "head")
    page.click("nav.app-nav a[href='/steering/persons/']")
    page.wait_for_url("**/steering/persons/")
    page.check("input[name=residence_status][value=F]")
    # the number fields refuse letters in the browser; a range upside down is refused by the
    # server with the error beside its field
    page.fill("#id_age_min", "40")
    page.fill("#id_age_max", "20")
    page.click("#person-filter button[type=submit]")
    expect(page.locator("[data-field=age_max] .error")).to_be_visible()
    page.fill("#id_age_min", "")
    page.fill("#id_age_max", "")
    page.click("#person-filter button[type=submit]")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Zwygart Dawit")
    assert "Zwahlen" not in page.content()
    # the export is a job: its page waits and polls; the job runs (as the worker would), and
    # the next poll shows the rows written and the link to the file
    page.click("button[data-export=csv]")
    page.wait_for_url("**/steering/persons/exports/*/")
    expect(page.locator("#export-progress")).to_have_attribute("data-status", "queued")
    worker = threading.Thread(target=_run_the_job)  # Playwright's loop holds this thread
    worker.start()
    worker.join(timeout=60)
    expect(page.locator("#export-progress")).to_have_attribute("data-status", "done")
    expect(page.locator("#export-progress progress")).to_have_attribute("value", "2")
    with page.expect_download() as download:
        page.click("a[data-download]")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("# Filum – liste de personnes")
    assert "# Statut de séjour;F – admis·e à titre provisoire" in text
    assert "Zwygart;Dawit" in text and "Zwahlen" not in text
    assert watch.take() == []
