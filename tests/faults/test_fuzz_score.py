"""(a) Fuzzing a deployed service's HTTP interface: random methods, paths, headers and bodies.
Zero 5xx other than the documented 500 from a failing ``run()``, and no replica ever dies."""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import ServerFactory, ServerProcess, campaign
from tests.e2e.deploy_support import WS, deploy, deployed, start_deploy_server

RUN_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."
SCRIPT = """
import json

def init():
    pass

def run(raw):
    data = json.loads(raw)["data"]   # random bodies make this raise: the documented 500
    return {"n": len(data)}
"""
EXAMPLES = campaign(100, 300)  # requests per auth mode: 100 in the suite, 300 by hand

header_names = st.sampled_from(
    ["content-type", "x-ms-request-id", "x-request-id", "authorization", "accept", "x-custom",
     "content-encoding", "transfer-encoding", "expect", "range", "origin"]
)  # fmt: skip
header_values = st.one_of(
    st.sampled_from(
        ["application/json", "text/plain", "application/octet-stream", "multipart/form-data",
         "gzip", "chunked", "100-continue", "bytes=0-1", "Bearer x", "*/*"]
    ),
    st.text(alphabet=string.printable.strip("\r\n\x0b\x0c"), max_size=300),
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
        max_leaves=20,
    ).map(lambda v: httpx.Request("POST", "http://x", json={"data": v}).content),
)
paths = st.one_of(
    st.sampled_from(
        ["/score", "/", "/swagger.json", "/swagger.json?version=3", "/swagger.json?version=9",
         "/metrics", "/score?x=1", "/score/", "//score", "/%2e%2e/etc/passwd", "/score%00"]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "/-_.%?=&", max_size=60).map(
        lambda p: "/" + p
    ),
)  # fmt: skip
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"])


@pytest.fixture(params=["open", "key-auth"])
def service(
    request: pytest.FixtureRequest, server_factory: ServerFactory, tmp_path: Path
) -> Iterator[tuple[ServerProcess, dict]]:
    server = start_deploy_server(server_factory, tmp_path / "home")
    c = server.client()
    config = {"computeType": "local", "authEnabled": request.param == "key-auth"}
    svc = deployed(c, deploy(c, "fuzzed", script=SCRIPT, config=config))
    assert svc["state"] == "Healthy", svc
    if request.param == "key-auth":
        svc["_key"] = c.post(f"{WS}/services/fuzzed/listKeys").json()["primaryKey"]
    yield server, svc


@pytest.mark.slow
def test_fuzzing_score_gives_only_documented_errors_and_no_crash(
    service: tuple[ServerProcess, dict[str, Any]],
) -> None:
    server, svc = service
    base = svc["scoringUri"].rsplit("/score", 1)[0]
    pids_before = sorted(r["pid"] for r in svc["replicas"])
    seen: dict[int, int] = {}
    failures: list[str] = []
    client = httpx.Client(base_url=base, timeout=30)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        method=methods,
        path=paths,
        headers=st.dictionaries(header_names, header_values, max_size=4),
        body=bodies,
    )
    def one(method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        if "_key" in svc and "authorization" not in headers and len(body) % 2:
            headers = {**headers, "authorization": f"Bearer {svc['_key']}"}  # reach run() too
        try:
            r = client.request(method, path, headers=headers, content=body or None)
        except httpx.LocalProtocolError:
            return  # httpx refused to send it (e.g. a Transfer-Encoding it does not speak)
        except httpx.RemoteProtocolError:
            # e.g. a malformed Transfer-Encoding the server refuses to parse: the
            # connection is closed, which is not a 5xx; the replica must stay up (checked below).
            seen[0] = seen.get(0, 0) + 1
            return
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        if r.status_code >= 500:
            message = r.json().get("message") if r.content else None
            if not (r.status_code == 500 and message == RUN_FAILED and path.startswith("/score")):
                failures.append(f"{method} {path} {headers} -> {r.status_code} {r.text[:200]}")

    one()
    client.close()
    after = server.client().get("/workspaces/default/services/fuzzed").json()
    assert after["state"] == "Healthy", after
    assert sorted(r["pid"] for r in after["replicas"]) == pids_before, "a replica restarted"
    assert all(r["restarts"] == 0 for r in after["replicas"]), after["replicas"]
    mode = "key auth" if "_key" in svc else "no auth"
    print(f"\n[campaign] /score fuzz ({mode}): {sum(seen.values())} cases, {sorted(seen.items())}")
    assert not failures, "\n".join(failures[:20])
