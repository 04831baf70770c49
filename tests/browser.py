"""Debian's Chromium driven by Playwright, for the tests that open the app in a real
browser (no `playwright install`: a tool's own browser download cannot work here).

Without Chromium or Playwright a test is skipped locally and fails under CI
(``tests/availability.py``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.availability import unavailable

CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STEP_MS = 30_000
VIEWPORT = {"width": 1400, "height": 1000}


def chromium() -> str:
    found = next((path for path in CHROMIUM if Path(path).exists()), None) or shutil.which("chromium")
    if found is None:
        unavailable("Chromium is not installed (apt-get install chromium)")
    return found


def require_browser() -> str:
    """Chromium's executable, once Playwright is known to import: a test whose setup is
    long calls this first, so that a missing browser is reported before the setup runs."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    return chromium()


@contextmanager
def browser_page(viewport: dict[str, int] = VIEWPORT) -> Iterator[tuple[Any, Any]]:
    """A fresh page of a headless Chromium, and Playwright's ``expect``, both waiting up to
    ``STEP_MS`` for each step; the browser is closed on the way out."""
    executable = require_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport)
            page.set_default_timeout(STEP_MS)
            expect.set_options(timeout=STEP_MS)
            yield page, expect
        finally:
            browser.close()


def wait_until_idle(page: Any) -> None:
    """Change a widget only between script runs: a change sent while a run (the one the
    last widget or URL change started) is still going can be lost, which made the filter
    step flaky on a loaded machine. Streamlit marks the app with its script state."""
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=STEP_MS)


def choose(page: Any, expect: Any, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox ``label`` by clicking it. Streamlit's newer selectbox
    (a react-aria combobox) may take a first click as focus only, and typing a name then
    Enter selected nothing when the list had not filtered yet; so open the list until the
    option shows, then click the option itself."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    combobox = page.get_by_role("combobox", name=label)
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        combobox.click()
        try:
            choice.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    choice.click()
    expect(combobox).to_have_value(option)
