"""What the deploy code needs to know about registered models, read from the model registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from modelport.errors import NotFound, UserError
from modelport.server.deploy.approot import FileEntry, ModelFiles


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: int
    framework: str | None
    properties: dict[str, str] = field(default_factory=dict)
    model_root: str | None = None
    files: tuple[FileEntry, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.name}:{self.version}"

    def as_layout(self) -> ModelFiles:
        return ModelFiles(self.name, self.version, self.files)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "framework": self.framework,
            "properties": dict(self.properties),
            "modelRoot": self.model_root,
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in self.files],
        }


def parse_ref(ref: object) -> tuple[str, int]:
    """``"name:version"`` → (name, version); the version is required so deploys are reproducible."""
    if not isinstance(ref, str) or ":" not in ref:
        raise UserError(f"models entries must be 'name:version' strings, got {ref!r}")
    name, _, version = ref.rpartition(":")
    try:
        return name, int(version)
    except ValueError:
        raise UserError(f"model reference {ref!r}: version must be an integer") from None


def resolve(session: Session, workspace: str, refs: list[str]) -> list[ModelInfo]:
    """Each reference as a ModelInfo; NotFound naming the first one missing."""
    from modelport.server.store import models as model_store

    out: list[ModelInfo] = []
    for ref in refs:
        name, version = parse_ref(ref)
        try:
            row = model_store.get(session, _workspace_id(session, workspace), name, version)
        except NotFound:
            raise NotFound(
                f"ModelNotFound: Model with id {name}:{version} not found in provided workspace"
            ) from None
        out.append(_info(row))
    return out


def _info(row: Any) -> ModelInfo:
    files = tuple(
        FileEntry(str(f["path"]), str(f["sha256"]), int(f.get("size", 0)))
        for f in (row.files or [])
    )
    return ModelInfo(
        name=row.name,
        version=int(row.version),
        framework=row.framework,
        properties=dict(row.properties or {}),
        model_root=getattr(row, "model_root", None),
        files=files,
    )


def _workspace_id(session: Session, workspace: str) -> int:
    from modelport.server.store import workspaces

    return int(workspaces.get(session, workspace).id)
