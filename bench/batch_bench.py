"""Batch inference benchmark: the digits model over many small files and one large Parquet file.

Throughput (items/s) of: a plain Python loop calling the same entry script in one process, the
local engine with 1 and 2 worker processes, the Ray engine with 2 actors, and Ray Data's
``map_batches`` with 2 actors and the same model; plus the local engine's overhead per mini-batch
(a no-op script over tiny mini-batches against the same loop in-process). Everything runs side by
side in one invocation, so on a loaded machine the ratios mean more than the absolute figures.
Issue 16's targets: 2 processes >= 1.8x 1 process; Ray engine within 10% of Ray Data; overhead
<= 2 ms per mini-batch.

    .venv/bin/python bench/batch_bench.py [--files 20000] [--rows 1000000] [--skip-ray] [--only ray]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from modelport.parallel_run.config import ParallelRunConfig
from modelport.parallel_run.driver import BatchJob, run_batch
from modelport.parallel_run.local import Summary
from modelport.parallel_run.plan import guess_format, list_inputs, make_plan
from modelport.parallel_run.worker import read_mini_batch, result_rows

SCORE = """
import os, joblib, numpy as np

def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pkl"))

def run(mini_batch):
    if isinstance(mini_batch, list):
        x = np.stack([np.loadtxt(p, delimiter=",") for p in mini_batch])
        return [f"{os.path.basename(p)} {d}" for p, d in zip(mini_batch, model.predict(x))]
    mini_batch["digit"] = model.predict(mini_batch.drop(columns=["id"]).to_numpy())
    return mini_batch[["id", "digit"]]
"""

BATCHES: list[int] = []  # mini-batches, one per engine run
DRIVER_CPU: list[float] = []  # the driver's own CPU seconds per mini-batch, one per engine run
NOOP = "def init():\n    pass\n\ndef run(mini_batch):\n    return mini_batch\n"


def make_data(root: Path, files: int, rows: int) -> None:
    import joblib
    import pandas as pd
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    (root / "model").mkdir()
    joblib.dump(LogisticRegression(max_iter=500).fit(x, y), root / "model" / "model.pkl")
    (root / "score.py").write_text(SCORE)
    (root / "noop.py").write_text(NOOP)
    rng = np.random.default_rng(0)
    folder = root / "files"
    folder.mkdir()
    for i in range(files):
        np.savetxt(folder / f"{i:06}.txt", x[rng.integers(len(x))][None], fmt="%d", delimiter=",")
    picks = x[rng.integers(len(x), size=rows)].astype(np.int8)
    frame = pd.DataFrame(picks, columns=[f"p{i}" for i in range(64)])
    frame.insert(0, "id", np.arange(rows))
    frame.to_parquet(root / "table.parquet", row_group_size=20_000)


def plain_loop(script: Path, inputs: str, size: int | str, model_dir: Path) -> tuple[int, float]:
    """The same script and mini-batches, in this process: the cost without any engine."""
    import importlib.util

    os.environ["AZUREML_MODEL_DIR"] = str(model_dir)
    spec = importlib.util.spec_from_file_location("bench_script", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths = list_inputs([inputs])
    kind = guess_format(paths)
    config = ParallelRunConfig(str(script), -1, "append_row", mini_batch_size=size)
    plan = make_plan(paths, kind, config.batch_size_for(kind != "files"))
    began = time.perf_counter()
    module.init()
    items = 0
    with open(os.devnull, "w") as sink:
        for batch in plan:
            argument, n = read_mini_batch(batch)
            for row in result_rows(module.run(argument)):
                sink.write(row + "\n")
            items += n
    return items, time.perf_counter() - began


def engine(
    root: Path, script: str, inputs: str, size: int | str, procs: int, kind: str = "local"
) -> tuple[int, float, float]:
    """Items, seconds end to end, seconds at the middle pace (see _steady_seconds)."""
    config = ParallelRunConfig(
        str(root / script), -1, "append_row", mini_batch_size=size, process_count_per_node=procs
    )
    out = tempfile.mkdtemp(dir=root)
    env = {"AZUREML_MODEL_DIR": str(root / "model")}
    seen: list[tuple[float, int]] = []  # (when, mini-batches done) as the driver reports them

    def progress(done: int, total: int) -> None:
        if not seen or seen[-1][1] != done:
            seen.append((time.perf_counter(), done))

    began, cpu = time.perf_counter(), time.process_time()
    _, summary = run_batch(config, BatchJob([inputs], out, env=env, engine=kind), progress)
    assert summary.status == "Completed", summary.error
    DRIVER_CPU.append((time.process_time() - cpu) / summary.mini_batches)
    BATCHES.append(summary.mini_batches)
    return summary.processed, time.perf_counter() - began, _steady_seconds(seen, summary)


def _steady_seconds(seen: list[tuple[float, int]], summary: Summary) -> float:
    """The run's time at its middle pace: mini-batches 25 %..90 % done, scaled to all of them.

    Leaves out the workers' start (imports, init(); the second worker's start overlaps the
    first's work) and the tail, so 1 and 2 processes compare what they do once running.
    """
    total = summary.mini_batches
    lo = next((t, d) for t, d in seen if d >= total * 0.25)
    hi = next((t, d) for t, d in seen if d >= total * 0.90)
    if hi[1] <= lo[1]:
        return summary.seconds
    return (hi[0] - lo[0]) * total / (hi[1] - lo[1])


def ray_data(root: Path, procs: int) -> tuple[int, float]:
    import joblib
    import ray

    model_path = root / "model" / "model.pkl"

    class Predictor:
        def __init__(self) -> None:
            self.model = joblib.load(model_path)

        def __call__(self, batch: object) -> object:
            frame = batch  # pandas
            frame["digit"] = self.model.predict(frame.drop(columns=["id"]).to_numpy())  # type: ignore[attr-defined]
            return frame[["id", "digit"]]  # type: ignore[index]

    began = time.perf_counter()
    ds = ray.data.read_parquet(str(root / "table.parquet"))
    items = ds.count()  # from the Parquet footer; counting the output would run it all again
    # num_cpus=0.5 as the Ray engine's actors: with 1 CPU each, 2 actors on a 2-CPU Ray leave
    # none for the read and write tasks and the pipeline stalls
    out = ds.map_batches(
        Predictor, batch_format="pandas", concurrency=procs, batch_size=16_384, num_cpus=0.5
    )
    out.write_csv(tempfile.mkdtemp(dir=root))
    return items, time.perf_counter() - began


def main() -> None:
    try:
        _main()
    finally:
        for root in ROOTS:  # 20,000 files: not left behind in /tmp
            shutil.rmtree(root, ignore_errors=True)


ROOTS: list[Path] = []


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--only", help="run only the measurements whose name contains this")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    ROOTS.append(root)
    print(f"making {args.files} files and a {args.rows}-row Parquet file in {root}", flush=True)
    make_data(root, args.files, args.rows)
    table: list[tuple[str, int, float, float]] = []
    print(f"{'':<34} {'items':>9} {'seconds':>8} {'items/s':>10} {'steady s':>8} {'steady/s':>10}")

    def add(name: str, result: tuple[int, float] | tuple[int, float, float]) -> None:
        # steady: the run's middle pace (no worker start, no tail); the plain loop's model is
        # loaded before its clock
        items, seconds = result[0], result[1]
        work = result[2] if len(result) > 2 else seconds
        table.append((name, items, seconds, work))
        print(f"{name:<34} {items:>9} {seconds:8.2f} {items / seconds:10.0f} {work:8.2f} "
              f"{items / work:10.0f}", flush=True)  # fmt: skip

    files, table_in = str(root / "files"), str(root / "table.parquet")
    runs: list[tuple[str, Callable[[], tuple[int, float] | tuple[int, float, float]]]] = [
        ("files: plain loop", lambda: plain_loop(root / "score.py", files, 100, root / "model")),
        ("files: local, 1 process", lambda: engine(root, "score.py", files, 100, 1)),
        ("files: local, 2 processes", lambda: engine(root, "score.py", files, 100, 2)),
        ("parquet: plain loop", lambda: plain_loop(root / "score.py", table_in, "1MB", root / "model")),
        ("parquet: local, 1 process", lambda: engine(root, "score.py", table_in, "1MB", 1)),
        ("parquet: local, 2 processes", lambda: engine(root, "score.py", table_in, "1MB", 2)),
    ]  # fmt: skip
    if not args.skip_ray:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=2,
                 log_to_driver=False)  # fmt: skip
        runs += [
            ("parquet: ray engine, 2 actors", lambda: engine(root, "score.py", table_in, "1MB", 2, "ray")),
            ("parquet: Ray Data map_batches, 2", lambda: ray_data(root, 2)),
        ]  # fmt: skip
    for name, fn in runs:
        if not args.only or args.only in name:
            add(name, fn())
    # overhead per mini-batch: a no-op script over one-file mini-batches, engine vs in-process loop
    n = min(args.files, 2000)
    small = root / "small"
    small.mkdir()
    for p in sorted((root / "files").iterdir())[:n]:
        os.link(p, small / p.name)
    _, loop_s = plain_loop(root / "noop.py", str(small), 1, root / "model")
    _, eng_s, eng_work = engine(root, "noop.py", str(small), 1, 1)
    batches = BATCHES[-1]
    rate = {name: items / seconds for name, items, seconds, _ in table}
    steady = {name: items / work for name, items, _, work in table}
    print("\nratios (same run; end to end, and steady: at the middle pace):")
    for a, b in [
        ("files: local, 2 processes", "files: local, 1 process"),
        ("parquet: local, 2 processes", "parquet: local, 1 process"),
        ("files: local, 1 process", "files: plain loop"),
        ("parquet: local, 1 process", "parquet: plain loop"),
        ("parquet: ray engine, 2 actors", "parquet: Ray Data map_batches, 2"),
    ]:
        if a in rate and b in rate:
            print(f"  {a} / {b}: {rate[a] / rate[b]:.2f}x, steady {steady[a] / steady[b]:.2f}x")
    print(f"  overhead per mini-batch (local, 1 process, {batches} no-op mini-batches): "
          f"{(eng_s - loop_s) / batches * 1000:.2f} ms incl. worker start, "
          f"{(eng_work - loop_s) / batches * 1000:.2f} ms steady")  # fmt: skip
    print(f"  driver CPU per mini-batch (no-op run): {DRIVER_CPU[-1] * 1000:.3f} ms; "
          f"max over all engine runs: {max(DRIVER_CPU) * 1000:.3f} ms")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
