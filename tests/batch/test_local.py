"""The local engine through real worker processes: output, init once, failures, retries, kills."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelport.parallel_run.config import ParallelRunConfig
from modelport.parallel_run.driver import BatchJob, run_batch
from tests.batch.scripts import FAULTY, TABLE, make_files, write


@pytest.fixture()
def marks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "marks"
    folder.mkdir()
    monkeypatch.setenv("TEST_MARKS", str(folder))
    return folder


def _config(script: Path, **kw: object) -> ParallelRunConfig:
    args: dict[str, object] = {
        "entry_script": str(script),
        "error_threshold": 0,
        "output_action": "append_row",
        "mini_batch_size": 2,
        "run_invocation_timeout": 30,
        "run_max_try": 3,
        **kw,
    }
    return ParallelRunConfig(**args)  # type: ignore[arg-type]


def _rows(out: Path) -> list[str]:
    return (out / "parallel_run_step.txt").read_text().splitlines()


def test_two_workers_init_once_each_and_every_file_has_one_row(tmp_path: Path, marks: Path) -> None:
    script = write(tmp_path, "score.py", FAULTY)
    names = [f"f{i:02}.txt" for i in range(9)]
    inputs = make_files(tmp_path / "in", names)
    out = tmp_path / "out"
    config = _config(script, process_count_per_node=2)
    run_id, summary = run_batch(config, BatchJob([str(inputs)], str(out)))
    assert summary.status == "Completed"
    assert (summary.mini_batches, summary.processed, summary.succeeded) == (5, 9, 9)
    assert sorted(r.split()[0] for r in _rows(out)) == names
    inits = list(marks.glob("init-*"))
    assert 1 <= len(inits) <= 2  # once per worker process, never per mini-batch
    logs = sorted(p.name for p in (out / "runs" / run_id / "logs").iterdir())
    assert "worker-0.log" in logs
    saved = json.loads((out / "runs" / run_id / "summary.json").read_text())
    assert saved["succeeded"] == 9


def test_error_threshold_stops_the_run_and_minus_one_ignores_failures(
    tmp_path: Path, marks: Path
) -> None:
    script = write(tmp_path, "score.py", FAULTY)
    inputs = make_files(tmp_path / "in", ["a.txt", "bad1.txt", "bad2.txt", "b.txt"])
    strict = _config(script, error_threshold=1, run_max_try=1, mini_batch_size=1)
    _, summary = run_batch(strict, BatchJob([str(inputs)], str(tmp_path / "o1")))
    assert summary.status == "Failed"
    assert "error_threshold=1" in (summary.error or "")
    lenient = _config(script, error_threshold=-1, run_max_try=1, mini_batch_size=1)
    _, summary = run_batch(lenient, BatchJob([str(inputs)], str(tmp_path / "o2")))
    assert (summary.status, summary.failed, summary.succeeded) == ("Completed", 2, 2)
    assert sorted(_rows(tmp_path / "o2")) == ["a.txt 0", "b.txt 3"]


def test_timeout_exception_and_killed_worker_are_retried(tmp_path: Path, marks: Path) -> None:
    script = write(tmp_path, "score.py", FAULTY)
    names = ["a.txt", "hang-once.txt", "bad-once.txt", "kill-once.txt", "z.txt"]
    inputs = make_files(tmp_path / "in", names)
    config = _config(script, mini_batch_size=1, run_invocation_timeout=3, process_count_per_node=2)
    _, summary = run_batch(config, BatchJob([str(inputs)], str(tmp_path / "out")))
    assert summary.status == "Completed", summary.error
    assert (summary.succeeded, summary.failed, summary.retried) == (5, 0, 3)
    assert sorted(r.split()[0] for r in _rows(tmp_path / "out")) == sorted(names)


def test_a_mini_batch_failing_every_try_counts_its_files(tmp_path: Path, marks: Path) -> None:
    script = write(tmp_path, "score.py", FAULTY)
    inputs = make_files(tmp_path / "in", ["a.txt", "bad.txt", "c.txt"])
    config = _config(script, mini_batch_size=2, run_max_try=2, error_threshold=5)
    _, summary = run_batch(config, BatchJob([str(inputs)], str(tmp_path / "out")))
    assert (summary.status, summary.failed, summary.succeeded, summary.retried) == (
        "Completed",
        2,
        1,
        1,
    )


def test_csv_is_cut_by_size_within_files_and_arguments_reach_the_script(
    tmp_path: Path, marks: Path
) -> None:
    script = write(tmp_path, "score.py", TABLE)
    data = tmp_path / "in"
    data.mkdir()
    for f in range(2):
        lines = ["id,x"] + [f"{f}-{i},{i}" for i in range(300)]
        (data / f"part{f}.csv").write_text("\n".join(lines) + "\n")
    config = _config(script, mini_batch_size="1KB")
    job = BatchJob([str(data / "*.csv")], str(tmp_path / "out"), arguments=["--scale", "3"])
    _, summary = run_batch(config, job)
    assert summary.status == "Completed", summary.error
    assert summary.mini_batches > 4  # ~2.6 KB per file: several parts each, none spanning two files
    rows = _rows(tmp_path / "out")
    assert len(rows) == len(set(rows)) == 600
    assert "1-299 897" in rows


def test_init_failure_stops_the_run_with_its_reason(tmp_path: Path) -> None:
    script = write(tmp_path, "score.py", "def init():\n    raise RuntimeError('no model')\n"
                   "def run(mini_batch):\n    return mini_batch\n")  # fmt: skip
    inputs = make_files(tmp_path / "in", ["a.txt"])
    _, summary = run_batch(_config(script), BatchJob([str(inputs)], str(tmp_path / "out")))
    assert summary.status == "Failed"
    assert "RuntimeError: no model" in (summary.error or "")
    assert os.path.exists(tmp_path / "out" / "parallel_run_step.txt")


def test_parquet_is_cut_at_row_groups(tmp_path: Path, marks: Path) -> None:
    import pandas as pd

    script = write(tmp_path, "score.py", TABLE)
    data = tmp_path / "in"
    data.mkdir()
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(1000)], "x": range(1000)})
    frame.to_parquet(data / "t.parquet", row_group_size=100)  # 10 row groups
    config = _config(script, mini_batch_size="1KB")
    _, summary = run_batch(config, BatchJob([str(data)], str(tmp_path / "out")))
    assert summary.status == "Completed", summary.error
    assert summary.mini_batches >= 5 and summary.processed == 1000
    assert _rows(tmp_path / "out")[:2] == ["r0 0", "r1 1"]


def test_resume_runs_again_a_mini_batch_whose_rows_were_lost(tmp_path: Path, marks: Path) -> None:
    script = write(tmp_path, "score.py", FAULTY)
    inputs = make_files(tmp_path / "in", [f"f{i}.txt" for i in range(6)])
    out = tmp_path / "out"
    run_id, _ = run_batch(_config(script), BatchJob([str(inputs)], str(out)))
    (out / "runs" / run_id / "parts" / "00000001.txt").unlink()  # as after a machine crash
    _, summary = run_batch(_config(script), BatchJob([str(inputs)], str(out), run_id=run_id))
    assert (summary.skipped, summary.succeeded) == (2, 6)
    assert sorted(_rows(out)) == sorted(f"f{i}.txt {i}" for i in range(6))
