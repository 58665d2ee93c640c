"""``modelport studio open``: a one-time sign-in link to the web studio."""

from __future__ import annotations

import sys
import webbrowser
from typing import TYPE_CHECKING, Annotated

import typer

from modelport.cli._options import CommonOptions, common_options
from modelport.errors import UserError

if TYPE_CHECKING:
    from modelport.sdk.workspace import Workspace

app = typer.Typer(
    help="The web studio the workspace server serves at its URL: browse models, deploy, "
    "watch and test services.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def link_for(workspace: Workspace) -> str:
    """A one-time sign-in link (5 minutes) to ``workspace``'s models page in the studio."""
    from modelport.server.studio.signing import signin_link

    client = workspace._client
    url = client.url  # connects (and starts the local server) first, so the token is known
    token = client._token
    if not token:
        raise UserError("no workspace token known for this server: set MODELPORT_TOKEN")
    return signin_link(url, token, f"/w/{workspace.name}/models")


@app.command("open")
@common_options
def open_(
    opts: CommonOptions,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the link, do not open a browser.")
    ] = False,
) -> None:
    """Print a one-time sign-in link to the studio and open it in a browser.

    The link signs the browser in (a session cookie, 12 hours) and works once, within 5 minutes.
    Signing in with the workspace token on the studio's sign-in page works too.

    Example: modelport studio open -w default --no-browser
    """
    workspace = opts.workspace()
    workspace.get_details()  # a wrong token or a missing workspace fails here, in one line
    link = link_for(workspace)
    print(link)
    if not no_browser and sys.stdout.isatty():
        webbrowser.open(link)
