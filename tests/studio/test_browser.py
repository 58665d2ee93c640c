"""The studio in a real browser (Debian's Chromium) against a real workspace server: sign in,
filter models by tag, deploy from a model page to Healthy, score in the test console, regenerate
a key (the old one is refused), follow logs, watch charts, delete.

The tests run in order and share one server, one browser page and one deployed service.
Screenshots of every page go to the test's tmp dir; with MODELPORT_STUDIO_DOCS_IMAGES=<dir>
(scripts/studio-screenshots) they are written there too, for docs/studio.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import ServerProcess, start_server
from tests.e2e.deploy_support import (
    WS,
    digits_model,
    digits_rows,
    kill_leftovers,
    register_model,
    start_deploy_server,
    wait_until,
)

pytestmark = pytest.mark.browser
SERVICE = "digits-studio"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DEPLOY_TIMEOUT_MS = 240_000


@dataclass
class Session:
    server: ServerProcess
    api: httpx.Client
    page: Any
    shots: Path
    docs: Path | None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def shot(self, name: str, page: Any = None, full_page: bool = True) -> None:
        """Save a screenshot as a test artefact (and as a docs image when asked)."""
        target = page or self.page
        path = self.shots / f"{name}.png"
        target.screenshot(path=str(path), full_page=full_page)
        if self.docs is not None:
            self.docs.mkdir(parents=True, exist_ok=True)
            (self.docs / f"studio-{name}.png").write_bytes(path.read_bytes())


@pytest.fixture(scope="module")
def s(chromium: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    home = tmp_path_factory.mktemp("studio-browser") / "home"
    server = start_deploy_server(start_server, home)
    api = server.client()
    register_model(api, "digits", "digits.pkl", digits_model(), framework="ScikitLearn")
    api.patch(f"{WS}/models/digits/versions/1", json={"addTags": {"team": "vision"}})
    register_model(api, "speech", "speech.pkl", b"not a model", properties={"kind": "demo"})
    api.patch(f"{WS}/models/speech/versions/1", json={"addTags": {"team": "speech"}})
    run = api.post(f"{WS}/experiments/digits-training/runs", json={"displayName": "fit"}).json()
    for loss in (2.3, 1.1, 0.6, 0.4, 0.3):
        api.post(f"{WS}/runs/{run['id']}/metrics", json={"name": "loss", "value": loss})
    api.post(f"{WS}/runs/{run['id']}/metrics", json={"name": "accuracy", "value": 0.97})
    context = chromium.new_context(viewport=DESKTOP)
    context.set_default_timeout(30_000)
    docs = os.environ.get("MODELPORT_STUDIO_DOCS_IMAGES")
    shots = tmp_path_factory.mktemp("studio-screenshots")
    session = Session(server, api, context.new_page(), shots, Path(docs) if docs else None)
    session.state["run"] = run["id"]
    yield session
    context.close()
    server.stop()
    kill_leftovers(home)


def test_unauthenticated_browser_lands_on_sign_in_then_signs_in(s: Session) -> None:
    page = s.page
    page.goto(f"{s.url}/w/default/services")
    assert "/signin" in page.url
    s.shot("signin")
    page.fill("#token", "not-the-token")
    page.click("button[type=submit]")
    assert page.locator(".flash.bad").inner_text() == "Wrong workspace token."
    page.fill("#token", s.server.token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{s.url}/w/default/services")
    assert page.get_by_role("heading", name="Services").is_visible()


def test_studio_open_link_signs_a_phone_in_once(s: Session, chromium: Any) -> None:
    env = {**os.environ, **s.server.env}
    out = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "studio", "open", "--no-browser"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    link = out.stdout.strip()
    assert link.startswith(f"{s.url}/signin/link?t=")
    phone = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(link)
    page.wait_for_url(f"{s.url}/w/default/models")
    s.shot("models-phone", page)
    other = chromium.new_context().new_page()
    other.goto(link)
    assert "already used" in other.locator(".flash.bad").inner_text()
    other.context.close()
    phone.close()


def test_studio_open_with_a_wrong_token_is_one_line_and_no_link(s: Session) -> None:
    env = {**os.environ, **s.server.env, "MODELPORT_TOKEN": "wrong"}
    out = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "studio", "open", "--no-browser"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "token" in out.stderr


def test_filter_models_by_tag(s: Session) -> None:
    page = s.page
    page.goto(f"{s.url}/w/default/models")
    rows = page.locator("#model-rows tbody tr")
    assert rows.count() == 2
    page.fill("#f-tags", "team=vision")  # htmx refreshes the rows as you type
    expect(rows).to_have_count(1)
    assert "digits" in rows.first.inner_text()
    assert "tags=team%3Dvision" in page.url  # the filter is in the address, so it can be shared
    s.shot("models")


def test_forged_requests_are_refused_in_the_browser(s: Session) -> None:
    target = f"{s.url}/w/default/models/digits/1/labels"
    # same origin, signed in, but without the CSRF token: 403
    status = s.page.evaluate(
        """url => fetch(url, {method: "POST", body: "add_tag=forged%3D1",
             headers: {"Content-Type": "application/x-www-form-urlencoded"}}).then(r => r.status)""",
        target,
    )
    assert status == 403
    # another site's form: the SameSite=Strict cookie stays home, so it meets the sign-in page
    evil = s.page.context.new_page()
    evil.set_content(
        f'<form method="post" action="{target}"><input name="add_tag" value="forged=1">'
        '<button id="go">win a prize</button></form>'
    )
    evil.click("#go")
    evil.wait_for_url("**/signin**")
    evil.close()
    assert "forged" not in s.api.get(f"{WS}/models/digits/versions/1").json()["tags"]


def test_deploy_from_model_page_to_healthy(s: Session) -> None:
    page = s.page
    page.click("#model-rows a:text('digits')")
    page.wait_for_url("**/models/digits/1")
    s.shot("model")
    page.fill("#d-name", SERVICE)
    with page.expect_response(lambda r: "/status" in r.url):  # the live box refreshes itself
        page.click("button:text('Deploy now')")
    assert f"/services/{SERVICE}?op=" in page.url
    assert page.locator("#status").is_visible()
    s.shot("deploying", full_page=False)
    page.wait_for_selector("#status [data-state=Healthy]", timeout=DEPLOY_TIMEOUT_MS)
    assert page.locator("[data-op-state]").inner_text() == "Succeeded"


def test_score_in_the_test_console(s: Session) -> None:
    page = s.page
    with page.expect_response(lambda r: r.url.endswith("/example")):
        page.goto(f"{s.url}/w/default/services/{SERVICE}")
    page.fill("#t-body", json.dumps({"data": digits_rows(3)}))
    page.click("#console button:text('Send')")
    page.wait_for_selector("#answer [data-status]")
    assert page.locator("#answer [data-status]").inner_text() == "200"
    answer = json.loads(page.locator("#answer pre").inner_text())
    assert isinstance(answer, list) and len(answer) == 3
    s.state["rows"] = digits_rows(3)


def _score(s: Session, key: str) -> int:
    uri = s.api.get(f"{WS}/services/{SERVICE}").json()["scoringUri"]
    r = httpx.post(
        uri, json={"data": s.state["rows"]}, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    return r.status_code


def test_keys_are_masked_revealed_and_regenerated(s: Session) -> None:
    page = s.page
    assert s.api.post(f"{WS}/services/{SERVICE}/listKeys").json()["primaryKey"] not in (
        page.content()
    )
    page.click("button:text('Reveal keys')")
    old = page.locator("#k1").input_value()
    assert old and _score(s, old) == 200
    s.shot("service")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:text('Regenerate primary')")
    page.wait_for_selector("#keys .flash.ok")
    assert old not in page.content()
    assert _score(s, old) == 401
    with page.expect_response(lambda r: r.url.endswith("/console")):
        page.click("#console button:text('Send')")  # the console takes the new key itself
    expect(page.locator("#answer [data-status]")).to_have_text("200")


def test_follow_logs_and_charts(s: Session) -> None:
    page = s.page
    page.click("button:text('Follow logs')")
    page.wait_for_selector("#logs button[aria-pressed=true]")
    assert page.locator("#logs pre").inner_text().strip()
    key = s.api.post(f"{WS}/services/{SERVICE}/listKeys").json()["primaryKey"]
    done = threading.Event()

    def traffic() -> None:  # a few requests a second while the charts take three samples
        for _ in range(200):
            if done.wait(0.25):
                return
            _score(s, key)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        expect(page.locator("#charts small").first).to_contain_text(
            re.compile(r"last ([3-9]|\d\d) samples"), timeout=30_000
        )
    finally:
        done.set()
        sender.join()
    assert "no data" not in page.locator("#charts figcaption").first.inner_text()
    s.shot("service-live")
    page.set_viewport_size(PHONE)
    s.shot("service-phone")
    page.set_viewport_size(DESKTOP)


def test_environments_and_runs_pages(s: Session) -> None:
    page = s.page
    page.goto(f"{s.url}/w/default/environments")
    assert page.locator("tbody tr").count() > 1
    s.shot("environments")
    page.goto(f"{s.url}/w/default/runs/{s.state['run']}")
    assert page.locator("figure.chart figcaption").first.inner_text().startswith("loss")
    s.shot("run")


def test_keyboard_reaches_the_main_content(s: Session) -> None:
    page = s.page
    page.goto(f"{s.url}/w/default/models")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_id("f-name")


def test_delete_the_service(s: Session) -> None:
    page = s.page
    page.goto(f"{s.url}/w/default/services/{SERVICE}")
    page.click("button:text('Delete service')")
    assert "type the service's name" in page.locator(".flash.bad").inner_text()
    page.goto(f"{s.url}/w/default/services/{SERVICE}")
    page.fill("#m-confirm", SERVICE)
    page.click("button:text('Delete service')")
    page.wait_for_url(f"**/services?deleted={SERVICE}")
    wait_until(lambda: s.api.get(f"{WS}/services/{SERVICE}").status_code == 404, 60, "the deletion")
    page.reload()
    assert SERVICE not in page.locator("tbody").inner_text()
    s.shot("services")
