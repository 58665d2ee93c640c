"""The Ray engine on a real local Ray cluster bound to 127.0.0.1 (dashboard and usage stats off)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from modelport.parallel_run.config import ParallelRunConfig
from modelport.parallel_run.driver import BatchJob, run_batch
from tests.batch.scripts import FAULTY, make_files, write

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # before any cluster starts: nothing leaves the host


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=2, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_engine_gives_the_local_output_and_retries_a_killed_actor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_cluster: None
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("TEST_MARKS", str(marks))  # local workers inherit the environment
    script = write(tmp_path, "score.py", FAULTY)
    names = ["a.txt", "bad-once.txt", "c.txt", "kill-once.txt", "e.txt", "f.txt"]
    inputs = make_files(tmp_path / "in", names)
    config = ParallelRunConfig(
        entry_script=str(script), error_threshold=0, output_action="append_row",
        mini_batch_size=1, process_count_per_node=2, run_max_try=3,
    )  # fmt: skip
    # Ray actors start from the cluster's environment: what the script needs travels in the job
    job = BatchJob(
        [str(inputs)], str(tmp_path / "ray"), env={"TEST_MARKS": str(marks)}, engine="ray"
    )
    _, summary = run_batch(config, job)
    assert summary.status == "Completed", summary.error
    assert (summary.succeeded, summary.failed, summary.retried) == (6, 0, 2)
    rows = (tmp_path / "ray" / "parallel_run_step.txt").read_text().splitlines()
    for mark in marks.glob("done-*"):
        mark.unlink()
    run_batch(config, BatchJob([str(inputs)], str(tmp_path / "local")))
    assert rows == (tmp_path / "local" / "parallel_run_step.txt").read_text().splitlines()
    assert len(list(marks.glob("init-*"))) >= 2  # init() ran in each actor
