"""Naming one model on the command line (-i / -n [-v] / -f) and the metadata files that chain commands.

``register --output-metadata-file F`` writes ``{"modelId", "name", "version", "workspaceName"}``;
``-f F`` (``--model-metadata-file``) of show/download/update/delete/deploy reads it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelport.cli._options import CommonOptions
from modelport.errors import UserError

if TYPE_CHECKING:
    from modelport.sdk.model import Model

ModelIdOption = Annotated[
    str | None,
    typer.Option("--model-id", "-i", help="Model id NAME:VERSION.", show_default=False),
]
ModelNameOption = Annotated[
    str | None,
    typer.Option(
        "--model-name",
        "--name",
        "-n",
        help="Model name (latest version unless -v).",
        show_default=False,
    ),
]
VersionOption = Annotated[
    int | None, typer.Option("--version", "-v", help="Model version (with -n).", show_default=False)
]
MetadataFileOption = Annotated[
    Path | None,
    typer.Option(
        "--model-metadata-file",
        "-f",
        help="JSON file written by `model register --output-metadata-file`.",
        show_default=False,
    ),
]


def resolve_model(
    opts: CommonOptions,
    model_id: str | None,
    name: str | None,
    version: int | None,
    metadata_file: Path | None,
) -> Model:
    """The one model named by -i, -n [-v] or -f (exactly one of them)."""
    given = [
        flag for flag, value in (("-i", model_id), ("-n", name), ("-f", metadata_file)) if value
    ]
    if len(given) != 1:
        raise UserError(
            "Name one model: -i NAME:VERSION, -n NAME [-v VERSION] or -f METADATA_FILE."
        )
    if version is not None and not name:
        raise UserError("-v/--version goes with -n/--model-name.")
    preferred = None
    from modelport.sdk.model import Model

    if metadata_file is not None:
        model_id, preferred = read_metadata_file(metadata_file)
    ws = opts.workspace(fallback=preferred)
    if model_id:
        if ":" not in model_id:
            raise UserError(f"A model id is NAME:VERSION, got {model_id!r}.")
        return Model(ws, id=model_id)
    return Model(ws, name=name, version=version)


def read_metadata_file(path: Path) -> tuple[str, str | None]:
    """(model id, workspace name) from a metadata file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"Cannot read the model metadata file {path}: {exc.strerror}.") from None
    except ValueError:
        raise UserError(f"The model metadata file {path} is not valid JSON.") from None
    model_id = data.get("modelId") if isinstance(data, dict) else None
    if not isinstance(model_id, str):
        raise UserError(f'The model metadata file {path} has no "modelId".')
    workspace = data.get("workspaceName")
    return model_id, workspace if isinstance(workspace, str) else None


def write_metadata_file(path: Path, model: Model) -> None:
    data = {
        "modelId": model.id,
        "name": model.name,
        "version": model.version,
        "workspaceName": model.workspace.name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")


def show_form(model: Model) -> dict[str, Any]:
    """What `show` prints: the serialized model plus cpu/memoryInGB/gpu as `az ml` does."""
    resources = model.resource_configuration or {}
    return model.serialize() | {
        "cpu": resources.get("cpu"),
        "memoryInGB": resources.get("memoryInGB"),
        "gpu": resources.get("gpu"),
    }
