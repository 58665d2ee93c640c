"""Studio fixtures: the app in-process (page tests), and Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (scripts/system-deps
installs it); without it the browser tests are skipped with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from modelport.server.app import create_app
from modelport.server.main import build_context
from modelport.server.settings import ServerSettings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "browser: drives Debian's Chromium through Playwright (deselect: -m 'not browser')",
    )


class Studio:
    """The workspace server's app in-process: ``browser`` keeps cookies like a browser would."""

    def __init__(self, home: Path) -> None:
        self.ctx = build_context(ServerSettings(home=home))
        self.app = create_app(self.ctx)
        self.token = self.ctx.token
        self.api = TestClient(self.app, headers={"Authorization": f"Bearer {self.token}"})

    def browser(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def signed_in(self) -> TestClient:
        client = self.browser()
        form = client.get("/signin")
        r = client.post(
            "/signin", data={"csrf": form_token(form.text), "token": self.token, "next": "/"}
        )
        assert r.status_code == 303, r.text
        return client

    def close(self) -> None:
        self.ctx.store.dispose()


def form_token(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    s = Studio(tmp_path_factory.mktemp("studio-home"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per module (Playwright's sync API). Not per session: the sync API
    keeps its event loop running in the main thread until it exits, and any later test in the
    same process that runs a loop (httpx ASGITransport, asyncio.run) failed with "Cannot run the
    event loop while another loop is running" (seen when pytest-xdist ordered files differently)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (scripts/system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
