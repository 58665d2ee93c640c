"""Studio pages in-process: sign-in, sessions, CSRF, filters, labels (no browser needed)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from modelport.errors import UserError
from modelport.server.studio import charts, console, pages, render, signing
from modelport.server.studio.routes_deploy import default_service_name
from modelport.server.studio.routing import StudioRoute
from tests.studio.conftest import Studio, form_token

WS = "/api/v1/workspaces/default"


def _register(studio: Studio, name: str, tags: dict[str, str]) -> None:
    data = f"model {name}".encode()
    sha = hashlib.sha256(data).hexdigest()
    assert studio.api.put(f"{WS}/blobs/{sha}", content=data).status_code in (200, 201)
    entry = {"path": "model.pkl", "sha256": sha, "size": len(data)}
    r = studio.api.post(f"{WS}/models", json={"name": name, "files": [entry], "tags": tags})
    assert r.status_code == 201, r.text


def test_pages_need_a_session_and_the_api_still_needs_the_token(studio: Studio) -> None:
    anonymous = studio.browser()
    for path in ("/", "/w/default/models", "/w/default/services", "/w/default/runs"):
        r = anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next="), path
    r = anonymous.post("/w/default/models/x/1/deploy", data={"csrf": "x"})
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/"
    # a studio session is not an API credential: the API answers 401 without the bearer token
    assert studio.signed_in().get(f"{WS}/models").status_code == 401


def test_every_studio_route_but_sign_in_needs_a_session(studio: Studio) -> None:
    open_routes = {("GET", "/signin"), ("POST", "/signin"), ("GET", "/signin/link")}
    anonymous = studio.browser()
    checked = 0
    for route in (r for page in pages() for r in page.router.routes):
        assert isinstance(route, StudioRoute)
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in open_routes:
                continue
            path = re.sub(r"\{(\w+)\}", "x1", route.path)
            r = anonymous.request(method, path, data={"csrf": "x"})
            assert r.status_code == 303, (method, route.path, r.status_code)
            assert r.headers["location"].startswith("/signin?next="), (method, route.path)
            checked += 1
    assert checked >= 20


def test_signin_with_wrong_token_or_forged_form_is_refused(studio: Studio) -> None:
    client = studio.browser()
    token = form_token(client.get("/signin").text)
    r = client.post("/signin", data={"csrf": token, "token": "wrong", "next": "/"})
    assert r.status_code == 401 and "Wrong workspace token" in r.text
    assert "set-cookie" not in r.headers
    r = client.post("/signin", data={"csrf": "forged", "token": studio.token})
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_session_cookie_is_httponly_samesite_strict(studio: Studio) -> None:
    client = studio.browser()
    token = form_token(client.get("/signin").text)
    r = client.post("/signin", data={"csrf": token, "token": studio.token, "next": "//evil"})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert r.headers["location"] == "/"  # another host is never a redirect target


def test_one_time_link_signs_in_once(studio: Studio) -> None:
    link = signing.signin_link("http://testserver", studio.token, "/w/default/services")
    parts = urlsplit(link)
    path = f"{parts.path}?{parts.query}"
    first = studio.browser()
    r = first.get(path)
    assert r.status_code == 303 and r.headers["location"] == "/w/default/services"
    assert first.get("/w/default/services").status_code == 200
    again = studio.browser().get(path)
    assert again.status_code == 401 and "already used" in again.text
    other_key = signing.signin_link("http://testserver", "another-token")
    t = parse_qs(urlsplit(other_key).query)["t"][0]
    assert studio.browser().get(f"/signin/link?t={t}").status_code == 401


def test_every_form_needs_the_sessions_csrf_token(studio: Studio) -> None:
    _register(studio, "csrf-model", {"team": "vision"})
    client = studio.signed_in()
    path = "/w/default/models/csrf-model/1/labels"
    r = client.post(path, data={"add_tag": "stage=prod"})
    assert r.status_code == 403 and "CSRF" in r.text
    other = studio.signed_in()
    wrong = form_token(other.get("/w/default/models").text)  # another session's token
    assert client.post(path, data={"add_tag": "stage=prod", "csrf": wrong}).status_code == 403
    mine = form_token(client.get("/w/default/models").text)
    r = client.post(
        path,
        data={"add_tag": "stage=prod", "csrf": mine},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403 and "origin" in r.text
    r = client.post(path, data={"add_tag": "stage=prod", "csrf": mine})
    assert r.status_code == 303
    assert studio.api.get(f"{WS}/models/csrf-model/versions/1").json()["tags"]["stage"] == "prod"
    # htmx requests carry the token in a header instead
    r = client.post(path, data={"remove_tag": "stage"}, headers={"X-CSRF-Token": mine})
    assert r.status_code == 303
    assert "stage" not in studio.api.get(f"{WS}/models/csrf-model/versions/1").json()["tags"]


def test_signout_ends_the_session_even_for_a_copied_cookie(studio: Studio) -> None:
    client = studio.signed_in()
    copied = client.cookies.get("modelport_studio")
    token = form_token(client.get("/w/default/models").text)
    r = client.post("/signout", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    thief = studio.browser()
    thief.cookies.set("modelport_studio", copied or "")
    assert thief.get("/w/default/models").status_code == 303


def test_models_filter_by_tags_and_properties(studio: Studio) -> None:
    _register(studio, "filter-a", {"team": "vision", "stage": "prod"})
    _register(studio, "filter-b", {"team": "speech"})
    client = studio.signed_in()
    page = client.get("/w/default/models", params={"tags": "team=vision stage=prod"}).text
    assert "filter-a" in page and "filter-b" not in page
    page = client.get("/w/default/models", params={"tags": "team"}).text
    assert "filter-a" in page and "filter-b" in page
    page = client.get("/w/default/models", params={"name": "filter-b"}).text
    assert "filter-b" in page and "filter-a" not in page
    bad = client.get("/w/default/models", params={"tags": "=x"})
    assert bad.status_code == 400 and "has no key" in bad.text  # the API's own message


def test_model_page_adds_properties_and_refuses_bad_input_readably(studio: Studio) -> None:
    _register(studio, "props-model", {})
    client = studio.signed_in()
    page = client.get("/w/default/models/props-model/1")
    assert page.status_code == 200 and "Deploy" in page.text
    token = form_token(page.text)
    path = "/w/default/models/props-model/1/labels"
    assert client.post(path, data={"add_property": "acc=0.9", "csrf": token}).status_code == 303
    assert "acc=0.9" in client.get("/w/default/models/props-model/1").text
    r = client.post(path, data={"add_property": "novalue", "csrf": token})
    assert r.status_code == 400 and "key=value" in r.text
    assert client.get("/w/default/models/nope/1").status_code == 404


def test_names_in_page_urls_cannot_reach_other_api_routes(studio: Studio) -> None:
    client = studio.signed_in()
    # "?" or ".." in a name stays inside one path segment of the API call: a plain 404
    assert client.get("/w/default/models/x%3Flatest=true/1").status_code == 404
    assert client.get("/w/default/services/..").status_code in (404, 307, 308)
    assert client.get("/w/default/models/digits%23/1").status_code == 404


def test_workspaces_page_lists_every_workspace(studio: Studio) -> None:
    assert studio.api.post("/api/v1/workspaces", json={"name": "vision"}).status_code == 201
    client = studio.signed_in()
    assert client.get("/").headers["location"] == "/w/default/models"
    page = client.get("/workspaces").text
    assert 'href="/w/vision/models"' in page and 'href="/w/default/models"' in page


def test_pages_send_a_strict_content_security_policy(studio: Studio) -> None:
    r = studio.signed_in().get("/w/default/environments")
    assert r.status_code == 200 and "AzureML-Minimal" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


def test_default_service_name_is_valid() -> None:
    assert default_service_name("Digits_Model", 3) == "digits-model-v3"
    assert default_service_name("9lives", 1) == "m-9lives-v1"
    assert len(default_service_name("x" * 60, 12)) <= 32


def test_charts_rates_ignore_restarts_and_other_replicas() -> None:
    def text(start: float, ok: int, bad: int, lat_sum: float) -> str:
        return (
            f'modelport_requests_total{{route="score",status="200"}} {ok}\n'
            f'modelport_requests_total{{route="score",status="500"}} {bad}\n'
            f'modelport_requests_total{{route="metrics",status="200"}} 99\n'
            f"modelport_request_duration_seconds_sum {lat_sum}\n"
            f"modelport_request_duration_seconds_count {ok + bad}\n"
            f"process_start_time_seconds {start}\n"
        )

    history = charts.History()
    t = time.monotonic()
    history.add("s", charts.parse(text(1.0, 10, 0, 1.0), t))
    history.add("s", charts.parse(text(2.0, 500, 0, 9.0), t + 1))  # another replica
    history.add("s", charts.parse(text(1.0, 30, 2, 3.2), t + 2))
    points = history.points("s")
    assert len(points) == 1
    assert points[0].rps == 11 and points[0].eps == 1
    assert round(points[0].latency_ms or 0) == 100
    assert "Requests" in str(charts.charts(points)[0])


SCRIPT = "def init():\n    pass\n\n\ndef run(raw):\n    return raw\n"


def test_deploy_form_sends_script_environment_and_settings_to_the_api(studio: Studio) -> None:
    _register(studio, "form-model", {})
    client = studio.signed_in()
    page = client.get("/w/default/models/form-model/1")
    assert "Deploy now" not in page.text  # no framework: no one-click deploy
    form = {
        "csrf": form_token(page.text),
        "mode": "custom",
        "service_name": "form-svc",
        "entry_name": "score.py",
        "entry_script": SCRIPT,
        "environment": "AzureML-Minimal:1",
        "compute_type": "ACI",
        "cpu": "0.5",
        "memory_gb": "1",
        "auth_enabled": "on",
    }
    r = client.post("/w/default/models/form-model/1/deploy", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith(
        "/w/default/services/form-svc?op="
    )
    service = studio.api.get(f"{WS}/services/form-svc").json()
    assert service["computeType"] == "ACI" and service["authEnabled"] is True
    assert service["deploymentConfig"]["containerResourceRequirements"] == {
        "cpu": 0.5,
        "memoryInGB": 1.0,
    }
    assert service["environment"]["name"] == "AzureML-Minimal"
    # an uploaded deploymentconfig.json replaces the fields; the API's own message on a typo
    bad = {
        **form,
        "service_name": "form-svc2",
        "deployment_config": '{"computeType": "local", "autEnabled": true}',
    }
    r = client.post("/w/default/models/form-model/1/deploy", data=bad)
    assert r.status_code == 400 and "autEnabled" in r.text
    r = client.post("/w/default/models/form-model/1/deploy", data={**bad, "deployment_config": "{"})
    assert r.status_code == 400 and "not valid JSON" in r.text


def test_keys_appear_only_when_revealed_with_the_csrf_token(studio: Studio) -> None:
    client = studio.signed_in()
    page = client.get("/w/default/services/form-svc")
    assert page.status_code == 200
    keys = studio.api.post(f"{WS}/services/form-svc/listKeys").json()
    assert keys["primaryKey"] not in page.text and keys["secondaryKey"] not in page.text
    r = client.post("/w/default/services/form-svc/keys", data={"action": "reveal"})
    assert keys["primaryKey"] not in r.text and r.status_code == 403
    token = form_token(page.text)
    r = client.post(
        "/w/default/services/form-svc/keys",
        data={"action": "reveal"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert keys["primaryKey"] in r.text and keys["secondaryKey"] in r.text


def test_service_actions_show_the_apis_answer(studio: Studio) -> None:
    client = studio.signed_in()
    token = form_token(client.get("/w/default/services/form-svc").text)
    path = "/w/default/services/form-svc/action"
    r = client.post(path, data={"csrf": token, "action": "delete", "confirm_name": "nope"})
    assert r.status_code == 400 and "to delete, type the service" in r.text
    # no reconciler runs in-process: the deploy is still running, so the API refuses a change
    update = {"csrf": token, "action": "update", "deployment_config": '{"numReplicas": 2}'}
    r = client.post(path, data=update)
    assert r.status_code == 409, r.text
    r = client.post(path, data={**update, "deployment_config": "[1]"})
    assert r.status_code == 400 and "JSON object" in r.text
    r = client.post(path, data={"csrf": token, "action": "reload"})
    assert r.status_code == 409


def test_console_reads_swagger_examples_and_header_lines() -> None:
    doc2 = {"definitions": {"ServiceInput": {"type": "object", "example": {"data": [[1, 2]]}}}}
    doc3 = {"components": {"schemas": {"ServiceInput": {"example": {"a": 1}}}}}
    assert json.loads(console.example_from(doc2) or "") == {"data": [[1, 2]]}
    assert json.loads(console.example_from(doc3) or "") == {"a": 1}
    assert console.example_from({"definitions": {"ServiceInput": {}}}) is None
    assert console.example_from([]) is None
    assert console.parse_headers("X-Ms-Foo: 1\n\nAccept: text/plain") == {
        "X-Ms-Foo": "1",
        "Accept": "text/plain",
    }
    with pytest.raises(UserError, match="Name: value"):
        console.parse_headers("no colon here")


def test_a_failed_deployment_shows_its_typed_cause_and_log_tail() -> None:
    op = {
        "id": "op-1", "kind": "Deploy", "state": "Failed", "targetRevision": 1, "step": None,
        "error": {"code": "EntryScriptInitFailed", "message": "init() raised ValueError",
                  "details": ["Traceback (most recent call last):", "ValueError: bad model"]},
    }  # fmt: skip
    service = {"name": "broken", "state": "Failed", "error": op["error"], "replicas": []}
    html = render.env.get_template("service_status.html").render(
        ws="default", service=service, op=op, following=False, tail="last log line"
    )
    assert 'data-state="Failed"' in html and "EntryScriptInitFailed" in html
    assert "ValueError: bad model" in html and "last log line" in html
    assert "hx-trigger" not in html  # a finished operation is not polled any more


def test_sign_in_guesses_meet_the_apis_failed_authentication_limit(studio: Studio) -> None:
    """Kept last in this module: it blocks the test client's address for a minute."""
    client = studio.browser()
    token = form_token(client.get("/signin").text)
    answers = [
        client.post("/signin", data={"csrf": token, "token": f"guess-{i}"}) for i in range(11)
    ]
    statuses = [a.status_code for a in answers]  # earlier tests made one wrong guess too
    assert statuses[0] == 401 and set(statuses) == {401, 429} and statuses[-1] == 429
    assert "Retry-After" in answers[10].headers
    assert "too many failed authentication attempts" in answers[10].text
    # as for the API, the address is blocked for everything without the right bearer token
    assert client.get("/signin").status_code == 429
