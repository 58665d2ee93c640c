"""Every route of the OpenAPI document needs the workspace token; wrong tokens are rate-limited
per client address, and the right token is never blocked."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.security.support import client_from, start_server_with_env

OPEN_ROUTES = {("get", "/api/v1/health")}
WINDOW = 3.0  # MODELPORT_AUTH_WINDOW_SECONDS of the module's server
SAMPLE = {
    "ws": "default",
    "sha256": "0" * 64,
    "name": "m",
    "version": "1",
    "runId": "exp_1_abcdef01",
    "experiment": "exp",
    "op_id": "op",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"MODELPORT_AUTH_FAILURES": "5", "MODELPORT_AUTH_WINDOW_SECONDS": str(int(WINDOW))}
    s = start_server_with_env(tmp_path_factory.mktemp("auth-home"), env)
    yield s
    s.stop()


def _routes(server: ServerProcess) -> list[tuple[str, str]]:
    doc = server.client().get("/openapi.json").json()
    routes = []
    for path, item in doc["paths"].items():
        for method in item:
            if method in ("get", "put", "post", "patch", "delete", "head", "options"):
                routes.append((method, path))
    return routes


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "x"), path)


def test_every_route_in_the_openapi_document_needs_the_token(server: ServerProcess) -> None:
    routes = _routes(server)
    assert len(routes) >= 30, routes  # the document lists the whole API
    checked = 0
    with client_from(server, "127.0.0.11") as anonymous:
        for method, path in routes:
            if (method, path) in OPEN_ROUTES:
                continue
            r = anonymous.request(method.upper(), _fill(path).removeprefix("/api/v1"), json={})
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.headers["www-authenticate"] == "Bearer", (method, path)
            if method != "head":
                message = r.json()["message"]  # replicas' ingestion has keys of its own
                assert "token" in message or "key" in message, (method, path)
            checked += 1
    print(f"\n[campaign] routes checked without a token: {checked}")


def test_routes_answer_401_to_a_wrong_token_before_any_lookup(
    limits_server: ServerProcess, server: ServerProcess
) -> None:
    # every loopback address is one client: a server with a budget for every route
    # (tests/security/conftest.py)
    with client_from(limits_server, "127.0.1.10", token="wrong-token") as c:
        for method, path in (r for r in _routes(server) if r not in OPEN_ROUTES):
            r = c.request(method.upper(), _fill(path).removeprefix("/api/v1"), json={})
            assert r.status_code == 401, (method, path, r.status_code, r.text)


def test_wrong_tokens_are_rate_limited_but_the_right_token_passes(server: ServerProcess) -> None:
    with (
        client_from(server, "127.0.0.21", token="guess") as guesser,
        client_from(server, "127.0.0.21", token=server.token) as owner,
        client_from(server, "127.0.0.21") as anonymous,
        client_from(server, "127.0.0.22", token="other") as alias,
    ):
        # The failures slide out of a 3 s window: on a loaded machine the sequence below can
        # outlast it, which says nothing about the limiter. Then let every failure expire (a
        # missing token is not counted, so `anonymous` can watch) and run it again.
        for _attempt in range(5):
            started = time.monotonic()
            codes = [guesser.get("/workspaces").status_code for _ in range(5)]
            blocked = guesser.get("/workspaces")
            seen = {
                "anonymous": anonymous.get("/workspaces").status_code,
                "owner": owner.get("/workspaces").status_code,
                "alias": alias.get("/workspaces").status_code,
            }
            last_failure = time.monotonic()
            if last_failure - started < WINDOW:
                break
            deadline = last_failure + WINDOW + 30
            while anonymous.get("/workspaces").status_code == 429 or (
                time.monotonic() < last_failure + WINDOW
            ):
                assert time.monotonic() < deadline, "the block did not expire with its window"
                time.sleep(0.2)  # poll interval, bounded by the deadline
        assert codes == [401] * 5
        assert blocked.status_code == 429, blocked.text
        assert 1 <= int(blocked.headers["retry-after"]) <= 3
        assert "retry after" in blocked.json()["message"]
        # a request without a token is blocked too; the right token from there is never blocked;
        # another loopback address is the same client, not a fresh budget
        assert seen == {"anonymous": 429, "owner": 200, "alias": 429}
        # health stays open
        assert guesser.get("/health").status_code == 200
        # Once every counted failure has left the window, a wrong token is a plain 401 again.
        # Watch with `anonymous` (not counted): a wrong-token probe would itself count, and with
        # the five failures spread out on a loaded machine the window slides rather than ends.
        deadline = last_failure + WINDOW + 30
        while anonymous.get("/workspaces").status_code == 429 or (
            time.monotonic() < last_failure + WINDOW
        ):
            assert time.monotonic() < deadline, "the block did not expire with its window"
            time.sleep(0.2)  # poll interval, bounded by the deadline
        assert guesser.get("/workspaces").status_code == 401


def test_missing_token_is_not_counted_as_a_guess(server: ServerProcess) -> None:
    with client_from(server, "127.0.0.31") as anonymous:
        codes = {anonymous.get("/workspaces").status_code for _ in range(12)}
    assert codes == {401}


def test_token_file_is_0600_and_not_in_the_log(server: ServerProcess) -> None:
    assert (server.home / "token").stat().st_mode & 0o777 == 0o600
    assert server.token not in Path(server.home / "server.log").read_text(errors="replace")
    r = httpx.get(f"{server.url}/api/v1/openapi.json")
    assert r.status_code == 401  # the schema too is behind the token
    assert server.token not in server.client().get("/openapi.json").text
