from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess, fresh_pg_database, start_server


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server on SQLite, then the same tests again on a fresh PostgreSQL database."""
    home = tmp_path_factory.mktemp(f"registry-{request.param}")
    if request.param == "postgres":
        with fresh_pg_database() as url:
            server = start_server(home, database_url=url)
            yield server
            server.stop()
    else:
        server = start_server(home)
        yield server
        server.stop()
