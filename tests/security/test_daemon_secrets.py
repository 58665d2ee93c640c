"""A background server started by ``modelport server start --database-url …`` does not show the
database password in its command line (``ps`` shows every local user the argv)."""

from __future__ import annotations

from pathlib import Path

from modelport.server import daemon
from tests.conftest import fresh_pg_database

PASSWORD = "Daemon-Secret-Pass-77"


def test_background_server_keeps_the_database_password_out_of_argv(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with fresh_pg_database() as url:
        secret_url = url.replace("postgres@", f"postgres:{PASSWORD}@")
        info = daemon.start(home, database_url=secret_url)
        try:
            argv = Path(f"/proc/{info.pid}/cmdline").read_bytes()
            assert PASSWORD.encode() not in argv, argv
            assert PASSWORD not in (home / "server.log").read_text(errors="replace")
            assert PASSWORD not in (home / "server.json").read_text()
        finally:
            assert daemon.stop(home)
