"""Fixtures of the browser journeys that run against a real server process."""

from __future__ import annotations

import pytest

from tests.browser.chromium import CHROMIUM_ARGS, chromium_path


@pytest.fixture
def chromium(request):
    """A headless Chromium (Playwright's browser object); the test is skipped, saying why,
    when no Chromium binary is found."""
    executable = chromium_path()
    if executable is None:
        reason = f"no Chromium binary found (set MLGOV_CHROMIUM): {request.node.name} skipped"
        print(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
