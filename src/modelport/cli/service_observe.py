"""``modelport service telemetry``: what a running service reports (docs/observe.md).

Registered on the ``service`` group by :func:`register`; each command is a thin skin over the SDK.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import render_items
from modelport.sdk.webservice import Webservice

NameOption = Annotated[str, typer.Option("--name", "-n", help="Service name.")]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", help="Only what happened in this window (30s, 15m, 1h, 2d) or since an ISO time."
    ),
]

REQUEST_COLUMNS = ["time", "requestId", "method", "status", "durationMs", "replica", "models"]
TEXT_COLUMNS = ["time", "kind", "requestId", "replica", "message"]


def telemetry(
    opts: CommonOptions,
    name: NameOption,
    requests: Annotated[bool, typer.Option("--requests", help="Scoring requests.")] = False,
    traces: Annotated[
        bool, typer.Option("--traces", help="print/logging output of run().")
    ] = False,
    exceptions: Annotated[
        bool, typer.Option("--exceptions", help="Exceptions raised by run(), with traceback.")
    ] = False,
    since: SinceOption = "1h",
    failed: Annotated[bool, typer.Option("--failed", help="Only requests answered ≥ 400.")] = False,
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="Everything about one request.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")
    ] = 100,
) -> None:
    """Show a service's request telemetry, newest first (deploy with appInsightsEnabled: true).

    Without --requests/--traces/--exceptions all three are shown. Examples:
    `modelport service telemetry -n digits-svc --requests --failed --since 15m` and
    `modelport service telemetry -n digits-svc --request-id 0f9c… -o json`
    """
    kinds = [
        k
        for k, on in (("requests", requests), ("traces", traces), ("exceptions", exceptions))
        if on
    ]
    if failed and not kinds:
        kinds = ["requests"]
    items = Webservice(opts.workspace(), name).get_telemetry(
        kinds=kinds or None,
        since=None if request_id and since == "1h" else since,
        failed=failed,
        request_id=request_id,
        limit=limit,
    )
    columns = REQUEST_COLUMNS if kinds == ["requests"] else TEXT_COLUMNS
    if kinds != ["requests"]:
        for item in items:
            if item["kind"] == "request":
                item["message"] = (
                    f"{item['method']} {item['path']} → {item['status']} in {item['durationMs']} ms"
                )
    render_items(items, opts, columns=columns)


def register(app: typer.Typer) -> None:
    """Add the observe commands to the ``service`` group."""
    app.command("telemetry")(common_options(telemetry))
