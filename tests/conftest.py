"""Shared fixtures: real workspace server processes on loopback, and fresh PostgreSQL databases.

- ``workspace_server`` (module scope): one server with a tmp home; ``.url``, ``.token``, ``.home``,
  ``.env`` (``MODELPORT_HOME``/``MODELPORT_URL``/``MODELPORT_TOKEN``) and ``.client()``.
- ``server_factory(database_url=None, home=None, artifacts=None)``: more servers (restarts,
  several processes on one database); every one is stopped at the end of the test.
- ``pg_url``: a fresh PostgreSQL database on 127.0.0.1:5432, dropped afterwards; the test is
  skipped with the reason when no PostgreSQL answers (and gets the ``postgres`` marker).
- ``campaign(small, full)``: the size of a fault or fuzz campaign (``MODELPORT_TEST_FULL=1``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

PG_ADMIN_URL = os.environ.get("MODELPORT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
START_TIMEOUT = 60.0
FULL_CAMPAIGNS = os.environ.get("MODELPORT_TEST_FULL") == "1"
T = TypeVar("T", int, float)


def campaign(small: T, full: T) -> T:
    """The size of a fault or fuzz campaign: ``small`` in the suite (the same code paths and
    invariants, fewer iterations, so the suite stays fast on 2 busy cores), ``full`` when run by
    hand with ``MODELPORT_TEST_FULL=1`` (e.g. ``MODELPORT_TEST_FULL=1 ./scripts/test tests/faults``)."""
    return full if FULL_CAMPAIGNS else small


@dataclass
class ServerProcess:
    """A workspace server subprocess started by the fixtures."""

    home: Path
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    database_url: str | None = None
    artifacts: Path | None = None
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def env(self) -> dict[str, str]:
        return {
            "MODELPORT_HOME": str(self.home),
            "MODELPORT_URL": self.url,
            "MODELPORT_TOKEN": self.token,
        }

    def client(self, token: str | None = None, timeout: float = 60.0) -> httpx.Client:
        """An httpx client with the base URL and the bearer token set (closed at teardown)."""
        c = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=timeout,
        )
        self._clients.append(c)
        return c

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        for c in self._clients:
            c.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def peak_rss_kb(self) -> int:
        """VmHWM of the server process (peak resident memory), in kB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("VmHWM not found")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}


def start_server(
    home: Path, database_url: str | None = None, artifacts: Path | None = None
) -> ServerProcess:
    """Start ``python -m modelport.server`` on a free loopback port; poll until it answers."""
    home.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (home / "server.json").unlink()
    args = [sys.executable, "-m", "modelport.server", "--home", str(home), "--port", "0"]
    args += ["--host", "127.0.0.1"]
    if database_url:
        args += ["--database-url", database_url]
    if artifacts:
        args += ["--artifacts", str(artifacts)]
    with open(home / "server.log", "ab") as log:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_clean_env()
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log_text = (home / "server.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_text}")
        try:
            info = json.loads((home / "server.json").read_text())
        except (OSError, ValueError):
            info = None
        if info and info.get("pid") == proc.pid:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{info['url']}/api/v1/health", timeout=2).status_code == 200:
                    token = (home / "token").read_text().strip()
                    return ServerProcess(home, proc, info["url"], token, database_url, artifacts)
        time.sleep(0.05)  # poll interval; the loop is bounded by the deadline
    proc.kill()
    raise RuntimeError(f"server did not answer within {START_TIMEOUT} s")


ServerFactory = Callable[..., ServerProcess]


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    started: list[ServerProcess] = []
    numbers = itertools.count()  # taken at call time: servers started from threads get own homes

    def factory(
        database_url: str | None = None, home: Path | None = None, artifacts: Path | None = None
    ) -> ServerProcess:
        server = start_server(
            home or tmp_path / f"home-{next(numbers)}",
            database_url=database_url,
            artifacts=artifacts,
        )
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def workspace_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("modelport-home"))
    yield server
    server.stop()


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (SQLAlchemy URL), dropped on exit; skips without PG."""
    psycopg = pytest.importorskip("psycopg")
    name = f"mp_{uuid.uuid4().hex[:16]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL answers at {PG_ADMIN_URL}: {exc}".strip())
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session", autouse=True)
def _no_replica_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Replicas are detached on purpose (they outlive their server); a test that fails before its
    clean-up would leave them running for the rest of the suite and beyond it. Stop them here."""
    yield
    from tests.e2e.deploy_support import kill_leftovers  # imports this module: import late

    base = tmp_path_factory.getbasetemp()
    leftovers = kill_leftovers(base)  # every replica whose app root lies under the session's tmp
    if leftovers:
        print(f"\nstopped {len(leftovers)} replica process(es) left under {base}")


# Replica users (`mp-…`, SECURITY.md "User code in a box") are removed when their service is
# deleted; tests that kill a root server or drop a home without deleting its services leave
# theirs behind, and system uids (100-999) run out after enough runs on one machine. The
# controlling process removes, at the end, the ones this run created (userdel refuses a user a
# process still runs as).
_USERS_BEFORE = pytest.StashKey[set[str]]()


def _replica_users() -> set[str]:
    try:
        with open("/etc/passwd", encoding="utf-8") as f:
            return {line.split(":", 1)[0] for line in f if line.startswith("mp-")}
    except OSError:
        return set()


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")  # pytest-xdist workers have it


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.geteuid() == 0 and _is_controller(session.config):
        session.config.stash[_USERS_BEFORE] = _replica_users()


def pytest_sessionfinish(session: pytest.Session) -> None:
    before = session.config.stash.get(_USERS_BEFORE, None)
    if before is None:
        return
    for user in sorted(_replica_users() - before):
        subprocess.run(["userdel", user], capture_output=True, check=False)
        subprocess.run(["groupdel", user], capture_output=True, check=False)
