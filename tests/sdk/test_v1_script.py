"""An Azure ML v1 training-and-registration script runs with only its import line changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ServerProcess

V1_SCRIPT = textwrap.dedent(
    """
    # was: from azureml.core import Workspace, Experiment, Model, Run
    from modelport import Workspace, Experiment, Model, Run

    ws = Workspace.from_config()
    experiment = Experiment(workspace=ws, name="sklearn-digits")
    run = experiment.start_logging()
    run.log("accuracy", 0.93)
    run.upload_file(name="outputs/model.pkl", path_or_stream="model.pkl")
    model = run.register_model(model_name="digits-from-run", model_path="outputs/model.pkl",
                               tags={"area": "digits"})
    run.complete()

    model = Model.register(workspace=ws, model_path="model.pkl", model_name="digits",
                           tags={"area": "digits", "type": "classification"},
                           description="Handwritten digits", model_framework=Model.Framework.SCIKITLEARN,
                           model_framework_version="1.5")
    print(model.name, model.id, model.version, sep="\\t")
    for m in Model.list(ws, tags=[["area", "digits"]], latest=True):
        print("listed", m.id)
    model = Model(ws, "digits")
    path = model.download(target_dir="downloaded", exist_ok=True)
    print("downloaded", path)
    """
)


def test_v1_script_runs_unchanged_but_for_the_import(
    workspace_server: ServerProcess, tmp_path: Path
) -> None:
    (tmp_path / ".azureml").mkdir()
    config = {"subscription_id": "00000000", "resource_group": "rg", "workspace_name": "default"}
    (tmp_path / ".azureml" / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.pkl").write_bytes(b"pickled estimator")
    (tmp_path / "train.py").write_text(V1_SCRIPT)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")
    } | workspace_server.env
    result = subprocess.run(
        [sys.executable, "train.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["digits", "digits:1"]
    assert {"listed digits:1", "listed digits-from-run:1"} <= set(lines)
    assert (tmp_path / "downloaded" / "model.pkl").read_bytes() == b"pickled estimator"
