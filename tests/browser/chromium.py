"""Chromium for the browser tests and ``docs/screenshots/capture.py``: where the binary is,
the flags it runs with here, and signing in through mlgov's login form. No Django import, so
the screenshot script can use it outside a test run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def chromium_path() -> str | None:
    candidate = os.environ.get("MLGOV_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else None


def sign_in(page, base: str, username: str, password: str) -> None:
    """Sign in through the login form at ``base`` and wait for the dashboard."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
