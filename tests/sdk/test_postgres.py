"""The SDK against a server whose store is PostgreSQL: same registry behaviour as on SQLite."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from modelport import Model, Workspace
from tests.conftest import ServerFactory


def test_registry_on_postgres_two_server_processes(
    server_factory: ServerFactory, pg_url: str, tmp_path: Path
) -> None:
    artifacts = tmp_path / "artifacts"
    first = server_factory(database_url=pg_url, artifacts=artifacts)
    second = server_factory(database_url=pg_url, artifacts=artifacts)
    (tmp_path / "m.bin").write_bytes(b"weights")
    targets = [first, second] * 3

    def register(i: int) -> int:
        server = targets[i]
        ws = Workspace.get("default", server_url=server.url, token=server.token)
        return Model.register(ws, tmp_path / "m.bin", "pg-model", tags={"i": str(i)}).version

    with ThreadPoolExecutor(6) as pool:
        versions = sorted(pool.map(register, range(6)))
    assert versions == [1, 2, 3, 4, 5, 6]
    ws = Workspace.get("default", server_url=second.url, token=second.token)
    assert [m.version for m in Model._iter(ws, name="pg-model", page_size=4)] == [6, 5, 4, 3, 2, 1]
    path = Path(Model(ws, "pg-model", version=3).download(tmp_path / "out"))
    assert path.read_bytes() == b"weights"
