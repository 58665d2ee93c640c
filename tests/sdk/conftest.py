"""SDK test fixtures: the module's shared server, reached the way users reach it (environment)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from modelport.sdk.workspace import Workspace
from tests.conftest import ServerProcess, start_server


@pytest.fixture(scope="package")
def workspace_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for all the SDK modules (each works in a workspace of its own): a server
    start per module was most of what the fast modules cost."""
    server = start_server(tmp_path_factory.mktemp("sdk-home"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(workspace_server: ServerProcess) -> Iterator[ServerProcess]:
    """The module's server, selected through MODELPORT_URL/MODELPORT_TOKEN/MODELPORT_HOME."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in workspace_server.env.items():
            mp.setenv(key, value)
        yield workspace_server


@pytest.fixture(scope="module")
def ws(server: ServerProcess) -> Workspace:
    """A fresh workspace per test module, so modules never see each other's models."""
    return Workspace.create(f"t-{uuid.uuid4().hex[:12]}")
