"""The Ray engine on a real Ray cluster bound to 127.0.0.1 (``ray start --head``, see conftest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelport.parallel_run.config import ParallelRunConfig
from modelport.parallel_run.driver import BatchJob, run_batch
from tests.batch.conftest import BuiltEnv, RayCluster
from tests.batch.scripts import FAULTY, make_files, write
from tests.batch.test_environment import USES_SIX


def _config(script: Path, **kw: object) -> ParallelRunConfig:
    args: dict[str, object] = {
        "entry_script": str(script), "error_threshold": 0, "output_action": "append_row",
        "mini_batch_size": 1, "process_count_per_node": 2, "run_max_try": 3, **kw,
    }  # fmt: skip
    return ParallelRunConfig(**args)  # type: ignore[arg-type]


def test_ray_engine_gives_the_local_output_and_retries_a_killed_actor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_cluster: RayCluster
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("TEST_MARKS", str(marks))  # local workers inherit the environment
    script = write(tmp_path, "score.py", FAULTY)
    names = ["a.txt", "bad-once.txt", "c.txt", "kill-once.txt", "e.txt", "f.txt"]
    inputs = make_files(tmp_path / "in", names)
    config = _config(script)
    # Ray actors start from the cluster's environment: what the script needs travels in the job
    job = BatchJob(
        [str(inputs)], str(tmp_path / "ray"), env={"TEST_MARKS": str(marks)}, engine="ray"
    )
    _, summary = run_batch(config, job)
    assert summary.status == "Completed", summary.error
    assert (summary.succeeded, summary.failed, summary.retried) == (6, 0, 2)
    assert (summary.engine, summary.workers) == ("ray", 2)
    rows = (tmp_path / "ray" / "parallel_run_step.txt").read_text().splitlines()
    for mark in marks.glob("done-*"):
        mark.unlink()
    run_batch(config, BatchJob([str(inputs)], str(tmp_path / "local")))
    assert rows == (tmp_path / "local" / "parallel_run_step.txt").read_text().splitlines()
    assert len(list(marks.glob("init-*"))) >= 2  # init() ran in each actor


@pytest.mark.envbuild
def test_node_count_above_one_runs_on_ray_in_the_scripts_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ray_cluster: RayCluster,
    script_env: BuiltEnv,
) -> None:
    monkeypatch.setenv("MODELPORT_ENV_CACHE", str(script_env.cache))
    script = write(tmp_path, "score.py", USES_SIX)
    inputs = make_files(tmp_path / "in", [f"f{i}.txt" for i in range(4)])
    # node_count=2 chooses Ray though the job says local; 2 nodes x 1 process = 2 actors
    config = _config(script, node_count=2, process_count_per_node=1)
    job = BatchJob([str(inputs)], str(tmp_path / "out"), environment=str(script_env.requirements))
    _, summary = run_batch(config, job)
    assert summary.status == "Completed", summary.error
    assert (summary.engine, summary.workers, summary.succeeded) == ("ray", 2, 4)
    env_dir = str(Path(script_env.python).parent.parent)
    rows = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert rows == [f"f{i}.txt 1.16.0 {env_dir}" for i in range(4)]


def test_cli_drives_a_ray_cluster_through_ray_client(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    # actors get the cluster's environment, not this driver's: the script needs no variable
    write(tmp_path, "score.py", "import os\ndef init():\n    pass\n"
          "def run(mini_batch):\n    return [os.path.basename(p) for p in mini_batch]\n")  # fmt: skip
    make_files(tmp_path / "in", ["a.txt", "b.txt", "c.txt"])
    result = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "batch", "run", "--entry-script", "score.py",
         "--input", "in", "--output", "out", "--mini-batch-size", "1", "--engine", "ray",
         "--address", ray_cluster.client, "--process-count", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["engine"], summary["workers"], summary["succeeded"]) == ("ray", 2, 3)
    rows = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert rows == ["a.txt", "b.txt", "c.txt"]


def test_kill_9_of_a_ray_driver_then_resume_gives_every_row_once(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    import signal
    import time

    write(tmp_path, "score.py", "import os, time\ndef init():\n    pass\ndef run(mini_batch):\n"
          "    time.sleep(0.3)\n    return [os.path.basename(p) for p in mini_batch]\n")  # fmt: skip
    names = [f"f{i:02}.txt" for i in range(10)]
    make_files(tmp_path / "in", names)
    args = [sys.executable, "-m", "modelport.cli.main", "batch", "run", "--entry-script",
            "score.py", "--input", "in", "--output", "out", "--mini-batch-size", "1",
            "--engine", "ray", "--address", ray_cluster.client, "--process-count", "2"]  # fmt: skip
    driver = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            journals = list((tmp_path / "out").glob("runs/*/journal.jsonl"))
            if journals and len(journals[0].read_text().splitlines()) >= 3:
                break
            assert driver.poll() is None, driver.communicate()
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.wait()
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    resumed = subprocess.run(
        [*args, "--resume", run_dir.name], cwd=tmp_path, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["skipped"] >= 2 and summary["succeeded"] == 10
    rows = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert rows == names
