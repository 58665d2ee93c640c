"""Deploy benchmark: time from ``Model.deploy(...)`` to Healthy (``wait_for_deployment`` returned).

Cases, median of ``--runs`` each (targets: (a) 0.3 s over a bare ``import sklearn``, (b) < 15 s):
  (a) the environment is already built (and byte-compiled): the digits model and scikit-learn
      environment of the main job, then a minimal environment with a trivial entry script (the
      platform's own overhead);
  (c) the first deploy after a server restart, with one running service for it to adopt;
  (d) the first use of the curated AzureML-sklearn environment (built at that deploy, no
      ``prebuild_environments``; prebuilt, it is case (a));
  (b) a new environment each run (``--new-runs``): the digits environment plus one extra small
      package, a different one per run, so every deploy resolves, locks and builds a new virtual
      environment (packages come from the warm uv cache). With more than two runs the byte-compile
      modes of ``MODELPORT_COMPILE_BYTECODE`` alternate (``install``: the old build).

Runs against its own local workspace server in a fresh MODELPORT_HOME (deleted afterwards unless
``--keep``), so earlier runs never make (b) look warm. Each timed deploy starts once the background
byte-compiles of earlier builds finished. Not a test: ``python bench/deploy_bench.py``.

Phases (each ends at a mark, on the client's wall clock): ``accept`` (client call → the reconciler
starts the operation, deploy log), ``layout`` (app root), ``env+auth`` (environment check or build,
auth/TLS files), ``spawn`` (the replica process started: its state file), ``imports`` (the serving
runtime imported and listening: replica log), ``init`` (entry script imported, init() run),
``probe`` (the rollout saw it ready), ``finish`` (rows, retire, prune: Healthy), ``client`` (the
client's wait returned). Build phases of a new environment: ``lock`` (interpreter and resolution),
``venv``, ``install`` (uv pip sync, hardlinks from the cache), ``smoke`` (runtime import check).
For (a) the deploy is set against a bare ``import sklearn`` (and with the serving runtime's
imports) in the same environment, measured right after each deploy on the same loaded machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import sklearn

EXTRA_PACKAGES = ["idna", "certifi", "jmespath", "filelock", "mdurl", "iniconfig", "pluggy", "six",
                  "toml", "wheel"]  # fmt: skip
DIGITS_SCORE = """
import json, os
import joblib
import numpy as np

def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "digits.pkl"))

def run(raw):
    return model.predict(np.array(json.loads(raw)["data"])).tolist()
"""
CURATED_SKLEARN = "AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference"
ECHO_SCORE = "def init():\n    pass\n\n\ndef run(raw):\n    return raw\n"


PHASES = ("accept", "layout", "env+auth", "spawn", "imports", "init", "probe", "finish", "client")
DEPLOY_MARKS = (  # deploy-log line → the phase it ends
    (" operation ", "accept"),
    ("App root ready", "layout"),
    ("Starting ", "env+auth"),
    ("replica(s) ready", "probe"),
    (" is Healthy on revision", "finish"),
)
REPLICA_MARKS = (  # replica-log line → the phase it ends (the serving runtime's own lines)
    (" listening on ", "imports"),  # or "bound …": the runtime is imported, sockets are up
    (" bound ", "imports"),
    ("init() finished", "init"),  # the entry script imported (sklearn …) and init() run
)
BUILD_MARKS = (  # deploy-log line → the build phase it ends (a new environment)
    ("resolving and building", "start"),
    ("Creating virtual environment", "lock"),
    ("Installing the locked packages", "venv"),
    ("Serving runtime:", "install"),
    (" built in ", "smoke"),
)
BUILD_PHASES = ("lock", "venv", "install", "smoke")


@dataclass
class Case:
    label: str
    target: float
    seconds: list[float] = field(default_factory=list)
    server_seconds: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    build: dict[str, list[float]] = field(default_factory=dict)
    bare_import: list[float] = field(default_factory=list)
    runtime_import: list[float] = field(default_factory=list)


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _marks(lines: list[str], marks: tuple[tuple[str, str], ...], parse: Any) -> dict[str, float]:
    times: dict[str, float] = {}
    for line in lines:
        for needle, phase in marks:
            if needle in line and phase not in times:
                with contextlib.suppress(ValueError):
                    times[phase] = parse(line)
    return times


def _deploy_stamp(line: str) -> float:
    return _stamp(line.partition(" ")[0])


def _replica_stamp(line: str) -> float:
    # the serving log's asctime: local time, "2026-01-01 12:00:00,123"
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _phases(
    log: Path, rev_dir: Path, start: float, end: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per phase (the same wall clock as the client's) and the build's phases."""
    deploy_lines = log.read_text().splitlines()
    times = _marks(deploy_lines, DEPLOY_MARKS, _deploy_stamp)
    state = json.loads((rev_dir / "replica-0.json").read_text()) if rev_dir.exists() else {}
    if state.get("started_at"):
        times["spawn"] = float(state["started_at"])
    replica_log = rev_dir / "replica-0.log"
    if replica_log.exists():
        times.update(_marks(replica_log.read_text().splitlines(), REPLICA_MARKS, _replica_stamp))
    out, previous = {}, start
    for phase in PHASES[:-1]:
        if phase in times:
            out[phase] = times[phase] - previous
            previous = times[phase]
    out["client"] = end - previous
    build_times = _marks(deploy_lines, BUILD_MARKS, _deploy_stamp)
    build, previous = {}, build_times.get("start", start)
    for phase in BUILD_PHASES:
        if phase in build_times:
            build[phase] = build_times[phase] - previous
            previous = build_times[phase]
    return out, build


def _import_seconds(python: str, modules: str) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", f"import {modules}"], check=True, capture_output=True)
    return time.perf_counter() - start


def _digits_pickle(folder: Path) -> Path:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    buf = io.BytesIO()
    joblib.dump(LogisticRegression(max_iter=300).fit(x, y), buf)
    path = folder / "digits.pkl"
    path.write_bytes(buf.getvalue())
    return path


def _env(name: str, packages: list[str]) -> dict[str, Any]:
    return {"name": name, "python": {"condaDependencies": {"dependencies": [{"pip": packages}]}}}


def _compiled(timeout: float = 600.0) -> None:
    """Wait until no background byte-compile of this home's environments runs, so one run's
    compile never runs under the next run (each run then measures its own deploy)."""
    home = os.environ["MODELPORT_HOME"].encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(b"compileall" in cmd and home in cmd for cmd in _cmdlines()):
            return
        time.sleep(0.5)
    print("  (a background compile is still running)", file=sys.stderr)


def _cmdlines() -> list[bytes]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            found.append(Path(f"/proc/{pid}/cmdline").read_bytes())
    return found


def _timed_deploy(
    ws: Any,
    name: str,
    models: list[Any],
    config: Any,
    case: Case,
    verbose: bool,
    keep: bool = False,
) -> None:
    from modelport import Model

    _compiled()
    wall_start, start = time.time(), time.perf_counter()
    service = Model.deploy(ws, name, models, config, overwrite=True)
    service.wait_for_deployment(show_output=verbose)
    elapsed = time.perf_counter() - start
    assert service.state == "Healthy", service.state
    case.seconds.append(elapsed)
    home = Path(os.environ["MODELPORT_HOME"])
    log = home / "services" / ws.name / name / "deploy.log"
    number = ws._client.get(f"/workspaces/{ws.name}/services/{name}").get("revision") or 1
    rev_dir = home / "replicas" / ws.name / name / f"rev-{number}"
    phases, build = _phases(log, rev_dir, wall_start, wall_start + elapsed)
    for phase, seconds in phases.items():
        case.phases.setdefault(phase, []).append(seconds)
    for phase, seconds in build.items():
        case.build.setdefault(phase, []).append(seconds)
    shown = ", ".join(f"{p} {x:.2f}" for p, x in phases.items())
    key = ws._client.get(f"/workspaces/{ws.name}/services/{name}")["environment"]["key"]
    python = str(home / "environments" / "envs" / key / "bin" / "python")
    if models:  # the replica's own imports, in the same environment, right after the deploy
        case.bare_import.append(_import_seconds(python, "sklearn"))
        case.runtime_import.append(
            _import_seconds(python, "sklearn, joblib, numpy, modelport.serving.worker")
        )
    op = ws._client.get(f"/workspaces/{ws.name}/operations/{service._operation_id}")
    if op.get("startTime") and op.get("endTime"):
        span = datetime.fromisoformat(op["endTime"]) - datetime.fromisoformat(op["startTime"])
        case.server_seconds.append(span.total_seconds())
    if not keep:
        service.delete()
    print(f"  {case.label}: run {len(case.seconds)}: {elapsed:.2f} s ({shown})", file=sys.stderr)


def bench(runs: int, new_runs: int, cases: set[str], workdir: Path, verbose: bool) -> list[Case]:
    from modelport import InferenceConfig, Model, Workspace

    ws = Workspace.get("default")
    model = Model.register(ws, str(_digits_pickle(workdir)), "digits-bench")
    src = workdir / "digits-src"
    src.mkdir()
    (src / "score.py").write_text(DIGITS_SCORE)
    echo = workdir / "echo-src"
    echo.mkdir()
    (echo / "score.py").write_text(ECHO_SCORE)
    digits_packages = [f"scikit-learn=={sklearn.__version__}", f"joblib=={joblib.__version__}"]

    def digits_config(packages: list[str]) -> InferenceConfig:
        return InferenceConfig(
            entry_script="score.py",
            source_directory=str(src),
            environment=_env("bench-env", packages),
        )

    echo_config = InferenceConfig(
        entry_script="score.py",
        source_directory=str(echo),
        environment={"name": "AzureML-Minimal", "version": None},
    )
    built_digits = Case("(a) built environment, digits model (scikit-learn)", 3.0)
    built_echo = Case("(a) built environment, minimal env + trivial script", 3.0)
    first = Case("(c) first deploy after a server restart (1 service adopted)", 3.0)
    curated = Case(f"(d) first use of curated {CURATED_SKLEARN[:22]}…", 15.0)
    new_env = Case("(b) new environment, bytecode compiled in the background", 15.0)
    new_env_old = Case("(b') new environment, bytecode compiled at install (before)", 15.0)
    out: list[Case] = []

    print("warm-up: building the digits and minimal environments once", file=sys.stderr)
    warm = Case("warm-up", 0)
    _timed_deploy(ws, "bench-warm", [model], digits_config(digits_packages), warm, verbose)
    _timed_deploy(ws, "bench-warm", [], echo_config, warm, verbose, keep=True)

    if "warm" in cases:
        steps: list[tuple[Case, Callable[[int], tuple[list[Any], Any]]]] = [
            (built_digits, lambda i: ([model], digits_config(digits_packages))),
            (built_echo, lambda i: ([], echo_config)),
        ]
        for case, make in steps:
            for i in range(runs):
                models, config = make(i)
                _timed_deploy(ws, f"bench-{i}", models, config, case, verbose)
        out += [built_digits, built_echo]
    if "first" in cases:  # bench-warm keeps running: the new server adopts it at start
        for i in range(runs):
            _restart_server(compile_mode())
            _timed_deploy(ws, f"bench-first-{i}", [], echo_config, first, verbose)
        out.append(first)
    if "curated" in cases:  # its first use in this home (no prebuild_environments)
        config = InferenceConfig(
            entry_script="score.py",
            source_directory=str(src),
            environment={"name": CURATED_SKLEARN, "version": None},
        )
        _restart_server(compile_mode())
        _timed_deploy(ws, "bench-curated", [model], config, curated, verbose)
        out.append(curated)
    if "new" in cases:
        modes = ["background"] if new_runs <= 2 else ["install", "background"]
        for i in range(new_runs):  # the compile modes alternate, each on a new environment
            mode = modes[i % len(modes)]
            case = new_env if mode == "background" else new_env_old
            _restart_server(mode)
            config = digits_config([*digits_packages, EXTRA_PACKAGES[i]])
            _timed_deploy(ws, f"bench-new-{i}", [model], config, case, verbose)
        out += [c for c in (new_env_old, new_env) if c.seconds]
    return out


def compile_mode() -> str:
    return os.environ.get("MODELPORT_COMPILE_BYTECODE", "background")


def _restart_server(compile_mode: str) -> None:
    """The next server builds with ``compile_mode``; started here, outside the timed deploy."""
    from modelport.server import daemon

    home = Path(os.environ["MODELPORT_HOME"])
    daemon.stop(home)
    os.environ["MODELPORT_COMPILE_BYTECODE"] = compile_mode
    daemon.ensure_running(home)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def table(cases: list[Case], runs: int) -> str:
    lines = [
        f"Deploy call → Healthy, median of {runs} (min-max); server-side operation time in brackets",
        f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}",
        "",
        f"{'case':62} {'median':>8} {'min-max':>15} {'server':>8} {'target':>7}  ok",
    ]
    for c in cases:
        med = statistics.median(c.seconds)
        srv = statistics.median(c.server_seconds) if c.server_seconds else float("nan")
        ok = "yes" if med < c.target else "NO"
        span = f"{min(c.seconds):.2f}-{max(c.seconds):.2f}"
        lines.append(
            f"{c.label:62} {med:7.2f}s {span:>15} {f'[{srv:.2f}s]':>8} {f'<{c.target:g}s':>7}  {ok}"
        )
    lines += ["", "Phases, median seconds (each ends at the named mark):"]
    lines.append(f"{'case':62} " + " ".join(f"{p:>8}" for p in PHASES))
    for c in cases:
        lines.append(
            f"{c.label:62} " + " ".join(f"{_median(c.phases.get(p, [])):>8}" for p in PHASES)
        )
    built = [c for c in cases if c.build]
    if built:
        lines += ["", "Environment build phases, median seconds:"]
        lines.append(f"{'case':62} " + " ".join(f"{p:>8}" for p in BUILD_PHASES))
        for c in built:
            lines.append(
                f"{c.label:62} "
                + " ".join(f"{_median(c.build.get(p, [])):>8}" for p in BUILD_PHASES)
            )
    for c in cases:
        if c.bare_import:
            bare, rt = statistics.median(c.bare_import), statistics.median(c.runtime_import)
            total = statistics.median(c.seconds)
            lines.append(
                f"{c.label}: bare `import sklearn` {bare:.2f} s; with the serving runtime's "
                f"imports {rt:.2f} s; deploy → Healthy adds {total - bare:.2f} s to the bare "
                f"import ({total / bare:.1f}x)"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--new-runs", type=int, default=2, help="new-environment deploys")
    parser.add_argument(
        "--cases", default="warm,first,new,curated", help="any of warm,first,new,curated"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench's MODELPORT_HOME")
    parser.add_argument("--verbose", action="store_true", help="stream each deployment's log")
    args = parser.parse_args()
    if args.new_runs > len(EXTRA_PACKAGES):
        parser.error(f"--new-runs at most {len(EXTRA_PACKAGES)}")
    home = Path(tempfile.mkdtemp(prefix="modelport-deploy-bench-"))
    os.environ["MODELPORT_HOME"] = str(home)
    for var in ("MODELPORT_URL", "MODELPORT_TOKEN"):
        os.environ.pop(var, None)
    workdir = home / "work"
    workdir.mkdir()
    try:
        cases = bench(args.runs, args.new_runs, set(args.cases.split(",")), workdir, args.verbose)
    finally:
        subprocess.run(
            [sys.executable, "-m", "modelport.cli.main", "server", "stop", "--services"],
            capture_output=True,
            check=False,
        )
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    print(table(cases, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
