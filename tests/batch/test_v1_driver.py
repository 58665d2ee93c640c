"""v1 ParallelRunStep driver code, imports unchanged, against a real workspace server.

The driver is a subprocess of plain Python: ``azureml.*`` resolves through modelport's shims; the
entry script loads a digits model made here through AZUREML_MODEL_DIR and scores a CSV table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from modelport.parallel_run.plan import make_plan
from tests.batch.scripts import write
from tests.conftest import ServerProcess

SCORE = """
import os, joblib

def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pkl"))

def run(mini_batch):
    pixels = mini_batch.drop(columns=["id"]).to_numpy()
    mini_batch["digit"] = model.predict(pixels)
    return mini_batch[["id", "digit"]]
"""

DRIVER = """
import sys
from azureml.core import Dataset, Workspace, Experiment
from azureml.pipeline.core import Pipeline, PipelineData
from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

ws = Workspace.get(sys.argv[1])
config = ParallelRunConfig(
    source_directory=".", entry_script="score.py", mini_batch_size="4KB",
    error_threshold=10, output_action="append_row", environment=None,
    compute_target="local", process_count_per_node=2, node_count=1)
digits = Dataset.Tabular.from_delimited_files(path=[(".", "digits.csv")])
step = ParallelRunStep(
    name="digits-batch", parallel_run_config=config, inputs=[digits.as_named_input("digits")],
    output=PipelineData("scores", datastore=None), allow_reuse=True)
run = Experiment(ws, "batch-digits").submit(Pipeline(workspace=ws, steps=[step]))
print("status", run.wait_for_completion(show_output=True))
print("run", run.id)
"""


def _digits(folder: Path) -> int:
    import joblib
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    model_dir = folder / "model"
    model_dir.mkdir()
    joblib.dump(LogisticRegression(max_iter=300).fit(x[:500], y[:500]), model_dir / "model.pkl")
    rows = x[500:800]
    header = "id," + ",".join(f"p{i}" for i in range(64))
    lines = [header] + [f"r{i}," + ",".join(str(int(v)) for v in r) for i, r in enumerate(rows)]
    (folder / "digits.csv").write_text("\n".join(lines) + "\n")
    return len(rows)


def _workspace(server: ServerProcess) -> str:
    ws = f"batch-{uuid.uuid4().hex[:8]}"
    with server.client() as client:
        assert client.post("/workspaces", json={"name": ws}).status_code == 201
    return ws


def _run_driver(
    folder: Path, server: ServerProcess, score: str, driver: str
) -> tuple[str, subprocess.CompletedProcess[str], str]:
    """Run a v1 driver script against a new workspace; it must complete. -> (workspace, the
    finished process, the pipeline run's id)."""
    write(folder, "score.py", score)
    write(folder, "driver.py", driver)
    ws = _workspace(server)
    env = {**server.env, "AZUREML_MODEL_DIR": str(folder / "model")}
    result = subprocess.run(
        [sys.executable, "driver.py", ws], cwd=folder, env=env, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "status Completed" in result.stdout
    return ws, result, result.stdout.split("run ")[-1].strip()


def test_v1_driver_runs_a_parallel_run_step_and_records_the_run(
    tmp_path: Path, workspace_server: ServerProcess
) -> None:
    rows = _digits(tmp_path)
    ws, result, run_id = _run_driver(tmp_path, workspace_server, SCORE, DRIVER)
    assert "digits-batch: " in result.stdout  # show_output printed the progress
    out = tmp_path / "azureml" / run_id / "scores" / "parallel_run_step.txt"
    lines = out.read_text().splitlines()
    assert len(lines) == rows and {line.split()[0] for line in lines} == {
        f"r{i}" for i in range(rows)
    }
    assert all(line.split()[1] in "0123456789" for line in lines)
    with workspace_server.client() as client:
        base = f"/workspaces/{ws}/runs/{run_id}"
        details = client.get(base).json()
        metrics = client.get(f"{base}/metrics").json()
        files = [f["path"] for f in client.get(f"{base}/files").json()["value"]]
    assert details["status"] == "Completed"
    assert metrics["succeeded"] == rows and metrics["failed"] == 0
    assert "outputs/parallel_run_step.txt" in files and "outputs/summary.json" in files
    assert any(f.startswith("logs/batch/worker-") for f in files)


def test_cli_scores_with_a_registered_model_and_records_the_run(
    tmp_path: Path, workspace_server: ServerProcess
) -> None:
    rows = _digits(tmp_path)
    write(tmp_path, "score.py", SCORE)
    ws = _workspace(workspace_server)
    cli = [sys.executable, "-m", "modelport.cli.main"]
    env = dict(workspace_server.env)
    reg = subprocess.run(
        [*cli, "model", "register", "-n", "digits", "-p", "model/model.pkl", "-w", ws],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert reg.returncode == 0, reg.stderr
    result = subprocess.run(
        [*cli, "batch", "run", "--entry-script", "score.py", "--input", "digits.csv",
         "--output", "out", "--mini-batch-size", "8KB", "--model", "digits", "-w", ws,
         "--experiment", "batch-cli"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["succeeded"] == rows
    assert len((tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()) == rows
    assert "mini-batches" in result.stderr  # plain progress lines when stderr is not a terminal
    with workspace_server.client() as client:
        details = client.get(f"/workspaces/{ws}/runs/{summary['runId']}").json()
    assert (details["status"], details["experimentName"]) == ("Completed", "batch-cli")


def test_resuming_a_failed_recorded_run_records_the_attempt_in_a_child_run(
    tmp_path: Path, workspace_server: ServerProcess
) -> None:
    import os

    from tests.batch.scripts import make_files
    from tests.batch.test_runs import BROKEN_UNTIL_FIXED

    write(tmp_path, "score.py", BROKEN_UNTIL_FIXED)
    make_files(tmp_path / "in", ["a.txt", "bad.txt"])
    broken = tmp_path / "broken"
    broken.touch()
    ws = _workspace(workspace_server)
    env = {**workspace_server.env, "BROKEN": str(broken)}
    args = [sys.executable, "-m", "modelport.cli.main", "batch", "run", "--entry-script",
            "score.py", "--input", "in", "--output", "out", "--mini-batch-size", "1",
            "--error-threshold", "0", "--run-max-try", "1", "-w", ws, "--experiment", "fix"]  # fmt: skip
    first = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode != 0
    run_id = json.loads(first.stdout)["runId"]
    os.unlink(broken)
    again = subprocess.run([*args, "--resume", run_id], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=180)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["succeeded"] == 2
    with workspace_server.client() as client:
        parent = client.get(f"/workspaces/{ws}/runs/{run_id}").json()
        children = client.get(f"/workspaces/{ws}/runs", params={"parentRunId": run_id}).json()
    assert parent["status"] == "Failed"  # a finished run's history stays as it was
    (child,) = children["value"]
    assert child["status"] == "Completed"
    with workspace_server.client() as client:
        metrics = client.get(f"/workspaces/{ws}/runs/{child['id']}/metrics").json()
    assert metrics["succeeded"] == 2


SCORE_WITH_ARGUMENT = """
import argparse, os, joblib

def init():
    global model, prefix
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix")
    prefix = parser.parse_known_args()[0].prefix
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pkl"))

def run(mini_batch):
    pixels = mini_batch.drop(columns=["id"]).to_numpy()
    mini_batch["digit"] = [f"{prefix}{d}" for d in model.predict(pixels)]
    return mini_batch[["id", "digit"]]
"""

DRIVER_WITH_PARAMETERS = """
import sys
from azureml.core import Dataset, Workspace, Experiment
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

ws = Workspace.get(sys.argv[1])
config = ParallelRunConfig(
    source_directory=".", entry_script="score.py",
    mini_batch_size=PipelineParameter(name="batch_size", default_value="64KB"),
    error_threshold=10, output_action="append_row", environment=None, compute_target="local",
    process_count_per_node=PipelineParameter(name="processes", default_value=1), node_count=1)
digits = Dataset.Tabular.from_delimited_files(path=[(".", "digits.csv")])
step = ParallelRunStep(
    name="digits-batch", parallel_run_config=config, inputs=[digits.as_named_input("digits")],
    output=PipelineData("scores", datastore=None),
    arguments=["--prefix", PipelineParameter(name="prefix", default_value="default-")])
run = Experiment(ws, "batch-digits").submit(
    Pipeline(workspace=ws, steps=[step]),
    pipeline_parameters={"batch_size": "4KB", "prefix": "digit-"})
print("status", run.wait_for_completion(show_output=True))
print("run", run.id)
"""


def test_pipeline_parameters_reach_the_config_and_the_entry_scripts_arguments(
    tmp_path: Path, workspace_server: ServerProcess
) -> None:
    """v1 drivers choose values at submit: the submitted ones are used (the mini-batch size and
    the script's argument), the others keep their defaults (one process)."""
    rows = _digits(tmp_path)
    _, result, run_id = _run_driver(
        tmp_path, workspace_server, SCORE_WITH_ARGUMENT, DRIVER_WITH_PARAMETERS
    )
    out = tmp_path / "azureml" / run_id / "scores" / "parallel_run_step.txt"
    digits = [line.split()[1] for line in out.read_text().splitlines()]
    assert len(digits) == rows and all(d[:-1] == "digit-" and d[-1].isdigit() for d in digits)
    csv = [str(tmp_path / "digits.csv")]
    submitted, default = (len(make_plan(csv, "csv", size)) for size in (4096, 65536))
    assert (submitted, default) == (11, 1)  # the 300-row file made above
    summary = next(line for line in result.stdout.splitlines() if "'mini_batches'" in line)
    assert f"'mini_batches': {submitted}," in summary and "'workers': 1," in summary, summary
