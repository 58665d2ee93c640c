"""A server home is private: the home 0700 (0711, traverse only, when a root server gives
replicas users of their own), every file 0600 and directory 0700 (umask 077), so another local
user reads nothing: not the token, the database or its WAL, logs, blobs or environments' secrets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from modelport.targets.local import isolation
from tests.conftest import ServerProcess
from tests.security.support import start_server_with_env
from tests.server.helpers import WS, register


def _too_open(home: Path) -> list[str]:
    problems = []
    for dirpath, dirnames, filenames in os.walk(home):
        for name in (*dirnames, *filenames):
            p = Path(dirpath) / name
            mode = p.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            if stat.S_ISREG(mode) and "blobs" in p.parts and mode & 0o777 == 0o444:
                continue  # read-only blobs, below 0700 directories (checked below)
            if mode & 0o077:
                problems.append(f"{oct(mode & 0o777)} {p.relative_to(home)}")
    return problems


@pytest.fixture(scope="module")
def used_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One server start for both tests: on a home an older version left open (0755, a 0644
    log), so the token, database, blobs and environments are created fresh; the server registers
    a model and an environment with a variable, and stops."""
    home = tmp_path_factory.mktemp("perm") / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "server.log").write_text("a log line of an older version\n")
    os.chmod(home / "server.log", 0o644)
    server: ServerProcess = start_server_with_env(home, {})
    try:
        c = server.client()
        register(c, "perm-model", b"weights" * 100)
        r = c.post(f"{WS}/environments", json={"name": "perm-env",
                                                "environmentVariables": {"K": "v"}})  # fmt: skip
        assert r.status_code == 201, r.text
        assert os.path.exists(home / "db.sqlite")
    finally:
        server.stop()
    return home


def test_a_used_home_gives_other_users_nothing(used_home: Path) -> None:
    home = used_home
    expected = 0o711 if isolation.enabled() else 0o700
    assert home.stat().st_mode & 0o777 == expected
    for name in ("token", "db.sqlite", "server.log"):
        assert (home / name).stat().st_mode & 0o777 == 0o600, name
    assert (home / "artifacts").stat().st_mode & 0o777 == 0o700
    assert _too_open(home) == []


def test_an_older_home_is_tightened_at_start(used_home: Path) -> None:
    assert used_home.stat().st_mode & 0o777 in (0o700, 0o711)
    log = used_home / "server.log"
    assert log.stat().st_mode & 0o777 == 0o600
    assert log.read_text().startswith("a log line of an older version")  # kept, tightened
