"""(a) Schema-driven fuzzing of the workspace server's API with schemathesis: valid and invalid
inputs for every operation of ``/api/v1/openapi.json``. Zero 5xx answers, every error is
``{"message"}``, and the server process never dies."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.conftest import ServerProcess, campaign, start_server
from tests.security.support import WS, blob_problems, sha

# per operation, mode and path style (~38 operations x 2 modes x 2 styles): 3 in the suite, 6 by hand
EXAMPLES = campaign(3, 6)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = start_server(tmp_path_factory.mktemp("fuzz-home"))
    c = s.client()
    data = b"fuzz-weights"
    c.put(f"{WS}/blobs/{sha(data)}", content=data)
    entry = {"path": "m.bin", "sha256": sha(data), "size": len(data)}
    assert c.post(f"{WS}/models", json={"name": "m", "files": [entry]}).status_code == 201
    yield s
    s.stop()


def _known(server: ServerProcess) -> dict[str, str]:
    c = server.client()
    run = c.post(f"{WS}/experiments/exp/runs", json={}).json()
    return {"ws": "default", "name": "m", "version": "1", "run_id": run["id"], "experiment": "exp"}


@pytest.mark.slow
def test_fuzzing_the_api_gives_no_5xx_and_no_crash(server: ServerProcess) -> None:
    schema = schemathesis.openapi.from_url(
        f"{server.url}/api/v1/openapi.json", headers={"Authorization": f"Bearer {server.token}"}
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.token}"
    known = _known(server)
    cases = 0
    failures: list[str] = []

    def check(case: Any, pin: bool) -> None:
        nonlocal cases
        if pin:  # aim at existing objects, so the fuzz gets past the 404s
            for key, value in known.items():
                if case.path_parameters and key in case.path_parameters:
                    case.path_parameters[key] = value
        try:
            r = case.call(base_url=server.url, session=session, timeout=30)
        except requests.RequestException as exc:
            failures.append(f"{case.method} {case.formatted_path}: {exc!r}")
            return
        cases += 1
        if r.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {r.status_code} {r.text[:200]}"
            )
        elif r.status_code >= 400 and case.method != "HEAD":
            try:
                assert isinstance(r.json()["message"], str)
            except (ValueError, KeyError, TypeError, AssertionError):
                failures.append(f"{case.method} {case.formatted_path}: error body {r.text[:200]}")
        if server.proc.poll() is not None:
            failures.append(f"server died after {case.method} {case.formatted_path}")
            raise hypothesis.errors.StopTest(0) from None  # type: ignore[attr-defined]

    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 30
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for pin in (False, True):

                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=op.as_strategy(generation_mode=mode), pin=st.just(pin))
                def run(case: Any, pin: bool) -> None:
                    check(case, pin)

                with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                    run()
    assert server.proc.poll() is None, "the server process died"
    assert blob_problems(server.home / "artifacts") == []
    log = (server.home / "server.log").read_text(errors="replace")
    print(
        f"\n[campaign] API fuzz: {len(operations)} operations, {cases} cases, "
        f"{len(failures)} failures"
    )
    assert not failures, "\n".join(failures[:30])
    assert "Traceback" not in log, log[-3000:]
