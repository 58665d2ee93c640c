"""``modelport server start|stop|status``: the local workspace server of ``MODELPORT_HOME``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import info, render
from modelport.errors import UserError
from modelport.server.home import default_home

app = typer.Typer(
    help="Run the workspace server (the control plane) of this machine.\n\n"
    "Its data lives in $MODELPORT_HOME (default ~/.modelport; root: /var/lib/modelport): metadata in SQLite, artifacts in "
    "a content-addressed folder, the access token in `token` (mode 0600). Other commands start it "
    "in the background on first use, so `server start` is only needed to choose a port, a host or "
    "a database.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def _describe(server: Any) -> dict[str, Any]:
    home = default_home()
    return {
        "running": True,
        "url": server.url,
        "pid": server.pid,
        "host": server.host,
        "port": server.port,
        "home": str(home),
        "tokenFile": str(home / "token"),
    }


@app.command("start")
@common_options
def start(
    opts: CommonOptions,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            "-p",
            help="TCP port; 0 picks a free one. Default: $MODELPORT_PORT, else 0. The server "
            "that other commands start on first use binds $MODELPORT_PORT too.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Interface to listen on (loopback by default).")
    ] = "127.0.0.1",
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="SQLAlchemy URL of the metadata store, e.g. "
            "postgresql+psycopg://user@db/modelport (default: SQLite in the home folder).",
            show_default=False,
        ),
    ] = None,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Run in this terminal until Ctrl+C.")
    ] = False,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            help="PEM certificate (full chain): serve HTTPS, TLS 1.2 or newer only. "
            "Local clients trust it automatically; remote ones via MODELPORT_CA_BUNDLE.",
            show_default=False,
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option("--tls-key", help="PEM private key of --tls-cert.", show_default=False),
    ] = None,
) -> None:
    """Start the workspace server in the background (or in the foreground).

    Example: modelport server start --port 8765

    Example: modelport server start --tls-cert server.pem --tls-key server.key
    """
    if bool(tls_cert) != bool(tls_key):
        raise UserError("HTTPS needs both --tls-cert and --tls-key")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise UserError(f"no such file: {path}")
    from modelport.server import daemon  # type: ignore[attr-defined,unused-ignore]

    if foreground:
        info(f"Starting the workspace server for {default_home()} (Ctrl+C stops it).")
    server = daemon.start(
        default_home(),
        host=host,
        port=port,
        database_url=database_url,
        foreground=foreground,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    if not foreground:  # a foreground server has stopped by the time start() returns
        render(_describe(server), opts)


@app.command("stop")
@common_options
def stop(
    opts: CommonOptions,
    services: Annotated[
        bool,
        typer.Option(
            "--services",
            help="Stop the local services' replicas too. Without it they keep answering, "
            "unsupervised (nothing restarts a replica that dies) until the server starts again.",
        ),
    ] = False,
) -> None:
    """Stop the background workspace server of $MODELPORT_HOME.

    Local services keep running without it, unsupervised; the next server start supervises
    them again (and restarts those stopped with --services).

    Example: modelport server stop --services
    """
    from modelport.cli import _replicas
    from modelport.server import daemon  # type: ignore[attr-defined,unused-ignore]

    home = default_home()
    stopped = bool(daemon.stop(home))
    running = _replicas.running(home)
    result: dict[str, Any] = {"stopped": stopped, "home": str(home)}
    if services and running:
        _replicas.stop(home)
        result["servicesStopped"] = sorted(running)
        info(f"Stopped {_replicas.describe(running)}.")
    elif running:
        result["servicesLeftRunning"] = sorted(running)
        info(
            f"{_replicas.describe(running)} keep running, unsupervised: they answer requests, but "
            "nothing restarts a replica that dies until the server starts again. "
            "`modelport server stop --services` stops them too."
        )
    render(result, opts)


@app.command("status")
@common_options
def status(opts: CommonOptions) -> None:
    """Show whether the workspace server of $MODELPORT_HOME runs, and where.

    Example: modelport server status -o json --query url
    """
    from modelport.server import daemon  # type: ignore[attr-defined,unused-ignore]

    server = daemon.status(default_home())
    if server is None:
        render({"running": False, "home": str(default_home())}, opts)
    else:
        render(_describe(server), opts)
