"""summary_only, progress output on a terminal and in a pipe, and resuming a Failed run (CLI)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from modelport.parallel_run.config import ParallelRunConfig
from modelport.parallel_run.driver import BatchJob, run_batch
from tests.batch.scripts import make_files, write

CLI = [sys.executable, "-m", "modelport.cli.main", "batch", "run"]

# writes its own output, returns only what it counts as a success
OWN_OUTPUT = """
import os

def init():
    pass

def run(mini_batch):
    out = os.environ["MODELPORT_BATCH_OUTPUT"]
    done = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name.startswith("skip"):
            continue
        with open(os.path.join(out, name + ".scored"), "w") as f:
            f.write(open(path).read())
        done.append(name)
    return done
"""

# "bad" inputs fail while the file named by $BROKEN exists: a fix between a run and its resume
BROKEN_UNTIL_FIXED = """
import os

def init():
    pass

def run(mini_batch):
    for path in mini_batch:
        if "bad" in path and os.path.exists(os.environ["BROKEN"]):
            raise ValueError("still broken")
    return [os.path.basename(p) for p in mini_batch]
"""

SLOW = "import time\ndef init():\n    pass\ndef run(mini_batch):\n    time.sleep(0.2)\n" \
       "    return mini_batch\n"  # fmt: skip


def test_summary_only_writes_no_rows_and_counts_what_run_returns(tmp_path: Path) -> None:
    script = write(tmp_path, "score.py", OWN_OUTPUT)
    inputs = make_files(tmp_path / "in", ["a.txt", "skip-b.txt", "c.txt", "d.txt"])
    out = tmp_path / "out"
    config = ParallelRunConfig(
        entry_script=str(script), error_threshold=-1, output_action="summary_only",
        mini_batch_size=2, process_count_per_node=2,
    )  # fmt: skip
    run_id, summary = run_batch(config, BatchJob([str(inputs)], str(out)))
    assert (summary.status, summary.processed, summary.succeeded, summary.failed) == (
        "Completed", 4, 3, 1,
    )  # fmt: skip
    assert not (out / "parallel_run_step.txt").exists()
    assert not list((out / "runs" / run_id / "parts").iterdir())
    assert sorted(p.name for p in out.glob("*.scored")) == ["a.txt.scored", "c.txt.scored",
                                                            "d.txt.scored"]  # fmt: skip


def test_a_failed_run_resumes_after_the_fix_and_writes_each_row_once(tmp_path: Path) -> None:
    write(tmp_path, "score.py", BROKEN_UNTIL_FIXED)
    names = ["a.txt", "bad.txt", "c.txt", "d.txt"]
    make_files(tmp_path / "in", names)
    broken = tmp_path / "broken"
    broken.touch()
    env = {**os.environ, "BROKEN": str(broken)}
    args = [*CLI, "--entry-script", "score.py", "--input", "in", "--output", "out",
            "--mini-batch-size", "1", "--error-threshold", "0", "--run-max-try", "1"]  # fmt: skip
    first = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode != 0
    failed = json.loads(first.stdout)
    assert failed["status"] == "Failed" and "error_threshold=0" in first.stderr
    broken.unlink()  # the fix
    again = subprocess.run(
        [*args, "--resume", failed["runId"]], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["status"], summary["succeeded"], summary["failed"]) == ("Completed", 4, 0)
    assert summary["skipped"] >= 1  # a.txt ran in the first attempt and is not run again
    rows = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert rows == names


def test_plain_progress_lines_in_a_pipe(tmp_path: Path) -> None:
    write(tmp_path, "score.py", SLOW)
    make_files(tmp_path / "in", [f"f{i}.txt" for i in range(4)])
    result = subprocess.run(
        [*CLI, "--entry-script", "score.py", "--input", "in", "--output", "out",
         "--mini-batch-size", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("mini-batches ")]
    assert lines[-1].startswith("mini-batches 4/4 (") and "/s, ETA 0s)" in lines[-1]
    assert "\x1b[" not in result.stderr  # no terminal control codes in a log


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    write(tmp_path, "score.py", SLOW)
    make_files(tmp_path / "in", [f"f{i}.txt" for i in range(6)])
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, "--entry-script", "score.py", "--input", "in", "--output", "out",
         "--mini-batch-size", "1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=follower,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "100"},
    )  # fmt: skip
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    assert proc.stdout is not None and json.loads(proc.stdout.read())["succeeded"] == 6
    text = seen.decode(errors="replace")
    assert "mini-batches" in text and "/6" in text and "/s" in text  # bar, count, rate
    assert "\x1b[" in text  # drawn with terminal control codes (and erased at the end)
