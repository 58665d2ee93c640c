"""Package creation on the workspace server: one record folder per package, one thread per job.

    HOME/packages/<workspace>/<id>/record.json     state, inputs summary, error (written atomically)
                                   log.txt         the creation log (environment build included)
                                   context.tar.gz  the build context, what clients download
                                                   (context/ exists only while it is written)

Packages are build artifacts, not service state: they live as files under the server's home, not
in the database (no migration), and the reconciler never looks at them. A job lost with its
server process (the record says Running, written by another process instance) reads as Failed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelport.errors import ModelportError, NotFound
from modelport.packaging import assemble, context
from modelport.server.deploy.context import DeployContext

RUNNING, SUCCEEDED, FAILED = "Running", "Succeeded", "Failed"
TARBALL = "context.tar.gz"
_ID = re.compile(r"^[0-9]{14}-[0-9a-f]{8}$")
# This process's identity: a Running record written by another instance was lost with it.
_INSTANCE = secrets.token_hex(8)


def packages_root(dctx: DeployContext) -> Path:
    return Path(dctx.server.settings.home) / "packages"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def start(
    dctx: DeployContext,
    ws: str,
    body: dict[str, Any],
    check_blobs: Callable[[list[dict[str, Any]]], None],
) -> dict[str, Any]:
    """Validate ``body`` now (4xx on bad input), then lock and write the context in a thread."""
    inputs = assemble.from_request(dctx, ws, body, check_blobs, lambda line: None)
    pid = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4)
    folder = packages_root(dctx) / ws / pid
    folder.mkdir(parents=True)
    record = {
        "id": pid,
        "workspace": ws,
        "state": RUNNING,
        "packageType": "DockerBuildContext",
        "imageName": inputs.image_name,
        "imageLabel": inputs.image_label,
        "models": [f"{m.name}:{m.version}" for m in inputs.models],
        "service": body.get("service"),
        "noCode": inputs.no_code,
        "environment": inputs.environment_name,
        "createdTime": _now(),
        "endTime": None,
        "error": None,
        "instance": _INSTANCE,
    }
    _write_json(folder / "record.json", record)
    worker = threading.Thread(
        target=_run, args=(dctx, ws, folder, inputs), name=f"package-{pid}", daemon=True
    )
    worker.start()
    return view(record)


def _run(dctx: DeployContext, ws: str, folder: Path, inputs: context.PackageInputs) -> None:
    log_path = folder / "log.txt"
    lock = threading.Lock()

    def log(line: str) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        with lock, log_path.open("a", encoding="utf-8") as f:
            f.write(f"{stamp} {line.rstrip()}\n")

    error: dict[str, Any] | None = None
    try:
        from modelport.environments import runtime

        full = assemble.lock_environment(dctx, ws, inputs, log)
        snap = runtime.snapshot(dctx.env_cache, runtime.fingerprint())
        if full.environment_variables:
            # as in v1 images; anyone who can pull the image can read them (docs/package.md)
            names = ", ".join(sorted(full.environment_variables))
            log(f"Environment variables written into the image as ENV: {names}.")
        log("Writing the build context (Dockerfile, app root, lock, serving runtime).")
        ctx_dir = context.write_context(
            folder / "context", full, dctx.server.artifacts.path, snap.root
        )
        context.write_tarball(ctx_dir, folder / TARBALL)
        shutil.rmtree(ctx_dir)  # the tarball is what is served: no second copy of the models
        size = (folder / TARBALL).stat().st_size
        log(f"Build context ready: {size / 1e6:.1f} MB compressed (Python {full.python_version}).")
    except ModelportError as exc:
        error = {"code": type(exc).__name__, "message": str(exc)}
    except Exception as exc:  # a job must end with a record, whatever went wrong
        error = {"code": "InternalError", "message": f"{type(exc).__name__}: {exc}"}
    if error is not None:
        log(f"Failed: {error['message']}")
        for leftover in ("context", "context.partial"):
            shutil.rmtree(folder / leftover, ignore_errors=True)
    record = _read(folder)
    record.update(state=FAILED if error else SUCCEEDED, endTime=_now(), error=error)
    if not error:
        record["pythonVersion"] = full.python_version
        record["baseImage"] = full.manifest()["baseImage"]
    _write_json(folder / "record.json", record)


def _folder(dctx: DeployContext, ws: str, pid: str) -> Path:
    folder = packages_root(dctx) / ws / pid
    if not _ID.match(pid) or not (folder / "record.json").is_file():
        raise NotFound(f"Package {pid} not found in workspace {ws}")
    return folder


def _read(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    return data


def view(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k != "instance"}
    if record["state"] == RUNNING and record.get("instance") != _INSTANCE:
        out.update(
            state=FAILED,
            error={
                "code": "Interrupted",
                "message": "the workspace server stopped while creating this package; "
                "create it again",
            },
        )
    out["location"] = f"workspaces/{record['workspace']}/packages/{record['id']}/context"
    return out


def get(dctx: DeployContext, ws: str, pid: str) -> dict[str, Any]:
    return view(_read(_folder(dctx, ws, pid)))


def log_text(dctx: DeployContext, ws: str, pid: str) -> str:
    try:
        return (_folder(dctx, ws, pid) / "log.txt").read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def tarball(dctx: DeployContext, ws: str, pid: str) -> Path:
    folder = _folder(dctx, ws, pid)
    record = view(_read(folder))
    if record["state"] != SUCCEEDED:
        from modelport.errors import Conflict

        raise Conflict(f"Package {pid} is {record['state']}; its build context is not available")
    return folder / TARBALL


def delete(dctx: DeployContext, ws: str, pid: str) -> None:
    shutil.rmtree(_folder(dctx, ws, pid))
