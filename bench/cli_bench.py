"""CLI round-trip benchmark: `az`-like commands against a running workspace server.

Starts its own server (tmp ``MODELPORT_HOME``), registers one small model, then runs each
command ``--runs`` times as a fresh process (as a user at a shell would) and reports the median
wall time and the median CPU time (user+sys of the process, from ``wait4``: far less noisy
than wall time on a shared machine). The target (issue 9): ``model list`` <= 0.3 s wall on an
idle machine.

``--compare SRC`` runs every command alternately with another source tree first on the path
(e.g. an older commit: ``git archive <commit> src | tar -x -C /tmp/old``) and prints the ratio,
a comparison that holds on a loaded machine where absolute figures do not.

    .venv/bin/python bench/cli_bench.py [--runs 15] [--compare /tmp/old/src] [--hyperfine]

Commands run through the console script (``.venv/bin/modelport``), as a user runs them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The console script, as a user runs it (`python -m` would add runpy's imports); it imports
# modelport.cli.main, so PYTHONPATH picks the tree that --compare names.
_SCRIPT = Path(sys.executable).with_name("modelport")
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "modelport.cli.main"]


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """One command as a fresh process: (wall seconds, user+sys CPU seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert proc.stderr is not None
    errors = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {errors}")
    return wall, usage.ru_utime + usage.ru_stime


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _hyperfine(runs: int, variants: dict[str, dict[str, str]]) -> None:
    """`model list` under hyperfine (if installed), each variant with its environment."""
    if shutil.which("hyperfine") is None:
        print("hyperfine is not installed")
        return
    for name, env in variants.items():
        print(f"hyperfine, {name}:", flush=True)
        subprocess.run(
            ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--style", "basic",
             " ".join([*CLI, "model", "list"])],
            env=env,
            check=False,
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", type=Path, help="another src/ to time alternately")
    parser.add_argument(
        "--hyperfine", action="store_true", help="also time `model list` with hyperfine"
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="modelport-cli-bench-"))
    env = {**os.environ, "MODELPORT_HOME": str(home)}
    env.pop("MODELPORT_URL", None)
    # as installed for a user: bytecode is written once, not compiled from source on every call
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    variants = {"now": env}
    if args.compare:
        variants["compare"] = {**env, "PYTHONPATH": str(args.compare.resolve())}
    small = home / "small.pkl"
    small.write_bytes(os.urandom(2048))
    commands = {
        "model list": ["model", "list"],
        "model show": ["model", "show", "-n", "small"],
        "model list -o json": ["model", "list", "-o", "json"],
        "model register (2 KB)": ["model", "register", "-n", "small", "-p", str(small)],
        "service list": ["service", "list"],
        "--version": ["--version"],
    }
    try:
        subprocess.run([*CLI, "server", "start", "-o", "none"], env=env, check=True)
        for variant in variants.values():  # `model show` needs one; warms the bytecode caches
            run_once(commands["model register (2 KB)"], variant)
        print(f"runs={args.runs}; median wall / median CPU (user+sys) per command; {_load()}")
        for label, argv in commands.items():
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
            for _ in range(args.runs):
                for name, variant in variants.items():  # alternate: the load hits both alike
                    samples[name].append(run_once(argv, variant))
            cells = []
            for name, got in samples.items():
                wall = statistics.median(w for w, _ in got)
                cpu = statistics.median(c for _, c in got)
                cells.append(f"{name}: {wall:.3f}s / {cpu:.3f}s")
            if args.compare:
                cpu_now = statistics.median(c for _, c in samples["now"])
                cpu_old = statistics.median(c for _, c in samples["compare"])
                cells.append(f"CPU ratio {cpu_old / cpu_now:.2f}x")
            print(f"{label:<24} " + "   ".join(cells))
        print(_load())
        if args.hyperfine:
            _hyperfine(args.runs, variants)
    finally:
        subprocess.run([*CLI, "server", "stop", "-o", "none"], env=env, check=False)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
