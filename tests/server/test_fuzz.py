"""Schema-driven fuzzing of the whole API from its own OpenAPI document: never a 5xx.

Schemathesis generates valid (positive) and invalid (negative) requests for every operation; a
bounded number of examples per operation keeps the run well under a minute. (Its pytest
plugin does not support pytest 9 yet, so the strategies are driven with Hypothesis directly.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from tests.conftest import ServerProcess, campaign
from tests.server.helpers import register

EXAMPLES_PER_OPERATION = campaign(4, 12)  # per mode: 4 in the suite, 12 by hand


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_input_makes_the_server_answer_5xx(workspace_server: ServerProcess, mode: str) -> None:
    # Something to find, so that generated requests also reach the code behind the 404s
    # (the fuzzer may delete it: each mode starts by making it again).
    client = workspace_server.client()
    client.post("/workspaces", json={"name": "fuzz"})
    register(client, "fuzzed", ws="/workspaces/fuzz", tags={"a": "b"})
    headers = {"Authorization": f"Bearer {workspace_server.token}"}
    schema = schemathesis.openapi.from_url(
        f"{workspace_server.url}/api/v1/openapi.json", headers=headers
    )
    generation = schemathesis.GenerationMode(mode)
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=generation)

        @given(case=strategy, aim=st.integers(0, 2))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any, aim: int) -> None:
            # Two requests out of three target objects that exist, to get past the 404s.
            if aim and "ws" in case.path_parameters:
                case.path_parameters["ws"] = "fuzz"
            if aim and "name" in case.path_parameters:
                case.path_parameters["name"] = "fuzzed"
            response = case.call(headers=headers, timeout=30)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code} "
                    f"{response.text[:300]}"
                )
            elif response.status_code >= 400 and case.method != "HEAD":
                assert "message" in response.json(), response.text

        try:
            check()
        except Unsatisfiable:
            assert mode == "negative"  # nothing in this operation can be made invalid
    assert not failures, "\n".join(failures[:20])
