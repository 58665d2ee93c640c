from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess
from tests.security.support import (
    JSON_LIMIT,
    UPLOAD_LIMIT,
    leftover_guard,
    start_server_with_env,
)


@pytest.fixture(scope="module", autouse=True)
def _no_leftover_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield from leftover_guard(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def limits_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for two modules (a start is seconds of the suite): small body limits for
    test_limits_and_paths, and a failed-auth budget large enough for test_routes_auth to send
    a wrong token to every route (every loopback address counts as one client)."""
    env = {
        "MODELPORT_MAX_JSON_BYTES": str(JSON_LIMIT),
        "MODELPORT_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
        "MODELPORT_AUTH_FAILURES": "10000",
    }
    s = start_server_with_env(tmp_path_factory.mktemp("limits-home"), env)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def deploy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One plain deploy server (shared environment cache) for the modules whose tests only add
    objects of their own: test_data_plane, test_env_secrets, test_isolation, test_symlinks. Each
    deletes its services at its end (``delete_services``), so no replica outlives its module."""
    from tests.conftest import start_server
    from tests.e2e.deploy_support import kill_leftovers, start_deploy_server

    s = start_deploy_server(start_server, tmp_path_factory.mktemp("deploy") / "home")
    yield s
    s.stop()
    kill_leftovers(s.home)
