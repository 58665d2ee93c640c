"""Build (or reuse) the virtual environment for a spec: lock, key, venv, serving runtime, marker.

Layout under ``cache_root``:
  envs/<key>/                 the venv; ``.modelport-built`` is written last, so a crash mid-build
                              never leaves a directory that looks built (the next build wipes it)
  envs/<key>.lock             file lock: concurrent builders of one key build it once
  resolved/<spec-hash>.txt    the lock text for a spec (so the same spec is not re-resolved)
  runtime/<fingerprint>/      the modelport runtime snapshot the venvs' .pth files point at
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from modelport.environments import pins, runtime
from modelport.environments.conda import to_pypi_each
from modelport.environments.interpreters import Interpreter, for_replica_users, select
from modelport.environments.lock import (
    EnvironmentBuildError,
    Requirements,
    compile_lock,
    split_requirements,
)
from modelport.environments.spec import EnvironmentSpec
from modelport.environments.uvtool import run_uv

MARKER = ".modelport-built"
LOCK_FILE = "requirements.lock.txt"
# What a replica runs; checked at the end of every build so a broken runtime fails the build.
_SMOKE = "import modelport.serving.worker"


@dataclass(frozen=True)
class BuiltEnvironment:
    python: Path  # run ``python -m modelport.serving`` with this
    key: str
    lock: str  # the locked requirements text (store it to rebuild the same environment)
    path: Path
    reused: bool
    python_version: str
    user_managed: bool = False


def ensure_built(
    spec: EnvironmentSpec,
    cache_root: Path,
    log: Callable[[str], None],
    *,
    lock: str | None = None,
    allow_source_builds: bool = False,
) -> BuiltEnvironment:
    """The built environment for ``spec``, building it only if no complete one exists.

    ``lock``: a lock text stored from an earlier build, to reproduce it exactly instead of
    resolving again. ``allow_source_builds``: let uv build sdists (off: wheels only, so an old pin
    fails in a second instead of compiling for minutes).
    """
    if spec.user_managed_dependencies:
        return _user_managed(spec, log)
    cache_root = Path(cache_root).resolve()
    started = time.monotonic()
    _explain_v1_fields(spec, log)
    interp = select(spec.python_version, log, shared=for_replica_users(cache_root))
    reqs = split_requirements(spec.requirements(), log)
    fp = runtime.fingerprint()
    relax = pins.relax_requested(spec.environment_variables)
    lock = _lock_for(reqs, interp, fp, cache_root, log, lock, allow_source_builds, relax)
    key = environment_key(lock, interp, fp)
    env_dir = cache_root / "envs" / key
    python = env_dir / "bin" / "python"
    if (env_dir / MARKER).is_file():
        log(f"Environment {key[:12]} is already built; reusing it ({env_dir}).")
        return BuiltEnvironment(python, key, lock, env_dir, True, interp.version_str)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(env_dir) + ".lock"):
        if (env_dir / MARKER).is_file():
            log(f"Environment {key[:12]} was built by another deployment meanwhile; reusing it.")
            return BuiltEnvironment(python, key, lock, env_dir, True, interp.version_str)
        if env_dir.exists():
            log(f"Removing the incomplete build left in {env_dir}.")
            shutil.rmtree(env_dir)
        try:
            _build(env_dir, interp, lock, fp, cache_root, log, allow_source_builds)
        except BaseException:
            shutil.rmtree(env_dir, ignore_errors=True)
            raise
    log(f"Environment {key[:12]} built in {time.monotonic() - started:.1f} s.")
    return BuiltEnvironment(python, key, lock, env_dir, False, interp.version_str)


def _explain_v1_fields(spec: EnvironmentSpec, log: Callable[[str], None]) -> None:
    """Say in the log what of a v1 spec is translated or not used, so nothing is silent."""
    for conda, pypi in zip(spec.conda_packages, to_pypi_each(spec.conda_packages), strict=True):
        log(f"conda package {conda} -> " + (f"PyPI {pypi}" if pypi else "nothing to install"))
    docker = spec.docker
    if docker.get("enabled") or docker.get("baseImage") or docker.get("baseDockerfile"):
        log(
            "docker settings are kept but not used: modelport runs services in virtual "
            "environments on this machine, not in images."
        )


def environment_key(lock: str, interp: Interpreter, runtime_fingerprint: str) -> str:
    h = hashlib.sha256()
    for part in (lock, f"cpython-{interp.version_str}", runtime_fingerprint):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _lock_for(
    reqs: Requirements,
    interp: Interpreter,
    fp: str,
    cache_root: Path,
    log: Callable[[str], None],
    given: str | None,
    allow_source_builds: bool,
    relax_pins: bool = False,
) -> str:
    if given is not None and _covers_runtime(given, reqs.runtime):
        log("Using the stored lock.")
        return given
    if given is not None:
        log("The stored lock predates the current serving runtime's requirements; resolving again.")
    ident = json.dumps(
        {
            "reqs": [*reqs.user, *reqs.runtime],
            "python": interp.version_str,
            "fp": fp,
            "sdist": allow_source_builds,
            **({"relax": True} if relax_pins else {}),
        },
        sort_keys=True,
    )
    memo = cache_root / "resolved" / (hashlib.sha256(ident.encode()).hexdigest() + ".txt")
    if memo.is_file():
        return memo.read_text(encoding="utf-8")
    lock = compile_lock(reqs, interp, log, allow_source_builds, relax_pins)
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_name(f"{memo.name}.{os.getpid()}.{os.urandom(4).hex()}")
    tmp.write_text(lock, encoding="utf-8")
    tmp.replace(memo)
    return lock


def _covers_runtime(lock: str, runtime_reqs: tuple[str, ...]) -> bool:
    pinned = {
        canonicalize_name(line.split("==", 1)[0].split("[", 1)[0].strip())
        for line in lock.splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    for text in runtime_reqs:
        req = Requirement(text)
        if (req.marker is None or req.marker.evaluate()) and canonicalize_name(
            req.name
        ) not in pinned:
            return False
    return True


def _build(
    env_dir: Path,
    interp: Interpreter,
    lock: str,
    fp: str,
    cache_root: Path,
    log: Callable[[str], None],
    allow_source_builds: bool,
) -> None:
    log(f"Creating virtual environment {env_dir} with Python {interp.version_str}")
    _uv(
        ["venv", str(env_dir), "--python", str(interp.path), "--no-project"],
        log,
        cwd=env_dir.parent,
    )
    (env_dir / LOCK_FILE).write_text(lock, encoding="utf-8")
    python = env_dir / "bin" / "python"
    # Byte-compiling every installed package took 14-34 s of a 15-40 s build: it runs in the
    # background once a revision using the environment is ready (compile_in_background).
    mode = compile_mode()
    args = ["pip", "sync", LOCK_FILE, "--python", str(python)]
    if mode == "install":
        args.append("--compile-bytecode")
    if not allow_source_builds:
        args += ["--only-binary", ":all:"]
    log("Installing the locked packages")
    _uv(args, log, cwd=env_dir)
    snap = runtime.snapshot(cache_root, fp)
    runtime.install_pth(env_dir, snap)
    log(f"Serving runtime: modelport snapshot {snap.fingerprint[:12]} linked into the environment")
    check = subprocess.run(
        [str(python), "-c", _SMOKE], capture_output=True, text=True, timeout=120, check=False
    )
    if check.returncode != 0:
        for line in check.stderr.splitlines():
            log(line)
        last = (check.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvironmentBuildError(
            f"The built environment cannot import the serving runtime ({last})."
        )
    marker = env_dir / MARKER
    tmp = marker.with_name(MARKER + ".tmp")
    tmp.write_text(
        json.dumps({"python": interp.version_str, "runtime": fp, "built": time.time()}),
        encoding="utf-8",
    )
    tmp.replace(marker)  # last step: only now does the environment count as built
    if mode == "install":
        (env_dir / COMPILED).touch()


COMPILE_ENV = "MODELPORT_COMPILE_BYTECODE"


def compile_mode() -> str:
    """When installed packages are byte-compiled: ``background`` (default: once a revision using
    the environment is ready, off the deploy's critical path), ``install`` (during the build, as
    before) or ``off``."""
    mode = os.environ.get(COMPILE_ENV, "background")
    return mode if mode in ("background", "install", "off") else "background"


COMPILED = ".modelport-compiled"  # written by the background compile once it finished
_COMPILE = """
import compileall, fcntl, os, site, sys
env = sys.argv[1]
lock = os.open(os.path.join(env, ".modelport-compile.lock"), os.O_RDWR | os.O_CREAT, 0o600)
try:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.exit(0)  # another process compiles this environment
if os.path.exists(os.path.join(env, ".modelport-compiled")):
    sys.exit(0)
os.nice(10)
os.umask(0o022)  # bytecode is no secret: replicas in their own users read it at once
ok = all(compileall.compile_dir(d, quiet=2, workers=1) for d in site.getsitepackages())
if ok:
    open(os.path.join(env, ".modelport-compiled"), "w").close()
sys.exit(not ok)
"""


def compile_in_background(python: Path, log: Callable[[str], None]) -> bool:
    """Byte-compile a built environment's packages in a low-priority process; nothing waits.

    Replicas that run as their service's own user cannot write bytecode into the shared
    environment, so until this ran each of them compiles what it imports, in memory, at every
    start (seconds for scikit-learn). The rollout calls it once a revision is ready (not during
    the build: the first replica's imports would compete with it), at nice 10 rather than
    SCHED_IDLE, which never ran on a busy host. One compile per environment (a file lock), done
    once (``COMPILED``); a concurrent writer of one .pyc (a replica) is safe: both rename.
    Returns whether a compile was started.
    """
    env_dir = python.parent.parent
    if compile_mode() != "background" or not (env_dir / MARKER).is_file():
        return False  # compiled at install, switched off, or not an environment modelport built
    if (env_dir / COMPILED).is_file():
        return False
    try:
        proc = subprocess.Popen(
            [str(python), "-I", "-c", _COMPILE, str(env_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        log(f"Compiling the packages in the background could not start: {exc}")
        return False
    log("Compiling the environment's bytecode in the background (low priority).")
    threading.Thread(target=proc.wait, name="modelport-compileall", daemon=True).start()
    return True


def _uv(args: list[str], log: Callable[[str], None], cwd: Path | None = None) -> None:
    result = run_uv(args, log, cwd=cwd)
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvironmentBuildError(f"uv {args[0]} {args[1]} failed: {tail}")


def _user_managed(spec: EnvironmentSpec, log: Callable[[str], None]) -> BuiltEnvironment:
    """``user_managed_dependencies=True``: use the given interpreter as is, after checking it."""
    given = spec.interpreter_path or "python"
    found = shutil.which(given) if os.sep not in given else given
    path = Path(found) if found else None
    if path is None or not path.is_file() or not os.access(path, os.X_OK):
        raise EnvironmentBuildError(
            f"The environment's interpreter_path {given!r} is not an executable on this machine."
        )
    log(f"user_managed_dependencies: using {path} as is (no packages installed).")
    probe = subprocess.run(
        [str(path), "-c", _SMOKE + "; import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvironmentBuildError(
            f"The interpreter {path} cannot import modelport's serving runtime ({last}); install "
            "'modelport[serving]' into it or let modelport manage the dependencies."
        )
    version = probe.stdout.strip()
    key = "user-" + hashlib.sha256(str(path).encode()).hexdigest()
    return BuiltEnvironment(path, key, "", path.parent, True, version, user_managed=True)
