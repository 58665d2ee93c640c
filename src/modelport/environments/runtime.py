"""The serving runtime every environment gets: the ``serving`` extra's requirements and modelport itself.

modelport goes in as a content-hashed snapshot of the package directory under
``<cache_root>/runtime/<fingerprint>/`` plus a ``.pth`` file in the venv pointing at it. Why not a
wheel or ``uv pip install --no-deps``: building a wheel costs a hatchling build per source change,
while a snapshot is a file copy shared by every environment; the content hash makes it immutable,
so a running service never sees its code change under it. Control-plane subpackages are left out:
their dependencies are not installed there, and leaving them out keeps environment keys stable
while the control plane changes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import modelport

EXTRA = "serving"
# Top-level subpackages that belong to the control plane (server, clients, drivers, builder).
_CONTROL_PLANE = frozenset({"server", "cli", "sdk", "targets", "environments", "packaging"})
_EXTRA_MARKER = r"""extra\s*==\s*['"]""" + EXTRA + r"""['"]"""
_EXTRA_CLAUSE = re.compile(r"\s*(and\s+)?" + _EXTRA_MARKER + r"(\s+and)?")


def package_dir() -> Path:
    return Path(modelport.__file__).resolve().parent


def serving_requirements() -> list[str]:
    """The ``serving`` extra, read from the checkout's pyproject.toml or the installed metadata."""
    pyproject = package_dir().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        project = data.get("project", {})
        if project.get("name") == "modelport":
            return list(project.get("optional-dependencies", {}).get(EXTRA, []))
    reqs: list[str] = []
    for req in importlib.metadata.requires("modelport") or []:
        if ";" not in req:
            continue
        base, marker = req.split(";", 1)
        if not re.search(_EXTRA_MARKER, marker):
            continue
        rest = _EXTRA_CLAUSE.sub("", marker).strip()
        rest = rest.removeprefix("and ").strip()
        reqs.append(f"{base.strip()}; {rest}" if rest else base.strip())
    return reqs


def _runtime_files() -> list[tuple[str, Path]]:
    root = package_dir()
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in _CONTROL_PLANE]
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                continue
            files.append(((rel_dir / name).as_posix(), Path(dirpath) / name))
    return files


def fingerprint() -> str:
    """sha256 over the runtime's files (paths and bytes) and the serving requirements."""
    h = hashlib.sha256()
    for req in serving_requirements():
        h.update(b"req\0" + req.encode() + b"\0")
    for rel, path in _runtime_files():
        h.update(b"file\0" + rel.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


@dataclass(frozen=True)
class RuntimeSnapshot:
    fingerprint: str
    root: Path  # the directory that contains ``modelport/``; what the .pth names


def snapshot(cache_root: Path, fp: str | None = None) -> RuntimeSnapshot:
    """Copy the runtime into ``cache_root/runtime/<fingerprint>`` once (atomic rename)."""
    fp = fp or fingerprint()
    dest = cache_root / "runtime" / fp[:32]
    if (dest / "modelport" / "__init__.py").is_file():
        return RuntimeSnapshot(fp, dest)
    tmp = dest.with_name(f"{dest.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
    for rel, path in _runtime_files():
        target = tmp / "modelport" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    # Minimal dist-info so importlib.metadata.version("modelport") works inside the environment.
    info = tmp / f"modelport-{modelport.__version__}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: modelport\nVersion: {modelport.__version__}\n",
        encoding="utf-8",
    )
    (info / "INSTALLER").write_text("modelport-runtime-snapshot\n", encoding="utf-8")
    try:
        tmp.rename(dest)
    except OSError:
        # Another builder renamed its identical copy first.
        shutil.rmtree(tmp, ignore_errors=True)
        if not (dest / "modelport" / "__init__.py").is_file():
            raise
    return RuntimeSnapshot(fp, dest)


def install_pth(venv: Path, snap: RuntimeSnapshot) -> None:
    """Point the venv at the snapshot; one ``.pth`` line, no copy per environment."""
    for site in venv.glob("lib/python*/site-packages"):
        (site / "_modelport_runtime.pth").write_text(f"{snap.root}\n", encoding="utf-8")
