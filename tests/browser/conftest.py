"""Browser tests: Debian's Chromium driven by Playwright, against the app served on loopback.

Playwright's own browser download does not work here, so the tests launch the Chromium
that `make test` installs from Debian's packages (/usr/bin/chromium).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import serving

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = os.environ.get("LINKAGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As the machine's own probe starts it: headless, no sandbox (root), nothing phoning home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def live_server(app):
    """The test app served on 127.0.0.1 in a thread; yields its base URL."""
    with serving(app) as base_url:
        yield base_url


@pytest.fixture()
def page(browser, request):
    """A fresh page; a screenshot of it is kept as a test artifact."""
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    ARTIFACTS.mkdir(exist_ok=True)
    name = request.node.name.replace("/", "_")[:80]
    try:
        opened.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture(scope="session")
def backend(sqlite_backend):
    """Browser tests exercise the pages, not the stores: the embedded backend is enough
    (the API contract tests cover the engines)."""
    return sqlite_backend
