"""The super-user makes an API token in the browser, a system uses it, the docs page works
under the strict Content-Security-Policy, and a revoked token stops working (X2, R40,
decision 0028)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import ConsoleWatch, settle, sign_in

pytestmark = [pytest.mark.browser]


@dataclass(frozen=True)
class Scene:
    base: str
    superuser: str
    worker: str


@pytest.fixture
def scene(
    transactional_db: object, reference_data: None, world: object, live_server: object
) -> Scene:
    return Scene(
        base=live_server.url,  # type: ignore[attr-defined]
        superuser=world.superuser.user.username,  # type: ignore[attr-defined]
        worker=world.worker.user.username,  # type: ignore[attr-defined]
    )


def test_x2_a_token_is_made_used_and_revoked_and_the_docs_keep_the_csp(
    scene: Scene, browser: Browser
) -> None:
    page = browser.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    sign_in(page, scene.base, scene.superuser)
    page.goto(f"{scene.base}/organisation/members/")
    page.click("main a[href='/organisation/api-tokens/']")
    expect(page).to_have_url(re.compile(r"/organisation/api-tokens/"))
    page.fill("#id_name", "Comptabilité")
    page.check("input[name=scopes][value='cases:read']")
    page.click("main form[action='/organisation/api-tokens/'] button[type=submit]")
    secret = page.get_by_test_id("api-token-secret").inner_text()
    assert re.fullmatch(r"filum_[0-9a-f]{8}_[A-Za-z0-9_-]+", secret)

    # the other system: a bearer token, no session
    system = browser.new_context()
    answer = system.request.get(
        f"{scene.base}/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status == 200 and "items" in answer.json()
    answer = system.request.get(
        f"{scene.base}/api/v1/persons", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status == 403 and answer.headers["content-type"] == "application/problem+json"

    # the docs: Swagger UI from our own static files, no CSP violation, no console error
    watch.take()  # (the app's pages are checked by their own tests)
    page.goto(f"{scene.base}/api/docs")
    settle(page)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Filum API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/cases").first).to_be_visible()
    assert watch.take() == []

    # revoked: the next request is refused
    page.goto(f"{scene.base}/organisation/api-tokens/")
    page.click("main table button[type=submit]")
    expect(page.locator(".message--success")).to_be_visible()
    answer = system.request.get(
        f"{scene.base}/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status == 401
    system.close()
