"""``modelport service telemetry|data|metrics``: what a running service reports (docs/observe.md).

Registered on the ``service`` group by :func:`register`; each command is a thin skin over the SDK.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import render_items
from modelport.errors import UserError


def _webservice(opts: CommonOptions, name: str) -> Any:
    """Imported when a command runs: loading the service group must stay cheap (`service list`)."""
    from modelport.sdk.webservice import Webservice

    return Webservice(opts.workspace(), name)


NameOption = Annotated[str, typer.Option("--name", "-n", help="Service name.")]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", help="Only what happened in this window (30s, 15m, 1h, 2d) or since an ISO time."
    ),
]

AppInsightsOption = Annotated[
    str | None,
    typer.Option("--ai", "--enable-app-insights", metavar="true|false", show_default=False,
                 help="Record requests, traces and exceptions (appInsightsEnabled; docs/observe.md)."),
]  # fmt: skip
CollectOption = Annotated[
    str | None,
    typer.Option("--collect-model-data", metavar="true|false", show_default=False,
                 help="Store ModelDataCollector rows (dataCollection.storageEnabled; docs/observe.md)."),
]  # fmt: skip


def update_fields(app_insights: str | None, collect_model_data: str | None) -> dict[str, bool]:
    """``--ai`` / ``--collect-model-data`` of ``service update`` as deployment-config fields."""
    out: dict[str, bool] = {}
    for flag, field, value in (("--ai", "enable_app_insights", app_insights),
                               ("--collect-model-data", "collect_model_data", collect_model_data)):  # fmt: skip
        if value is None:
            continue
        v = value.strip().lower()
        if v not in ("true", "false"):
            raise UserError(f"{flag}: {value!r} is not true or false")
        out[field] = v == "true"
    return out


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
    service = _webservice(opts, name)
    items = service.get_telemetry(
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
    hint = _telemetry_hint(service, name, since, request_id) if not items else None
    render_items(items, opts, columns=columns, empty_hint=hint)


def _telemetry_hint(service: Any, name: str, since: str | None, request_id: str | None) -> str:
    """Why a telemetry table is empty: recording is off, or nothing matched yet."""
    if not (service.deployment_config or {}).get("appInsightsEnabled"):
        return (
            f"No telemetry: service {name} does not record it (appInsightsEnabled is off). "
            f"Turn it on with `modelport service update -n {name} --ai true`."
        )
    if request_id:
        return f"No telemetry records for request {request_id} of service {name}."
    if not since:
        window = ""
    elif since[:-1].isdigit():  # 30s, 15m, 1h, 2d
        window = f" in the last {since}"
    else:
        window = f" since {since}"
    return f"No telemetry records for service {name}{window} yet (try a longer --since)."


def data(
    opts: CommonOptions,
    name: NameOption,
    designation: Annotated[
        str, typer.Option("--designation", help="inputs, predictions, labels, signals or general.")
    ] = "inputs",
    since: SinceOption = "1d",
    model: Annotated[str | None, typer.Option("--model", help="Only this model's rows.")] = None,
    join: Annotated[
        str | None,
        typer.Option(
            "--join", help="Add another designation's columns by request id (predictions)."
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="csv (to stdout or --file), parquet (--file) or table."
        ),
    ] = "csv",
    file: Annotated[
        Path | None, typer.Option("--file", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Read the rows ModelDataCollector collected (deploy with collect_model_data: true).

    Examples: `modelport service data -n digits-svc --designation inputs --since 1d --join predictions`
    and `modelport service data -n digits-svc --format parquet --file inputs.parquet`
    """
    if fmt not in ("csv", "parquet", "table"):
        raise UserError(f"--format: {fmt!r} is not one of csv, parquet, table")
    service = _webservice(opts, name)
    if fmt == "csv":
        text = service.get_model_data(designation=designation, since=since, model=model, join=join,
                                      format="csv")  # fmt: skip
        if file is None:
            sys.stdout.write(text)
        else:
            file.write_text(text, encoding="utf-8")
        return
    table = service.get_model_data(designation=designation, since=since, model=model, join=join)
    if fmt == "table":
        items = [dict(zip(table["columns"], row, strict=False)) for row in table["rows"]]
        render_items(items, opts, columns=table["columns"] or None)
        return
    if file is None:
        raise UserError("--format parquet needs --file PATH")
    try:
        import pandas as pd

        pd.DataFrame(table["rows"], columns=table["columns"] or None).to_parquet(file)
    except ImportError as exc:
        raise UserError(f"--format parquet needs pandas and pyarrow installed ({exc})") from None


METRIC_COLUMNS = ["time", "requestsPerSecond", "p50Ms", "p95Ms", "p99Ms", "errors", "rejected503",
                  "timeouts504", "inFlight", "restarts"]  # fmt: skip


def sparkline(values: list[float | None]) -> str:
    """A one-line chart: one block per point, scaled to the largest."""
    marks = "▁▂▃▄▅▆▇█"
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    return "".join(" " if v is None else marks[min(7, int(v / top * 7))] for v in values)


def metrics(opts: CommonOptions, name: NameOption, since: SinceOption = "15m") -> None:
    """A service's figures across its replicas: requests/s, latency, errors, rejections, restarts.

    The workspace server scrapes every replica and keeps about an hour. With `-o table` (the
    default) a chart of requests/s and p95 comes first. Example:
    `modelport service metrics -n digits-svc --since 15m`
    """
    import datetime as dt

    points = _webservice(opts, name).get_metrics(since=since)
    for p in points:
        p["time"] = dt.datetime.fromtimestamp(p["time"], tz=dt.UTC).strftime("%H:%M:%S")
    if opts.output.value == "table" and not opts.query and points:
        rps = [p["requestsPerSecond"] for p in points]
        p95 = [p["p95Ms"] for p in points]
        peak_p95 = max((v for v in p95 if v is not None), default=0.0)
        sys.stdout.write(f"requests/s {sparkline(rps)}  last {rps[-1]:g}, peak {max(rps):g}\n")
        sys.stdout.write(
            f"p95 ms     {sparkline(p95)}  last {p95[-1] or 0:g}, peak {peak_p95:g}\n\n"
        )
    render_items(points, opts, columns=METRIC_COLUMNS)


def register(app: typer.Typer) -> None:
    """Add the observe commands to the ``service`` group."""
    app.command("telemetry")(common_options(telemetry))
    app.command("data")(common_options(data))
    app.command("metrics")(common_options(metrics))
