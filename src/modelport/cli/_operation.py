"""Following a service operation on the terminal and its outcome: the live progress display of
``model deploy`` and ``service update/reload`` (stderr), then exit 0 with the service shown when
it is Healthy, or the cause, the log tail and exit 1.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import typer

from modelport.cli._deploy_inputs import err_console, styled
from modelport.cli._options import CommonOptions, OutputFormat
from modelport.cli._output import render

if TYPE_CHECKING:  # Rich and the SDK load when an operation is followed, not on import
    from rich.live import Live

    from modelport.sdk import _follow
    from modelport.sdk.webservice import Webservice

TAIL_LINES = 15


# -- following an operation ------------------------------------------------------------------


class ProgressDisplay:
    """Renders the events of :func:`modelport.sdk._follow.follow` on stderr."""

    def __init__(self, service: str, action: str) -> None:
        from rich.spinner import Spinner

        self.console = err_console()
        self.live_mode = self.console.is_terminal
        self.service = service
        self.action = action
        self.started = time.monotonic()
        self.state = "Running"
        self.last_line = ""
        self._live: Live | None = None
        self._spinner = Spinner("dots")

    def __enter__(self) -> ProgressDisplay:
        self.console.print(styled(f"{self.action} {self.service} …", "bold"))
        if self.live_mode:
            from rich.live import Live

            self._live = Live(self, console=self.console, refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def __rich__(self) -> Any:
        """Called on every refresh, so the elapsed time runs between events too."""
        elapsed = time.monotonic() - self.started
        text = styled(f"{self.action}: {self.state}  {elapsed:5.1f}s", "cyan")
        if self.last_line:
            width = max(20, self.console.width - len(text) - 6)
            text.append(f"  {self.last_line[:width]}", style="dim")
        self._spinner.update(text=text)
        return self._spinner

    def event(self, event: _follow.Event) -> None:
        if event.kind == "log":
            self.last_line = event.line
            self.console.print(styled("  " + event.line, "dim"))
        elif event.operation is not None:
            self.state = str(event.operation.get("state"))
            step = event.operation.get("step")
            if not self.live_mode:
                suffix = f" ({step})" if step else ""
                self.console.print(f"{self.action}: {self.state}{suffix}")
        if self._live is not None:
            self._live.refresh()


def follow_operation(service: Webservice, action: str) -> dict[str, Any]:
    """Follow the service's current operation with the display; the final operation document."""
    from modelport.sdk import _follow

    operation: dict[str, Any] = {}
    assert service._operation_id is not None
    try:
        with ProgressDisplay(service.name, action) as display:
            for event in _follow.follow(
                service.workspace._client,
                service.workspace.name,
                service.name,
                service._operation_id,
            ):
                display.event(event)
                if event.operation is not None:
                    operation = event.operation
    except KeyboardInterrupt:
        err_console().print(
            f"Stopped following; operation {service._operation_id} goes on. Check it with "
            f"`modelport service show -n {service.name}`."
        )
        raise
    return operation


def finish(service: Webservice, operation: dict[str, Any], opts: CommonOptions) -> None:
    """Exit 0 with the service shown when Healthy; else the cause, the log tail, exit 1."""
    service.update_deployment_state()
    console = err_console()
    if operation.get("state") == "Succeeded" and service.state == "Healthy":
        elapsed = _elapsed(operation)
        console.print(
            styled(f"{service.name} is Healthy{elapsed}: {service.scoring_uri}", "bold green")
        )
        render(summary(service, opts), opts)
        return
    failure = service.failure(operation)
    cause = failure.code or "Failed"
    message = " ".join(str((failure.error or {}).get("message") or "no message").split())
    if service.state == "Healthy":
        # A failed update or reload: the server kept the previous revision serving.
        kind = str(operation.get("kind") or "operation").lower()
        line = (
            f"Error: the {kind} of {service.name} failed: {cause}: {message} "
            f"(revision {service.revision} keeps serving)"
        )
    else:
        line = f"Error: {service.name} is {service.state}: {cause}: {message}"
    console.print(styled(line, "bold red"))
    if failure.logs_tail:
        console.print(styled("Log tail:", "red"))
        for line in failure.logs_tail[-TAIL_LINES:]:
            console.print(styled("  " + line))
    console.print(f"Run `modelport service get-logs -n {service.name}` for the whole log.")
    raise typer.Exit(1)


def summary(service: Webservice, opts: CommonOptions) -> dict[str, Any]:
    """The whole service for -o json/yaml/tsv or --query; the essentials for a table."""
    data = service.serialize()
    if opts.output is not OutputFormat.table or opts.query:
        return data
    keep = ("name", "state", "scoringUri", "swaggerUri", "models", "revision", "operationId")
    return {key: data[key] for key in keep}


def _elapsed(operation: dict[str, Any]) -> str:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(str(operation["startTime"]))
        end = datetime.fromisoformat(str(operation["endTime"]))
    except (KeyError, TypeError, ValueError):
        return ""
    return f" after {max(0.0, (end - start).total_seconds()):.1f}s"
