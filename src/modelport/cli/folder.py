"""``modelport folder attach``: write the folder's ``.modelport/config.json``."""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import render
from modelport.errors import UserError
from modelport.sdk import _config

app = typer.Typer(
    help="Attach a project folder to a workspace, so commands and Workspace.from_config() run "
    "in it (or below it) use that workspace.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@app.command("attach")
@common_options
def attach(opts: CommonOptions) -> None:
    """Write .modelport/config.json in the current folder (or --path) naming the workspace -w.

    Example: modelport folder attach -w vision --path ./my-project
    """
    if not opts.workspace_name:
        raise UserError("Name the workspace to attach with -w/--workspace-name.")
    folder = opts.path or Path(".")
    if not folder.is_dir():
        raise UserError(f"The folder {folder} does not exist.")
    ws = opts.workspace()  # -w is given: this checks that the workspace exists
    target = ws._client.target
    server_url = target.url if target.source == "config" else None
    written = _config.write_config(ws.name, folder, server_url=server_url)
    render({"workspaceName": ws.name, "configFile": str(written)}, opts)
