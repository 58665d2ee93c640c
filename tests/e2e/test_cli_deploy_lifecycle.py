"""`modelport model deploy` with v1 config files and the `modelport service` commands, as real
processes against a real workspace server and real replicas."""

from __future__ import annotations

import io
import json
from pathlib import Path

import joblib
import pytest

from tests.conftest import ServerProcess
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.deploy_support import DIGITS_SCORE, digits_model, digits_rows, port_is_free
from tests.e2e.sdk_deploy_support import (
    cli,
    digits_environment,
    minimal_environment,
)

# module-scoped fixtures shared by the deployment tests
deploy_server = fixtures.deploy_server

pytestmark = pytest.mark.timeout(600)


def _project(root: Path, script: str, environment: dict[str, object]) -> Path:
    (root / "source").mkdir(parents=True, exist_ok=True)
    (root / "source" / "score.py").write_text(script)
    (root / "inferenceconfig.json").write_text(
        json.dumps(
            {"entryScript": "score.py", "sourceDirectory": "source", "environment": environment},
            indent=4,
        )
    )
    (root / "deploymentconfig.json").write_text(json.dumps({"computeType": "local"}))
    return root


def test_cli_deploys_v1_files_to_healthy_and_manages_the_service(
    deploy_server: ServerProcess, tmp_path: Path
) -> None:
    project = _project(tmp_path, DIGITS_SCORE, digits_environment())
    (project / "digits.pkl").write_bytes(digits_model())
    reg = cli(
        deploy_server,
        ["model", "register", "-n", "digits-cli", "-p", "digits.pkl", "-t", "meta.json"],
        project,
    )
    assert reg.returncode == 0, reg.stderr

    proc = cli(
        deploy_server,
        ["model", "deploy", "-n", "cli-digits", "--model-metadata-file", "meta.json",
         "--ic", "inferenceconfig.json", "--dc", "deploymentconfig.json", "-o", "json"],
        project,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # progress on stderr: the operation, the environment, the replica, the end
    assert "Deploying cli-digits" in proc.stderr
    assert "Deploying: Running" in proc.stderr
    assert "Environment digits-env" in proc.stderr
    assert "[rev-1/replica-0]" in proc.stderr
    assert "cli-digits is Healthy" in proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["state"] == "Healthy" and shown["models"] == ["digits-cli:1"]
    port = shown["port"]

    listed = cli(deploy_server, ["service", "list", "-o", "json"], project)
    assert [s["name"] for s in json.loads(listed.stdout)] == ["cli-digits"]
    table = cli(deploy_server, ["service", "list"], project)
    assert "cli-digits" in table.stdout and "Healthy" in table.stdout
    uri = cli(
        deploy_server,
        ["service", "show", "-n", "cli-digits", "--query", "scoringUri", "-o", "tsv"],
        project,
    )
    assert uri.stdout.strip() == f"http://127.0.0.1:{port}/score"
    logs = cli(deploy_server, ["service", "get-logs", "-n", "cli-digits", "-l", "40"], project)
    assert logs.returncode == 0 and "replica-0" in logs.stdout

    rows = digits_rows(3)
    expected = joblib.load(io.BytesIO(digits_model())).predict(rows).tolist()
    (project / "rows.json").write_text(json.dumps({"data": rows}))
    run = cli(
        deploy_server,
        ["service", "run", "-n", "cli-digits", "-d", "@rows.json", "-o", "json"],
        project,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == expected

    upd = cli(
        deploy_server,
        ["service", "update", "-n", "cli-digits", "--tag", "team=vision", "-o", "json"],
        project,
    )
    assert upd.returncode == 0, upd.stderr
    assert json.loads(upd.stdout)["tags"] == {"team": "vision"}
    assert "Updating: Succeeded" in upd.stderr
    assert "Deploy operation" not in upd.stderr  # only the update's own log lines are shown
    tagged = cli(
        deploy_server,
        ["service", "list", "--tag", "team=vision", "--query", "[].name", "-o", "json"],
        project,
    )
    assert json.loads(tagged.stdout) == ["cli-digits"]
    other = cli(deploy_server, ["service", "list", "--tag", "team=speech", "-o", "json"], project)
    assert json.loads(other.stdout) == []

    rel = cli(deploy_server, ["service", "reload", "-n", "cli-digits", "-o", "none"], project)
    assert rel.returncode == 0, rel.stderr
    assert "cli-digits is Healthy" in rel.stderr
    assert "Reload operation" in rel.stderr and "Deploy operation" not in rel.stderr
    assert "[rev-2/replica-0]" in rel.stderr and "[rev-1/replica-0] ===" not in rel.stderr

    gone = cli(deploy_server, ["service", "delete", "-n", "cli-digits"], project)
    assert gone.returncode == 0, gone.stderr
    assert port_is_free(port)
    missing = cli(deploy_server, ["service", "show", "-n", "cli-digits"], project)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "cli-digits not found" in missing.stderr


def test_cli_deploy_of_a_broken_script_exits_1_with_cause_tail_and_hint(
    deploy_server: ServerProcess, tmp_path: Path
) -> None:
    script = (
        "import not_a_module_anywhere\n\ndef init():\n    pass\n\ndef run(raw):\n    return raw\n"
    )
    project = _project(tmp_path, script, minimal_environment())
    proc = cli(
        deploy_server,
        ["model", "deploy", "-n", "cli-broken", "--ic", "inferenceconfig.json",
         "--dc", "deploymentconfig.json"],
        project,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, proc.stderr
    assert "cli-broken is Failed: EntryScriptImportFailed" in errors[0]
    assert "not_a_module_anywhere" in proc.stderr.split("Log tail:")[1]
    assert "Run `modelport service get-logs -n cli-broken`" in proc.stderr
    assert proc.stdout == ""
    cli(deploy_server, ["service", "delete", "-n", "cli-broken"], project)


def test_cli_no_wait_returns_transitioning_at_once(
    deploy_server: ServerProcess, tmp_path: Path
) -> None:
    project = _project(
        tmp_path, "def init():\n    pass\n\ndef run(raw):\n    return 1\n", minimal_environment()
    )
    proc = cli(
        deploy_server,
        ["model", "deploy", "-n", "cli-nowait", "--ic", "inferenceconfig.json", "--no-wait", "-o", "json"],
        project,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["state"] in ("Transitioning", "Healthy")
    assert "Accepted: operation" in proc.stderr
    again = cli(
        deploy_server,
        ["model", "deploy", "-n", "cli-nowait", "--ic", "inferenceconfig.json"],
        project,
    )
    assert again.returncode == 1
    assert "cli-nowait" in again.stderr and "Traceback" not in again.stderr

    from modelport import Webservice, Workspace

    ws = Workspace.get("default", server_url=deploy_server.url, token=deploy_server.token)
    Webservice(ws, "cli-nowait").wait_for_deployment(timeout_sec=300)
    broken = _project(
        tmp_path / "broken",
        "def init():\n    raise ValueError('bad weights')\n\ndef run(raw):\n    return 0\n",
        minimal_environment(),
    )
    upd = cli(
        deploy_server,
        ["service", "update", "-n", "cli-nowait", "--ic", str(broken / "inferenceconfig.json")],
        project,
    )
    assert upd.returncode == 1, upd.stderr
    errors = [line for line in upd.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, upd.stderr
    assert "the update of cli-nowait failed: InitFailed" in errors[0]
    assert "revision 1 keeps serving" in errors[0]
    cli(deploy_server, ["service", "delete", "-n", "cli-nowait"], project)


def test_cli_deploy_on_a_terminal_shows_a_live_status_line(
    deploy_server: ServerProcess, tmp_path: Path
) -> None:
    import os
    import pty
    import subprocess
    import sys

    project = _project(
        tmp_path, "def init():\n    pass\n\ndef run(raw):\n    return 1\n", minimal_environment()
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    env |= deploy_server.env | {"COLUMNS": "120", "TERM": "xterm"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelport.cli.main", "model", "deploy", "-n", "cli-tty",
         "--ic", "inferenceconfig.json"],
        cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=300) == 0
    os.close(leader)
    screen = b"".join(chunks).decode(errors="replace")
    assert "\x1b[" in screen  # drawn with terminal control sequences
    assert "Deploying: Running" in screen and "cli-tty is Healthy" in screen
    assert "scoringUri" in screen  # the essentials table on stdout
    cli(deploy_server, ["service", "delete", "-n", "cli-tty"], project)
