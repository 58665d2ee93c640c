"""``modelport model register|list|show|download|update|delete`` (``az ml model`` flags)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelport.cli._lazy import lazy_group
from modelport.cli._model_ref import (
    MetadataFileOption,
    ModelIdOption,
    ModelNameOption,
    VersionOption,
    resolve_model,
    show_form,
    write_metadata_file,
)
from modelport.cli._model_ref import read_metadata_file as read_metadata_file  # cli/deploy.py
from modelport.cli._options import CommonOptions, common_options, parse_filters, parse_pairs
from modelport.cli._output import render, render_items
from modelport.errors import UserError

app = typer.Typer(
    help="Register, list, show, download, update and delete models of a workspace's registry.\n\n"
    "A model is a file or a folder stored under a name; registering a name again adds version "
    "2, 3, ... Commands that act on one model take -i NAME:VERSION, or -n NAME [-v VERSION] "
    "(latest by default), or -f FILE written by `register --output-metadata-file`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    # `model deploy` lives in cli/deploy.py (the deployments engineer's module), `model package`
    # in cli/package.py (packaging): each `register(app)`s its command when first named.
    cls=lazy_group({"deploy": "modelport.cli.deploy", "package": "modelport.cli.package"}),
)

LIST_COLUMNS = ["name", "id", "version", "framework", "frameworkVersion", "createdTime"]


@app.command("register")
@common_options
def register(
    opts: CommonOptions,
    name: Annotated[
        str, typer.Option("--name", "-n", help="Model name (letters, digits, '-', '.', '_').")
    ],
    path: Annotated[
        Path | None,
        typer.Option(
            "--model-path", "-p", help="Local file or folder to register.", show_default=False
        ),
    ] = None,
    child_path: Annotated[
        list[str] | None,
        typer.Option(
            "--child-path",
            help="With a folder: only this file/subfolder (repeatable).",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    asset_path: Annotated[
        str | None,
        typer.Option(
            "--asset-path",
            help="Path inside a run, e.g. outputs/model.pkl (with --run-id).",
            show_default=False,
        ),
    ] = None,
    experiment_name: Annotated[
        str | None,
        typer.Option("--experiment-name", help="Experiment of --run-id.", show_default=False),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", "-r", help="Run whose output to register.", show_default=False),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", help="key=value tag (repeatable).", show_default=False, metavar="KEY=VALUE"
        ),
    ] = None,
    prop: Annotated[
        list[str] | None,
        typer.Option(
            "--property",
            help="key=value property, never changed later (repeatable).",
            metavar="KEY=VALUE",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="Free text.", show_default=False)
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option(
            "--model-framework",
            help="ScikitLearn, Onnx, TensorFlow, PyTorch or Custom.",
            show_default=False,
        ),
    ] = None,
    framework_version: Annotated[
        str | None,
        typer.Option(
            "--model-framework-version", help="Needs --model-framework.", show_default=False
        ),
    ] = None,
    metadata_out: Annotated[
        Path | None,
        typer.Option(
            "--output-metadata-file",
            "-t",
            help="Write the new model's id here (for `-f` of show/download/update/delete).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Register a local file or folder, or a run's output, as the next version of a model.

    Examples: modelport model register -n digits -p model.pkl --tag team=vision --model-framework ScikitLearn

    modelport model register -n digits --asset-path outputs/model.pkl --experiment-name train --run-id RUN_ID
    """
    from modelport.sdk.model import Model
    from modelport.sdk.run import Run

    tags = parse_pairs(tag, "--tag")
    properties = parse_pairs(prop, "--property")
    if (path is None) == (asset_path is None):
        raise UserError("Give either -p/--model-path or --asset-path with --run-id.")
    ws = opts.workspace()
    if path is not None:
        model = Model.register(
            ws,
            path,
            name,
            tags=tags or None,
            properties=properties or None,
            description=description,
            model_framework=framework,
            model_framework_version=framework_version,
            child_paths=child_path or None,
        )
    else:
        if not run_id:
            raise UserError("--asset-path needs --run-id (and --experiment-name).")
        run = Run.get(ws, run_id)
        if experiment_name and run.experiment.name != experiment_name:
            raise UserError(
                f"Run {run_id} belongs to experiment {run.experiment.name!r}, not {experiment_name!r}."
            )
        model = run.register_model(
            name,
            asset_path,
            tags=tags or None,
            properties=properties or None,
            model_framework=framework,
            model_framework_version=framework_version,
            description=description,
        )
    if metadata_out is not None:
        write_metadata_file(metadata_out, model)
    render(show_form(model), opts)


@app.command("list")
@common_options
def list_(
    opts: CommonOptions,
    name: Annotated[
        str | None,
        typer.Option("--model-name", "--name", "-n", help="Only this name.", show_default=False),
    ] = None,
    latest: Annotated[
        bool, typer.Option("--latest", "-l", help="Only the latest version of each name.")
    ] = False,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            help="key or key=value; several are ANDed.",
            show_default=False,
            metavar="KEY[=VALUE]",
        ),
    ] = None,
    prop: Annotated[
        list[str] | None,
        typer.Option(
            "--property",
            help="key or key=value; several are ANDed.",
            show_default=False,
            metavar="KEY[=VALUE]",
        ),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Registered from this run.", show_default=False)
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option("--model-framework", help="Only this framework.", show_default=False),
    ] = None,
) -> None:
    """List models by name, then version (newest first), page by page.

    Example: modelport model list -n digits --tag team=vision -o json --query "[].id"
    """
    from modelport.sdk.model import Model

    ws = opts.workspace()
    models = Model._iter(
        ws,
        name=name,
        tags=parse_filters(tag),
        properties=parse_filters(prop),
        run_id=run_id,
        latest=latest,
        model_framework=framework,
    )
    render_items((m.serialize() for m in models), opts, columns=LIST_COLUMNS)


@app.command("show")
@common_options
def show(
    opts: CommonOptions,
    model_id: ModelIdOption = None,
    name: ModelNameOption = None,
    version: VersionOption = None,
    metadata_file: MetadataFileOption = None,
) -> None:
    """Show one model.

    Example: modelport model show -n digits -v 2 -o yaml
    """
    render(show_form(resolve_model(opts, model_id, name, version, metadata_file)), opts)


@app.command("download")
@common_options
def download(
    opts: CommonOptions,
    model_id: ModelIdOption = None,
    name: ModelNameOption = None,
    version: VersionOption = None,
    metadata_file: MetadataFileOption = None,
    target_dir: Annotated[
        Path, typer.Option("--target-dir", "-t", help="Folder to download into.")
    ] = Path("."),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace files that exist.")
    ] = False,
) -> None:
    """Download a model's file or folder into --target-dir (refuses to overwrite unless --overwrite).

    Example: modelport model download -i digits:2 -t ./models
    """
    model = resolve_model(opts, model_id, name, version, metadata_file)
    path = model.download(target_dir, exist_ok=overwrite)
    render({"id": model.id, "path": path}, opts)


@app.command("update")
@common_options
def update(
    opts: CommonOptions,
    model_id: ModelIdOption = None,
    name: ModelNameOption = None,
    version: VersionOption = None,
    metadata_file: MetadataFileOption = None,
    add_tag: Annotated[
        list[str] | None,
        typer.Option(
            "--add-tag", help="key=value (repeatable).", show_default=False, metavar="KEY=VALUE"
        ),
    ] = None,
    remove_tag: Annotated[
        list[str] | None,
        typer.Option(
            "--remove-tag", help="Tag key (repeatable).", show_default=False, metavar="KEY"
        ),
    ] = None,
    add_property: Annotated[
        list[str] | None,
        typer.Option(
            "--add-property",
            help="key=value; existing keys cannot change.",
            metavar="KEY=VALUE",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="New description.", show_default=False)
    ] = None,
) -> None:
    """Change a model's tags or description, or add properties.

    Example: modelport model update -i digits:2 --add-tag stage=prod --remove-tag draft
    """
    add_tags = parse_pairs(add_tag, "--add-tag")
    add_properties = parse_pairs(add_property, "--add-property")
    if not (add_tags or remove_tag or add_properties or description is not None):
        raise UserError(
            "Nothing to update: give --add-tag, --remove-tag, --add-property or --description."
        )
    model = resolve_model(opts, model_id, name, version, metadata_file)
    model.update_tags_properties(add_tags or None, remove_tag or None, add_properties or None)
    if description is not None:
        model.update(description=description)
    render(show_form(model), opts)


@app.command("delete")
@common_options
def delete(
    opts: CommonOptions,
    model_id: ModelIdOption = None,
    name: ModelNameOption = None,
    version: VersionOption = None,
    metadata_file: MetadataFileOption = None,
) -> None:
    """Delete one model version (refused while a deployed service uses it).

    Example: modelport model delete -i digits:1
    """
    model = resolve_model(opts, model_id, name, version, metadata_file)
    model.delete()
    render({"id": model.id, "deleted": True}, opts)
