"""``modelport batch run`` as a user runs it: a real driver process, kill -9, --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.batch.scripts import FAULTY, make_files, write

CLI = [sys.executable, "-m", "modelport.cli.main"]


def _env(marks: Path) -> dict[str, str]:
    return {**os.environ, "TEST_MARKS": str(marks)}


def _wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached before the deadline")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_kill_9_of_the_driver_then_resume_gives_every_row_once(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    script = write(tmp_path, "score.py", FAULTY)
    names = [f"slow{i:02}.txt" for i in range(8)]
    inputs = make_files(tmp_path / "in", names)
    out = tmp_path / "out"
    args = [*CLI, "batch", "run", "--entry-script", str(script), "--input", str(inputs),
            "--output", str(out), "--mini-batch-size", "1"]  # fmt: skip
    driver = subprocess.Popen(args, env=_env(marks), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:

        def two_done() -> bool:
            journals = list(out.glob("runs/*/journal.jsonl"))
            return bool(journals) and len(journals[0].read_text().splitlines()) >= 3

        _wait_for(two_done)
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.wait()
    assert not (out / "parallel_run_step.txt").exists()
    workers = [int(p.name.split("-")[1]) for p in marks.glob("init-*")]
    assert workers
    _wait_for(lambda: not any(_alive(pid) for pid in workers))  # they die with their driver
    (run_dir,) = (out / "runs").iterdir()
    resumed = subprocess.run(
        [*args, "--resume", run_dir.name], env=_env(marks), capture_output=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    summary = json.loads(resumed.stdout)
    assert summary["runId"] == run_dir.name
    assert summary["skipped"] >= 2 and summary["succeeded"] == 8
    rows = (out / "parallel_run_step.txt").read_text().splitlines()
    assert sorted(r.split()[0] for r in rows) == names  # each once, none lost


def test_bad_flag_value_is_one_line_and_non_zero(tmp_path: Path) -> None:
    script = write(tmp_path, "score.py", FAULTY)
    result = subprocess.run(
        [*CLI, "batch", "run", "--entry-script", str(script), "--input", str(tmp_path),
         "--output", str(tmp_path / "o"), "--input-format", "csv", "--mini-batch-size", "lots"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "mini_batch_size 'lots' is not a size" in result.stderr
