"""CLI round-trip benchmark: `az`-like commands against a running workspace server.

Starts its own server (tmp ``MODELPORT_HOME``), registers one small model, then runs each
command ``--runs`` times as a fresh process (as a user at a shell would) and reports the median
wall time and the median CPU time (user+sys of the process, from ``wait4``: far less noisy
than wall time on a shared machine). The target (issue 9): ``model list`` <= 0.3 s wall on an
idle machine.

    .venv/bin/python bench/cli_bench.py [--runs 15]
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

CLI = [sys.executable, "-m", "modelport.cli.main"]


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """One command as a fresh process: (wall seconds, user+sys CPU seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    if proc.stderr:
        proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="modelport-cli-bench-"))
    env = {**os.environ, "MODELPORT_HOME": str(home)}
    env.pop("MODELPORT_URL", None)
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
        run_once(commands["model register (2 KB)"], env)  # `model show` needs one
        print(f"{'command':<24} {'wall p50':>9} {'cpu p50':>9} {'cpu min':>9}   (runs={args.runs})")
        for label, argv in commands.items():
            samples = [run_once(argv, env) for _ in range(args.runs)]
            walls = [w for w, _ in samples]
            cpus = [c for _, c in samples]
            print(
                f"{label:<24} {statistics.median(walls):>8.3f}s {statistics.median(cpus):>8.3f}s "
                f"{min(cpus):>8.3f}s"
            )
    finally:
        subprocess.run([*CLI, "server", "stop", "-o", "none"], env=env, check=False)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
