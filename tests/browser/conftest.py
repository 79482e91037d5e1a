"""Playwright on the system Chromium against pytest-django's live server.

Playwright's sync API keeps an asyncio loop running in the test's thread, and Django refuses
ORM calls from a thread with a running loop. So every fixture that touches the database runs
*before* the browser starts (``browser`` depends on them), and the browser is closed again at
the end of each test; test bodies use only the browser and plain values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
AXE_FALLBACK = Path(settings.BASE_DIR) / "filum" / "web" / "static" / "vendor" / "axe.min.js"


@pytest.fixture
def browser(live_server: object) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class ConsoleWatch:
    """Console errors, uncaught page errors and CSP violations seen by a page."""

    problems: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" or "Content Security Policy" in text:
            self.problems.append(f"console {message.type}: {text} ({message.location})")

    def on_page_error(self, error: object) -> None:
        self.problems.append(f"page error: {error}")

    def attach(self, page: Page) -> None:
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)

    def take(self) -> list[str]:
        taken, self.problems = self.problems, []
        return taken


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"sign-in as {username} failed: {page.url}"


def sign_out(page: Page) -> None:
    page.click(".app-logout button[type=submit]")
    page.wait_for_url("**/login/")


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core on the current page; describe every violation of the given impacts."""
    script = AXE_SCRIPT if AXE_SCRIPT.exists() else AXE_FALLBACK
    page.add_script_tag(path=str(script))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in result["violations"]:
        if violation.get("impact") in impacts:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found
