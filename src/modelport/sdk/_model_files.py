"""Local side of model files: what a register uploads and where a download writes."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from modelport.errors import UserError
from modelport.sdk._http import Client

MODEL_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-\._]{0,254}$")
MODEL_NAME_RULE = (
    "Model names may contain only letters, numbers, dashes, periods or underscores, "
    "must start with a letter or number, and be 1-255 characters long"
)
FRAMEWORK_VERSION_WITHOUT_FRAMEWORK = (
    "Model framework version cannot be provided without a valid framework"
)


def check_model_name(name: object) -> str:
    """Fail before uploading anything (a 2 GB upload then "bad name" is a poor answer)."""
    if not isinstance(name, str) or not MODEL_NAME_RE.match(name):
        raise UserError(f"Invalid model name {name!r}. {MODEL_NAME_RULE}.")
    return name


def collect(
    model_path: str | Path, child_paths: Sequence[str] | None
) -> tuple[str, list[tuple[Path, str]]]:
    """The registered root name and ``(local file, "root/relative/posix/path")`` pairs to upload."""
    path = Path(model_path).expanduser()
    if not path.exists():
        raise UserError(f"The model path {model_path} does not exist.")
    path = path.resolve()
    root = path.name
    if path.is_file():
        if child_paths:
            raise UserError("child_paths can only be used when model_path is a folder.")
        return root, [(path, root)]
    if child_paths is not None and isinstance(child_paths, str):
        raise UserError("child_paths must be a list of paths relative to model_path.")
    files: list[Path] = []
    if child_paths:
        for child in child_paths:
            local = (path / child).resolve()
            if not local.is_relative_to(path):
                raise UserError(f"The child path {child} is outside the model folder {model_path}.")
            if not local.exists():
                raise UserError(f"The child path {child} does not exist in {model_path}.")
            files.extend(_files_under(local) if local.is_dir() else [local])
    else:
        files = _files_under(path)
    if not files:
        raise UserError(f"The model folder {model_path} contains no files.")
    for f in files:
        # A link out of the folder would upload a file the user never meant to register.
        if not f.resolve().is_relative_to(path):
            raise UserError(
                f"The model file {f} is a link to a file outside the model folder {model_path}; "
                "copy the file into the folder or remove the link."
            )
    unique = sorted(set(files))
    return root, [(f, f"{root}/{f.relative_to(path).as_posix()}") for f in unique]


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def upload(
    client: Client, workspace: str, pairs: Iterable[tuple[Path, str]]
) -> list[dict[str, Any]]:
    """Upload each file (skipping blobs the server has) and return the server's file entries."""
    entries = []
    for local, rel in pairs:
        blob = client.upload_file(workspace, local, label=rel)
        entries.append({"path": rel, "sha256": blob["sha256"], "size": blob["size"]})
    return entries


def root_of(files: Sequence[Mapping[str, Any]], model_root: str | None) -> str:
    """The registered root entry: ``modelRoot`` if the server gave it, else the files' common prefix."""
    if model_root:
        return model_root
    if not files:
        raise UserError("The model has no files to download.")
    parts = [str(f["path"]).split("/") for f in files]
    if len(parts) == 1:
        return "/".join(parts[0])
    common: list[str] = []
    for column in zip(*parts, strict=False):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return "/".join(common) or "."


def download(
    client: Client,
    workspace: str,
    files: Sequence[Mapping[str, Any]],
    root: str,
    target_dir: str | Path,
    exist_ok: bool,
) -> Path:
    """Write the model's files under ``target_dir`` and return the path of the registered root."""
    target = Path(target_dir).expanduser()
    dest_root = target / root
    if dest_root.exists() or dest_root.is_symlink():
        if not exist_ok:
            raise UserError(
                f"File already exists. To overwrite, set exist_ok to True. ({dest_root})"
            )
        single_file = len(files) == 1 and files[0]["path"] == root
        # The old copy has the other shape (file vs folder): remove it so the new one fits.
        if single_file and dest_root.is_dir():
            shutil.rmtree(dest_root)
        elif not single_file and not dest_root.is_dir():
            dest_root.unlink()
    base = target.resolve()
    for entry in files:
        rel = Path(*str(entry["path"]).split("/"))
        if (
            rel.is_absolute()
            or ".." in rel.parts
            or not (base / rel).resolve().is_relative_to(base)
        ):
            raise UserError(f"Refusing to write the model file {entry['path']!r} outside {target}.")
        client.download_blob(
            workspace, entry["sha256"], target / rel, size=int(entry.get("size", 0))
        )
    return dest_root
