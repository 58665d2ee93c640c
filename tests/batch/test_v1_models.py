"""Registered models reach a v1 driver's ParallelRunStep script through ``Model.get_model_path``.

As in a v1 run, the script's ``Model.get_model_path("digits")`` downloads the model from the run's
workspace (nothing is set by hand: no ``AZUREML_MODEL_DIR``, no ``--model``). The driver is a
plain-Python subprocess against a real workspace server; two worker processes ask at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.batch.conftest import BuiltEnv
from tests.batch.scripts import write
from tests.batch.test_v1_driver import _digits, _workspace
from tests.conftest import ServerProcess

SCORE = """
import os, joblib
from azureml.core.model import Model

def init():
    global model
    path = Model.get_model_path(os.environ.get("MODEL_NAME", "digits"))
    print("model path", path, flush=True)
    model = joblib.load(path)

def run(mini_batch):
    pixels = mini_batch.drop(columns=["id"]).to_numpy()
    mini_batch["digit"] = model.predict(pixels)
    return mini_batch[["id", "digit"]]
"""

DRIVER = """
import sys
from azureml.core import Dataset, Workspace, Experiment
from azureml.core.model import Model
from azureml.pipeline.core import Pipeline, PipelineData
from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

ws = Workspace.get(sys.argv[1])
Model.register(ws, model_path="model/model.pkl", model_name="digits")
config = ParallelRunConfig(
    source_directory=".", entry_script="score.py", mini_batch_size="4KB",
    error_threshold=10, output_action="append_row", environment=None,
    compute_target="local", process_count_per_node=2, node_count=1)
digits = Dataset.Tabular.from_delimited_files(path=[(".", "digits.csv")])
step = ParallelRunStep(
    name="digits-batch", parallel_run_config=config, inputs=[digits.as_named_input("digits")],
    output=PipelineData("scores", datastore=None))
run = Experiment(ws, "batch-models").submit(Pipeline(workspace=ws, steps=[step]))
print("status", run.wait_for_completion(show_output=True))
print("run", run.id)
"""


def _drive(
    tmp_path: Path, server: ServerProcess, **env: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    write(tmp_path, "score.py", SCORE)
    write(tmp_path, "driver.py", DRIVER)
    ws = _workspace(server)
    environ = {
        k: v for k, v in server.env.items() if k not in ("AZUREML_MODEL_DIR", "AML_APP_ROOT")
    }
    result = subprocess.run(
        [sys.executable, "driver.py", ws], cwd=tmp_path, env={**environ, **env},
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result, result.stdout.split("run ")[-1].strip()


def test_script_downloads_a_registered_model_from_the_runs_workspace(
    tmp_path: Path, workspace_server: ServerProcess
) -> None:
    rows = _digits(tmp_path)
    result, run_id = _drive(tmp_path, workspace_server)
    assert "status Completed" in result.stdout, result.stdout
    out = tmp_path / "azureml" / run_id / "scores"
    lines = (out / "parallel_run_step.txt").read_text().splitlines()
    assert len(lines) == rows
    assert {line.split()[0] for line in lines} == {f"r{i}" for i in range(rows)}
    assert all(line.split()[1] in "0123456789" for line in lines)
    # downloaded once into the run's app root, in v1's layout; both workers got the same file
    version_dir = out / "runs" / run_id / "azureml-models" / "digits" / "1"
    assert sorted(p.name for p in version_dir.iterdir()) == ["model.pkl"]
    assert not [p for p in version_dir.parent.iterdir() if ".partial" in p.name]
    logs = (out / "runs" / run_id / "logs").glob("worker-*.log")
    paths = {line.split("model path ")[1] for f in logs for line in f.read_text().splitlines()
             if "model path " in line}  # fmt: skip
    assert paths == {str(version_dir / "model.pkl")}


def test_a_model_that_is_not_registered_is_model_not_found(
    tmp_path: Path, workspace_server: ServerProcess
) -> None:
    _digits(tmp_path)
    result, _ = _drive(tmp_path, workspace_server, MODEL_NAME="nope")
    assert "status Failed" in result.stdout, result.stdout
    assert "ModelNotFound" in result.stdout
    assert "Model nope not found in cache" in result.stdout
    assert "not registered in workspace batch-" in result.stdout


NOTE_SCORE = """
import os, six
from azureml.core.model import Model

def init():
    global note
    with open(Model.get_model_path("note", version=1)) as f:
        note = f.read().strip()

def run(mini_batch):
    return [f"{os.path.basename(p)} {note} {six.__version__}" for p in mini_batch]
"""

NOTE_DRIVER = """
import sys
from azureml.core import Dataset, Workspace, Experiment
from azureml.core.model import Model
from azureml.pipeline.core import Pipeline
from azureml.pipeline.steps import ParallelRunConfig, ParallelRunStep

ws = Workspace.get(sys.argv[1])
Model.register(ws, model_path="note.txt", model_name="note")
config = ParallelRunConfig(
    source_directory=".", entry_script="score.py", mini_batch_size=1, error_threshold=0,
    output_action="append_row", environment=sys.argv[2], compute_target="local",
    process_count_per_node=2, node_count=1)
step = ParallelRunStep(name="notes", parallel_run_config=config,
                       inputs=[Dataset.File.from_files(path="in")], output="out")
run = Experiment(ws, "batch-env-models").submit(Pipeline(workspace=ws, steps=[step]))
print("status", run.wait_for_completion(show_output=True))
"""


def test_a_script_in_its_own_environment_downloads_without_the_sdk(
    tmp_path: Path, workspace_server: ServerProcess, script_env: BuiltEnv
) -> None:
    # the built environment has modelport's serving runtime only: no SDK, no httpx
    from tests.batch.scripts import make_files

    write(tmp_path, "score.py", NOTE_SCORE)
    write(tmp_path, "driver.py", NOTE_DRIVER)
    (tmp_path / "note.txt").write_text("hello\n")
    make_files(tmp_path / "in", ["a.txt", "b.txt", "c.txt"])
    ws = _workspace(workspace_server)
    env = {**workspace_server.env, "MODELPORT_ENV_CACHE": str(script_env.cache)}
    result = subprocess.run(
        [sys.executable, "driver.py", ws, str(script_env.requirements)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "status Completed" in result.stdout, result.stdout
    lines = sorted((tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines())
    assert lines == [f"{n}.txt hello 1.16.0" for n in "abc"]


def test_the_cli_with_a_workspace_gives_the_script_its_models(
    tmp_path: Path, workspace_server: ServerProcess
) -> None:
    # `batch run -w WS` without --model: get_model_path downloads on demand, as in a driver's run
    from tests.batch.test_cli import CLI

    rows = _digits(tmp_path)
    write(tmp_path, "score.py", SCORE)
    ws = _workspace(workspace_server)
    environ = {
        k: v
        for k, v in workspace_server.env.items()
        if k not in ("AZUREML_MODEL_DIR", "AML_APP_ROOT")
    }
    register = [sys.executable, "-c", "import sys; from modelport.sdk.workspace import Workspace; "
                "from modelport.sdk.model import Model; "
                "Model.register(Workspace.get(sys.argv[1]), model_path='model/model.pkl', "
                "model_name='digits')", ws]  # fmt: skip
    subprocess.run(register, cwd=tmp_path, env=environ, check=True, timeout=60)
    result = subprocess.run(
        [*CLI, "batch", "run", "-w", ws, "--entry-script", "score.py", "--input", "digits.csv",
         "--input-format", "csv", "--mini-batch-size", "4KB", "--output", "out"],
        cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert len(lines) == rows
    assert {line.split()[0] for line in lines} == {f"r{i}" for i in range(rows)}
