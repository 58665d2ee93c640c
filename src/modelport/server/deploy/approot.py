"""The app root of one service revision: source snapshot + ``azureml-models/<name>/<version>/``.

Built in a temporary sibling folder and renamed into place, so a crash mid-layout leaves either no
app root or a complete one; the reconciler can then redo the step without looking inside.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from modelport.errors import UserError

MODELS_DIR = "azureml-models"


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    size: int = 0


@dataclass(frozen=True)
class ModelFiles:
    name: str
    version: int
    files: tuple[FileEntry, ...]


BlobPath = Callable[[str], Path]


def revision_dir(services_root: Path, workspace: str, service: str, revision: int) -> Path:
    return services_root / workspace / service / f"rev-{revision}"


def model_dir_env(models: Iterable[ModelFiles]) -> str:
    """AZUREML_MODEL_DIR relative to the app root: one model → its version folder, else the root."""
    items = list(models)
    if len(items) == 1:
        return f"{MODELS_DIR}/{items[0].name}/{items[0].version}"
    return MODELS_DIR


def lay_out(
    app_dir: Path,
    models: Iterable[ModelFiles],
    source_files: Iterable[FileEntry],
    blob_path: BlobPath,
    generated: Mapping[str, str] | None = None,
) -> Path:
    """Create ``app_dir`` if it is not complete yet; returns it. Idempotent."""
    if app_dir.is_dir():
        return app_dir
    tmp = app_dir.with_name(app_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for entry in source_files:
        # Sources are copied: entry scripts may write next to themselves, the store must not change.
        _place(blob_path(entry.sha256), tmp / _safe(entry.path), link=False)
    # Models can be large: hard links into the artifact store (blobs are read-only, so a replica
    # cannot change the shared bytes), copies across devices. Root ignores the read-only mode and
    # replicas run as the server's user, so a root server copies: one script writing into its
    # model file must not corrupt every model that shares those bytes.
    link_models = os.geteuid() != 0
    for model in models:
        base = tmp / MODELS_DIR / model.name / str(model.version)
        base.mkdir(parents=True, exist_ok=True)
        for entry in model.files:
            _place(blob_path(entry.sha256), base / _safe(entry.path), link=link_models)
    for rel, text in (generated or {}).items():
        target = tmp / _safe(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    os.replace(tmp, app_dir)
    return app_dir


def _safe(path: str) -> Path:
    pure = PurePosixPath(path)
    if (
        not path
        or pure.is_absolute()
        or ".." in pure.parts
        or "\\" in path
        or "\x00" in path
        or (len(path) > 1 and path[1] == ":")
    ):
        raise UserError(f"Invalid file path in snapshot: {path!r}")
    return Path(*pure.parts)


def _place(source: Path, target: Path, link: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(source, target)
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
                raise
    shutil.copyfile(source, target)
