"""``modelport workspace create|list|show|delete``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import render, render_items
from modelport.errors import UserError
from modelport.sdk.workspace import Workspace

app = typer.Typer(
    help="Create, list, show and delete workspaces: named namespaces for models, runs, "
    "environments and services on one server.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

COLUMNS = ["name", "description", "createdTime"]


def _required_name(opts: CommonOptions) -> str:
    if not opts.workspace_name:
        raise UserError("Name the workspace with -w/--workspace-name.")
    return opts.workspace_name


@app.command("create")
@common_options
def create(
    opts: CommonOptions,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="Free text.", show_default=False)
    ] = None,
    exist_ok: Annotated[
        bool, typer.Option("--exist-ok", help="Succeed (and show it) if it already exists.")
    ] = False,
) -> None:
    """Create a workspace. Names: 2-32 characters, letters, digits, '-' and '_', starting with a
    letter or digit.

    Example: modelport workspace create -w vision --description "image models"
    """
    name = _required_name(opts)
    ws = Workspace.create(name, exist_ok=exist_ok, description=description, _client=opts.client())
    render(ws.get_details(), opts)


@app.command("list")
@common_options
def list_(opts: CommonOptions) -> None:
    """List the workspaces of the server.

    Example: modelport workspace list -o tsv --query "[].name"
    """
    render_items(opts.client().paginate("/workspaces"), opts, columns=COLUMNS)


@app.command("show")
@common_options
def show(opts: CommonOptions) -> None:
    """Show a workspace: -w NAME, else the one of the folder's config file, else 'default'.

    Example: modelport workspace show -w vision -o json
    """
    render(opts.workspace().get_details(), opts)


@app.command("delete")
@common_options
def delete(
    opts: CommonOptions,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a workspace with its models, runs and environments (refused while it has services).

    Example: modelport workspace delete -w scratch --yes
    """
    name = _required_name(opts)
    ws = Workspace(name, _client=opts.client())
    if not yes:
        if not sys.stdin.isatty():
            raise UserError(
                f"Deleting workspace {name!r} removes all its models: pass --yes to confirm."
            )
        typer.confirm(f"Delete workspace {name!r} and all its models and runs?", abort=True)
    ws.delete()
    render({"name": name, "deleted": True}, opts)
