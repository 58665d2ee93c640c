"""``modelport server …``, autostart of the local server, workspaces, folders and connection errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from modelport.server import daemon
from tests.cli.conftest import assert_one_line_error, run_cli
from tests.conftest import ServerProcess


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """An empty MODELPORT_HOME; whatever server the test starts in it is stopped afterwards."""
    path = tmp_path / "home"
    yield path
    daemon.stop(path)


def _servers_of(home: Path) -> list[int]:
    """Pids of live workspace server processes serving ``home``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"modelport.server" in cmdline and str(home).encode() in cmdline:
            status = (proc / "status").read_text()
            if "\nState:\tZ" not in status:
                pids.append(int(proc.name))
    return pids


def test_first_use_in_an_empty_home_starts_the_local_server(home: Path, tmp_path: Path) -> None:
    env = {"MODELPORT_HOME": str(home)}
    before = json.loads(run_cli("server", "status", "-o", "json", env=env).stdout)
    assert before["running"] is False
    result = run_cli("workspace", "list", "-o", "json", "--query", "[].name", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "default" in json.loads(result.stdout)
    status = json.loads(run_cli("server", "status", "-o", "json", env=env).stdout)
    assert status["running"] is True and status["url"].startswith("http://127.0.0.1:")
    assert oct((home / "token").stat().st_mode & 0o777) == "0o600"
    assert _servers_of(home) == [status["pid"]]
    stopped = json.loads(run_cli("server", "stop", "-o", "json", env=env).stdout)
    assert stopped["stopped"] is True
    assert json.loads(run_cli("server", "status", "-o", "json", env=env).stdout)["running"] is False
    assert json.loads(run_cli("server", "stop", "-o", "json", env=env).stdout)["stopped"] is False


def test_two_concurrent_first_uses_start_one_server(home: Path, tmp_path: Path) -> None:
    env = {"MODELPORT_HOME": str(home)}
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda _: run_cli("model", "list", "-o", "json", env=env, cwd=tmp_path), range(2)
            )
        )
    for result in results:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == []
    assert len(_servers_of(home)) == 1


def test_server_start_status_stop(home: Path) -> None:
    env = {"MODELPORT_HOME": str(home)}
    started = json.loads(run_cli("server", "start", "--port", "0", "-o", "json", env=env).stdout)
    assert started["running"] is True and started["host"] == "127.0.0.1"
    again = json.loads(run_cli("server", "start", "-o", "json", env=env).stdout)
    assert again["pid"] == started["pid"]  # already running: the same server
    assert (
        run_cli("server", "status", "-o", "tsv", "--query", "url", env=env).stdout.strip()
        == started["url"]
    )
    table = run_cli("server", "status", env=env).stdout
    assert started["url"] in table and "tokenFile" in table
    assert json.loads(run_cli("server", "stop", "-o", "json", env=env).stdout)["stopped"] is True


def test_wrong_token_is_one_line_naming_the_token(workspace_server: ServerProcess) -> None:
    env = workspace_server.env | {"MODELPORT_TOKEN": "wrong"}
    line = assert_one_line_error(run_cli("model", "list", "-w", "default", env=env))
    assert "token" in line and "MODELPORT_TOKEN" in line


def test_unreachable_server_is_one_line_naming_the_url(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = run_cli(
        "workspace", "list", env={"MODELPORT_URL": url, "MODELPORT_TOKEN": "x"}, cwd=tmp_path
    )
    assert url in assert_one_line_error(result)


def test_workspace_commands_and_folder_attach(
    workspace_server: ServerProcess, tmp_path: Path
) -> None:
    env = workspace_server.env

    def ok(*args: str, cwd: Path = tmp_path) -> str:
        result = run_cli(*args, env=env, cwd=cwd)
        assert result.returncode == 0, result.stderr
        return result.stdout

    created = json.loads(
        ok("workspace", "create", "-w", "cli-ws", "--description", "demo", "-o", "json")
    )
    assert (created["name"], created["description"]) == ("cli-ws", "demo")
    assert "cli-ws" in assert_one_line_error(
        run_cli("workspace", "create", "-w", "cli-ws", env=env)
    )
    assert (
        json.loads(ok("workspace", "create", "-w", "cli-ws", "--exist-ok", "-o", "json"))["name"]
        == "cli-ws"
    )
    assert "cli-ws" in json.loads(ok("workspace", "list", "-o", "json", "--query", "[].name"))
    assert "cli-ws" in ok("workspace", "list")

    project = tmp_path / "proj"
    project.mkdir()
    attached = json.loads(
        ok("folder", "attach", "-w", "cli-ws", "--path", str(project), "-o", "json")
    )
    assert Path(attached["configFile"]) == project / ".modelport" / "config.json"
    (project / "src").mkdir()
    assert (
        ok("workspace", "show", "-o", "tsv", "--query", "name", cwd=project / "src").strip()
        == "cli-ws"
    )
    assert (
        ok("workspace", "show", "--path", str(project), "-o", "tsv", "--query", "name").strip()
        == "cli-ws"
    )
    assert (
        ok("workspace", "show", "-o", "tsv", "--query", "name").strip() == "default"
    )  # no config here

    # A v1 .azureml/config.json is read as is.
    legacy = tmp_path / "legacy"
    (legacy / ".azureml").mkdir(parents=True)
    v1 = {"subscription_id": "s", "resource_group": "r", "workspace_name": "cli-ws"}
    (legacy / ".azureml" / "config.json").write_text(json.dumps(v1))
    assert ok("model", "list", "-o", "json", cwd=legacy) == "[]\n"

    assert "cli-ws" in assert_one_line_error(
        run_cli("workspace", "delete", "-w", "cli-ws", env=env)
    )  # needs --yes
    assert (
        json.loads(ok("workspace", "delete", "-w", "cli-ws", "--yes", "-o", "json"))["deleted"]
        is True
    )
    assert_one_line_error(run_cli("workspace", "show", "-w", "cli-ws", env=env))
    assert_one_line_error(run_cli("workspace", "create", "-w", "x y", env=env))
    assert_one_line_error(run_cli("folder", "attach", "-w", "absent-ws", env=env, cwd=tmp_path))
    assert_one_line_error(
        run_cli("workspace", "show", "--path", str(tmp_path / "nowhere"), env=env)
    )


def test_serve_passes_every_argument_through_including_help() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0, result.stderr
    assert "--entry-script" in result.stdout
    bad = run_cli("serve", "--entry-script", "missing_score.py", "--port", "0")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_debug_env_shows_the_traceback(tmp_path: Path) -> None:
    env = {"MODELPORT_URL": "http://127.0.0.1:9", "MODELPORT_TOKEN": "x", "MODELPORT_DEBUG": "1"}
    result = run_cli("workspace", "list", env=env, cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_console_script_is_installed() -> None:
    exe = (
        Path(os.environ.get("VIRTUAL_ENV", Path(__file__).parents[2] / ".venv"))
        / "bin"
        / "modelport"
    )
    if not exe.exists():
        exe = Path(__file__).parents[2] / ".venv" / "bin" / "modelport"
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("modelport ")


def test_foreground_server_runs_until_stopped(home: Path) -> None:
    import time

    from tests.cli.conftest import CLI

    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    env["MODELPORT_HOME"] = str(home)
    proc = subprocess.Popen(
        [*CLI, "server", "start", "--foreground"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while daemon.status(home) is None:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the foreground server did not come up"
            time.sleep(0.1)  # polling with a deadline
        assert daemon.status(home).pid == proc.pid  # type: ignore[union-attr]
        # Reap it the moment it exits: an unreaped child stays a zombie that `server stop` (in
        # another process) cannot tell from a live server, and would wait out its timeout for.
        outputs: list[str] = []
        reaper = threading.Thread(target=lambda: outputs.extend(proc.communicate(timeout=60)))
        reaper.start()
        stopped = json.loads(
            run_cli("server", "stop", "-o", "json", env={"MODELPORT_HOME": str(home)}).stdout
        )
        assert stopped["stopped"] is True
        reaper.join()
        err = outputs[1]
        # uvicorn drains, then re-raises SIGTERM so the exit status says how it ended.
        assert proc.returncode in (0, -signal.SIGTERM), err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
