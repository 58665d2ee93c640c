"""One workspace server for the whole package (the registry, SDK and CLI modules share it; each
uses its own workspace or names), and the CLI tests' ``project`` fixture."""

from collections.abc import Iterator

import pytest

from tests.cli.conftest import project  # noqa: F401  (re-exported fixture)
from tests.conftest import ServerProcess, start_server


@pytest.fixture(scope="package")
def workspace_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("modelport-home"))
    yield server
    server.stop()
