"""Fixtures for the integration tests: a real Chromium for the admin's preset script."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def in_chromium(live_server) -> Callable[[Callable], None]:
    """Run `steps(page)` in Chromium against the live server, in a thread of its own.

    Playwright's sync API refuses a thread whose event loop is running, and the browser
    tests' session-wide Chromium leaves one running in the main thread; a thread of its own
    keeps this test independent of whether those ran first.
    """
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have /usr/bin/chromium (.ci/run installs it)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")

    def drive(steps: Callable) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(base_url=live_server.url)
                page.set_default_timeout(15_000)
                steps(page)
            finally:
                browser.close()

    def run(steps: Callable) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(drive, steps).result(timeout=120)  # re-raises a failed assertion

    return run
