"""The run directory of the local target: per-service, per-revision state files and logs.

```
<run_dir>/<service>/port                       the service's port (kept across revisions)
<run_dir>/<service>/rev-<n>/spec.json          the ReplicaSetSpec (adopt() restarts from it)
<run_dir>/<service>/rev-<n>/retired            present once the revision is being retired
<run_dir>/<service>/rev-<n>/replica-<i>.json   pid, start ticks, health port, restarts, exit code
<run_dir>/<service>/rev-<n>/replica-<i>.log    the replica's stdout+stderr, across restarts
```
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

START_MARK = "=== modelport: "


def service_dir(run_dir: Path, service: str) -> Path:
    return run_dir / service


def revision_dir(run_dir: Path, service: str, revision: int) -> Path:
    return service_dir(run_dir, service) / f"rev-{revision}"


def write_json(path: Path, data: Any) -> None:
    """Write atomically (rename), so a crash never leaves half a state file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def services(run_dir: Path) -> list[str]:
    """Every service key with at least one revision directory."""
    found = set()
    for spec in run_dir.glob("**/rev-*/spec.json"):
        found.add(spec.parent.parent.relative_to(run_dir).as_posix())
    return sorted(found)


def revisions(run_dir: Path, service: str) -> list[int]:
    out = []
    for child in service_dir(run_dir, service).glob("rev-*"):
        match = re.fullmatch(r"rev-(\d+)", child.name)
        if match and (child / "spec.json").exists():
            out.append(int(match.group(1)))
    return sorted(out)


def tail(path: Path, num_lines: int) -> list[str]:
    """The last ``num_lines`` lines of a file, read from the end (logs can be large)."""
    if num_lines <= 0:
        return []
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            block, data = 8192, b""
            while size > 0 and data.count(b"\n") <= num_lines:
                step = min(block, size)
                size -= step
                f.seek(size)
                data = f.read(step) + data
    except OSError:
        return []
    lines = data.decode(errors="replace").splitlines()
    return lines[-num_lines:]


def since_last_start(lines: list[str]) -> list[str]:
    """The lines written by the latest start of a replica (after the driver's last marker)."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(START_MARK):
            return lines[i + 1 :]
    return lines
