"""A killed server loses no acknowledged registration."""

from __future__ import annotations

import uuid

from tests.conftest import ServerFactory
from tests.server.helpers import WS, register


def test_kill_9_after_acknowledged_registration_keeps_the_model(
    server_factory: ServerFactory,
) -> None:
    server = server_factory()
    c = server.client()
    name = f"durable-{uuid.uuid4().hex[:8]}"
    acknowledged = [register(c, name, data=b"weights", tags={"n": str(i)}) for i in range(5)]
    server.kill()
    assert server.proc.returncode == -9
    restarted = server_factory(home=server.home)
    c2 = restarted.client()
    for model in acknowledged:
        got = c2.get(f"{WS}/models/{name}/versions/{model['version']}")
        assert got.status_code == 200
        assert got.json()["tags"] == model["tags"]
        sha = got.json()["files"][0]["sha256"]
        assert c2.get(f"{WS}/blobs/{sha}").content == b"weights"
    assert register(c2, name)["version"] == 6


def test_restart_keeps_token_and_data(server_factory: ServerFactory) -> None:
    server = server_factory()
    register(server.client(), "kept")
    server.stop()
    again = server_factory(home=server.home)
    assert again.token == server.token
    assert again.client().get(f"{WS}/models/kept/versions/1").status_code == 200
