"""An azmlinfsrv user's muscle memory through real `modelport serve` processes: the original's
flag spellings and environment variables, config.json and logging.json as it reads them, its log
layout, its startup banner, and a busy port refused instead of silently shared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.serving.conftest import Served, free_port, write_script

CLI = [sys.executable, "-m", "modelport.cli.main", "serve"]
KEY = "1b7e1e5c-3f1d-4c1a-9d5e-0c3c2f6e8a11"

SCRIPT = """
import json, logging, os

def init():
    print("init says hello")
    logging.getLogger("score").info("script logging works")

def run(data):
    print("run says hello")
    return {k: os.environ.get(k) for k in ("AZUREML_MODEL_DIR", "AML_APP_INSIGHTS_ENABLED")}
"""


def serve(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    """`modelport serve ARGS` in cwd; the port is the first --port in args."""
    port = int(args[args.index("--port") + 1])
    log_path = cwd / f"serve-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELPORT_", "AZUREML_"))}
    full_env |= {"PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*CLI, *args], cwd=cwd, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    return Served(proc, port, log_path)


def test_azmlinfsrv_command_line_and_variables(tmp_path: Path) -> None:
    write_script(tmp_path, SCRIPT)
    (tmp_path / "model").mkdir()
    port = free_port()
    env = {
        "SERVICE_NAME": "digits-v1",
        "SCORING_TIMEOUT_MS": "soon",  # unparseable: a warning and the default, not a refusal
        "SERVER_VERSION_LOG_RESPONSE_ENABLED": "false",
        "WORKER_TIMEOUT": "120",
    }
    served = serve(tmp_path, "--entry_script", "score.py", "--model_dir", "./model", "--port",
                   str(port), "--worker_count", "1", "--access_control_allow_origins",
                   "http://a.example", "--appinsights_instrumentation_key", KEY, env=env)  # fmt: skip
    try:
        served.wait_ready()
        r = httpx.post(served.url + "/score", content=b"{}", headers={"Origin": "http://a.example"})
        # relative stays relative (the app root is the working directory), as the original
        assert r.json() == {"AZUREML_MODEL_DIR": "./model", "AML_APP_INSIGHTS_ENABLED": "true"}
        assert r.headers["access-control-allow-origin"] == "http://a.example"
        assert "x-ms-server-version" not in r.headers
        swagger = httpx.get(served.url + "/swagger.json").json()
        assert swagger["info"]["title"] == "digits-v1"
        log = served.log()
        assert "SCORING_TIMEOUT_MS: invalid value 'soon'" in log
        for fact in ("Entry Script Name: score.py", "Model Directory: ./model", "Worker Count: 1",
                     "Worker Timeout (seconds): 120", "Scoring Timeout (ms): 120000",
                     f"Server Port: {port}", f"Health Port: {port}",
                     "CORS for the specified origins: http://a.example",
                     "Application Insights Enabled: true",
                     f"Score:          POST  127.0.0.1:{port}/score"):  # fmt: skip
            assert fact in log, fact
    finally:
        served.stop()


def test_config_json_logging_json_and_azmlinfsrv_log_layout(tmp_path: Path) -> None:
    app = tmp_path / "app"
    write_script(app / "src", SCRIPT)
    # config.json beside the entry script, read with the original's keys; one key it never had
    (app / "src" / "config.json").write_text(
        json.dumps({"SCORING_TIMEOUT_MS": 7000, "SERVICE_NAME": "from-config", "NOT_A_KEY": 1})
    )
    # a logging.json written for the original names its formatter class: it still loads
    (app / "logging.json").write_text(
        json.dumps({
            "version": 1,
            "formatters": {"azmlinfsrv": {
                "class": "azureml_inference_server_http.log_config.AMLLogFormatter",
                "format": "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"}},
            "handlers": {"h": {"class": "logging.StreamHandler", "formatter": "azmlinfsrv",
                               "stream": "ext://sys.stdout"}},
            "loggers": {"score": {"level": "INFO", "handlers": ["h"], "propagate": False}},
        })
    )  # fmt: skip
    port = free_port()
    served = serve(app, "--entry_script", "src/score.py", "--port", str(port), "--log-format",
                   "azmlinfsrv")  # fmt: skip
    try:
        served.wait_ready()
        assert httpx.post(served.url + "/score", content=b"{}").status_code == 200
        assert httpx.get(served.url + "/swagger.json").json()["info"]["title"] == "from-config"
        pid = served.proc.pid
        deadline = time.monotonic() + 10
        while " azmlinfsrv - POST /score 200 " not in served.log():
            assert time.monotonic() < deadline, served.log()
            time.sleep(0.05)
        log = served.log()
        assert f"I [{pid}] azmlinfsrv.print - init says hello" in log
        assert f"I [{pid}] azmlinfsrv.print - run says hello" in log
        assert f"I [{pid}] score - script logging works" in log
        assert f"Config File: {app / 'src' / 'config.json'}" in log
        assert "Scoring Timeout (ms): 7000" in log
        assert "Extra keys = ['NOT_A_KEY']" in log
        assert f"Loaded logging config from {app / 'logging.json'}" in log
    finally:
        served.stop()


def test_busy_port_is_refused_naming_the_process(tmp_path: Path) -> None:
    write_script(tmp_path, SCRIPT)
    port = free_port()
    first = serve(tmp_path, "--entry-script", "score.py", "--port", str(port))
    try:
        first.wait_ready()
        second = subprocess.run(
            [*CLI, "--entry-script", "score.py", "--port", str(port)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 5, second.stderr
        assert (
            f"cannot listen on 127.0.0.1:{port}: Address already in use, by pid {first.proc.pid}"
            in second.stderr
        )
        # asking to share does not join a server that did not ask
        joined = subprocess.run(
            [*CLI, "--entry-script", "score.py", "--port", str(port), "--share-port"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert joined.returncode == 5
        assert httpx.get(first.url + "/").text == "Healthy"
    finally:
        first.stop()


def test_separate_health_endpoint_with_the_original_variables(tmp_path: Path) -> None:
    write_script(tmp_path, SCRIPT)
    (tmp_path / "config.json").write_text("[1, 2]")  # some other tool's config.json: not ours
    port, health = free_port(), free_port()
    served = serve(tmp_path, "--entry_script", "score.py", "--port", str(port),
                   env={"SEPERATE_HEALTH_ENDPOINT": "true", "HEALTH_PORT": str(health)})  # fmt: skip
    try:
        served.wait_ready(port=health)
        served.wait_ready()
        assert f"Liveness Probe: GET   127.0.0.1:{health}/" in served.log()
        assert "config.json: expected a JSON object; ignored" in served.log()
    finally:
        served.stop()


def test_broken_logging_json_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write_script(tmp_path, SCRIPT)
    (tmp_path / "logging.json").write_text(
        '{"version": 1, "handlers": {"h": {"class": "no.Such"}}}'
    )
    out = subprocess.run(
        [*CLI, "--entry_script", "score.py", "--port", str(free_port())],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.startswith("error: logging.json: ") and out.stderr.count("\n") == 1
