"""Playwright on the system Chromium against pytest-django's live server.

Playwright's sync API keeps an asyncio loop running in the test's thread, and Django refuses
ORM calls from a thread with a running loop. So every fixture that touches the database runs
*before* the browser starts (``browser`` depends on them), and the browser is closed again at
the end of each test; test bodies use only the browser and plain values.

Tests never sleep: they wait for what the user waits for. ``expect(...)`` retries until its
condition holds, navigations are awaited with ``expect_navigation``/``wait_for_url``, and
``settle`` waits for htmx requests (a panel loaded after the page) to finish and swap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from filum.cases.models import SegmentCriterion
from filum.journal.models import Topic
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
# expect()'s default of 5 s is too short on a busy 2-core machine running the suite in parallel
expect.set_options(timeout=20_000)
# what htmx marks while a request is in flight, swapped in or settling
HTMX_BUSY = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"


# the data migrations' steps that put reference data in place or correct it, in migration order
# (all idempotent): criteria, objectives, topics and their classification, norm rules
RESEED = frozenset({"seed", "seed_objectives", "correct", "reclassify"})


@functools.cache
def _seed_functions() -> list[Callable[[Any, Any], None]]:
    """The data migrations' ``seed`` steps (segment criteria, topics, norm rules): idempotent,
    with ``update_or_create``."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return [
        operation.code
        for key in sorted(loader.disk_migrations)
        for operation in loader.disk_migrations[key].operations
        if isinstance(operation, RunPython) and operation.code.__name__ in RESEED
    ]


@pytest.fixture
def reference_data(transactional_db: object) -> None:
    """The live server needs committed data, so every browser test ends by emptying the whole
    database, including what the migrations seeded. Put that back, or a test would pass only
    when it ran first (Django's serialized rollback cannot: it would rewrite append-only
    history rows)."""
    if not (SegmentCriterion.objects.exists() and Topic.objects.exists()):
        for seed in _seed_functions():
            seed(django_apps, None)


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


def settle(page: Page) -> None:
    """Wait until the page is done: loaded, no request in flight for half a second (which
    covers the htmx panels that load after the page), and nothing htmx is still swapping."""
    page.wait_for_load_state("networkidle")
    expect(page.locator(HTMX_BUSY)).to_have_count(0)


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "/login/" not in page.url, f"sign-in as {username} failed: {page.url}"
    settle(page)


def sign_out(page: Page) -> None:
    # A panel still loading when the sign-out deletes the session would race it: wait first.
    settle(page)
    page.click(".app-logout button[type=submit]")
    page.wait_for_url("**/login/")
    settle(page)


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core on the current page; describe every violation of the given impacts."""
    settle(page)
    script = AXE_SCRIPT if AXE_SCRIPT.exists() else AXE_FALLBACK
    page.add_script_tag(path=str(script))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in result["violations"]:
        if violation.get("impact") in impacts:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def watched_page(browser: Browser, **options: Any) -> tuple[Page, ConsoleWatch]:
    """A page in a new context (1280 × 900, ``options`` such as ``locale``) whose console
    errors, page errors and CSP violations are collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    return page, watch
