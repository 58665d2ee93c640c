"""Experiments and runs: metrics, files, child runs and registering models from runs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from modelport import Experiment, Model, Run, Workspace
from modelport.errors import NotFound, UserError
from tests.conftest import ServerProcess


def test_run_logs_metrics_and_files_and_completes(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "train").start_logging()
    assert run.status == "Running" and run.id.startswith("train_")
    run.log("accuracy", 0.91)
    run.log("loss", 0.5)
    run.log("loss", 0.25)
    run.log_list("lr", [0.1, 0.01])
    run.log("epochs", np.int64(3))  # numpy scalars, as training scripts produce them
    assert run.get_metrics() == {
        "accuracy": 0.91,
        "loss": [0.5, 0.25],
        "lr": [0.1, 0.01],
        "epochs": 3,
    }
    with pytest.raises(UserError, match="must be a number"):
        run.log("weights", [1, 2])
    assert run.get_metrics("accuracy") == {"accuracy": 0.91}

    (tmp_path / "model.pkl").write_bytes(b"pickle")
    folder = tmp_path / "extra"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "nested" / "b.txt").write_text("b")
    run.upload_file("outputs/model.pkl", tmp_path / "model.pkl")
    run.upload_file("outputs/from-stream.bin", io.BytesIO(b"streamed"))
    run.upload_folder("outputs/extra", folder)
    assert sorted(run.get_file_names()) == [
        "outputs/extra/a.txt",
        "outputs/extra/nested/b.txt",
        "outputs/from-stream.bin",
        "outputs/model.pkl",
    ]
    run.download_file("outputs/from-stream.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == b"streamed"

    run.complete()
    assert Run.get(ws, run.id).status == "Completed"


def test_context_manager_fails_the_run_on_an_exception(ws: Workspace) -> None:
    with pytest.raises(RuntimeError), Experiment(ws, "crash").start_logging() as run:
        raise RuntimeError("diverged")
    again = Run.get(ws, run.id)
    assert again.status == "Failed" and "diverged" in (again.get_details().get("error") or "")
    with Experiment(ws, "crash").start_logging() as ok:
        pass
    assert ok.get_status() == "Completed"


def test_register_model_from_run_output(ws: Workspace, tmp_path: Path) -> None:
    run = Experiment(ws, "reg").start_logging()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.onnx").write_bytes(b"onnx")
    run.upload_folder("outputs", tmp_path / "out")
    model = run.register_model(
        "from-run",
        model_path="outputs/model.onnx",
        tags={"src": "run"},
        model_framework=Model.Framework.ONNX,
    )
    assert (model.run_id, model.experiment_name) == (run.id, "reg")
    assert model.tags == {"src": "run"} and model.model_framework == "Onnx"
    assert [f["path"] for f in model.files] == ["model.onnx"]
    assert [m.id for m in Model.list(ws, run_id=run.id)] == [model.id]
    assert model.run is not None and model.run.id == run.id
    # A folder of the run works too, and its layout is kept.
    folder_model = run.register_model("from-run-folder", model_path="outputs")
    assert [f["path"] for f in folder_model.files] == ["outputs/model.onnx"]
    assert Path(model.download(tmp_path / "dl")) == tmp_path / "dl" / "model.onnx"
    assert Path(folder_model.download(tmp_path / "dl")) == tmp_path / "dl" / "outputs"
    assert (tmp_path / "dl" / "outputs" / "model.onnx").read_bytes() == b"onnx"
    with pytest.raises(UserError, match="framework version"):
        run.register_model("nope", "outputs", model_framework_version="1")


def test_register_model_with_metric_picks_the_best_child(ws: Workspace, tmp_path: Path) -> None:
    parent = Experiment(ws, "sweep").start_logging()
    for i, (acc, loss) in enumerate([(0.7, 0.9), (0.95, 0.3), (0.8, 0.1)]):
        child = parent.child_run(name=f"trial-{i}")
        child.log("accuracy", 0.1)
        child.log("accuracy", acc)  # the last value counts
        child.log("val_loss", loss)
        (tmp_path / f"m{i}.pkl").write_text(str(i))
        child.upload_file("outputs/model.pkl", tmp_path / f"m{i}.pkl")
        child.complete()
    children = list(parent.get_children())
    assert sorted(c.display_name or "" for c in children) == ["trial-0", "trial-1", "trial-2"]
    assert all(c.parent_run_id == parent.id for c in children)

    best_acc = parent.register_model("best-acc", "outputs/model.pkl", metric="accuracy")
    best_loss = parent.register_model("best-loss", "outputs/model.pkl", metric="val_loss")
    by_id = {c.id: c.display_name for c in children}
    assert by_id[best_acc.run_id or ""] == "trial-1"  # highest accuracy
    assert by_id[best_loss.run_id or ""] == "trial-2"  # lowest loss
    with pytest.raises(UserError, match="No child run"):
        parent.register_model("none", "outputs/model.pkl", metric="f1")
    assert set(parent.get_metrics(recursive=True)) == {parent.id, *by_id}


def test_run_errors(ws: Workspace, server: ServerProcess, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        Run.get(ws, "train_0_deadbeef")
    run = Experiment(ws, "errors").start_logging()
    with pytest.raises(UserError, match="does not exist"):
        run.upload_file("outputs/x", tmp_path / "missing")
    with pytest.raises(UserError, match="relative path"):
        run.upload_file("../escape", io.BytesIO(b"x"))
    with pytest.raises(NotFound):
        run.register_model("missing-output", "outputs/absent.pkl")
    run.fail(error_details="gave up")
    assert run.status == "Failed"


def test_get_context_offline_prints_and_keeps_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    run = Run.get_context()
    assert run.id.startswith("OfflineRun_")
    run.log("accuracy", 0.5)
    run.log("accuracy", 0.75)
    assert "Attempted to log scalar metric accuracy" in capsys.readouterr().out
    assert run.get_metrics() == {"accuracy": [0.5, 0.75]}
    with pytest.raises(UserError, match="offline run cannot register"):
        run.register_model("m", "outputs/model.pkl")
    with pytest.raises(UserError, match="MODELPORT_RUN_ID"):
        Run.get_context(allow_offline=False)


def test_get_context_inside_a_tracked_run(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    tracked = Experiment(ws, "ctx").start_logging()
    monkeypatch.setenv("MODELPORT_RUN_ID", tracked.id)
    monkeypatch.setenv("MODELPORT_WORKSPACE", ws.name)
    run = Run.get_context()
    assert isinstance(run, Run) and run.id == tracked.id
    run.log("seen", 1)
    assert tracked.get_metrics() == {"seen": 1}
