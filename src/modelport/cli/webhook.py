"""``modelport webhook create|list|show|delete|rotate-secret|deliveries|redeliver`` (docs/observe.md).

The Event Grid equivalent: events of a workspace POSTed to your URL, signed, retried for 24 h.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelport.cli._options import CommonOptions, common_options
from modelport.cli._output import render, render_items

if TYPE_CHECKING:
    from modelport.sdk.webhooks import Webhook

app = typer.Typer(
    help="Send a workspace's events (ModelRegistered, ModelDeployed, RunCompleted, "
    "RunStatusChanged, ServiceStateChanged) to your URL, signed with HMAC-SHA256.\n\n"
    "Start with `modelport webhook create -n ci --url https://ci.example/hook --event-type "
    "ModelRegistered`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

NameOption = Annotated[str, typer.Option("--name", "-n", help="Webhook name.")]
LIST_COLUMNS = ["name", "url", "eventTypes", "schema"]
DELIVERY_COLUMNS = ["id", "eventType", "subject", "state", "attempts", "lastStatus", "eventTime"]


def _hook(opts: CommonOptions, name: str) -> Webhook:
    from modelport.sdk.webhooks import Webhook

    return Webhook(opts.workspace(), name)


@app.command("create")
@common_options
def create(
    opts: CommonOptions,
    name: NameOption,
    url: Annotated[str, typer.Option("--url", help="Where events are POSTed (http or https).")],
    event_type: Annotated[
        list[str] | None,
        typer.Option(
            "--event-type",
            help="Only this type (repeatable; default every type), e.g. ModelRegistered.",
        ),
    ] = None,
    subject_begins_with: Annotated[
        str | None,
        typer.Option(
            "--subject-begins-with", help="Only subjects with this prefix, e.g. models/digits:"
        ),
    ] = None,
    schema: Annotated[
        str, typer.Option("--schema", help="eventgrid (an array of one event) or cloudevents.")
    ] = "eventgrid",
    secret: Annotated[
        str | None,
        typer.Option("--secret", help="Signing secret (16-256 characters); default a random one."),
    ] = None,
) -> None:
    """Subscribe a URL to the workspace's events; prints the signing secret once.

    Example: `modelport webhook create -n ci --url https://ci.example/hook --event-type ModelRegistered`
    """
    from modelport.sdk.webhooks import Webhook

    answer = Webhook.create(opts.workspace(), name, url, event_types=event_type,
                            subject_begins_with=subject_begins_with, schema=schema, secret=secret)  # fmt: skip
    render(answer, opts)


@app.command("list")
@common_options
def list_(opts: CommonOptions) -> None:
    """List the workspace's webhooks. Example: `modelport webhook list -o table`"""
    from modelport.sdk.webhooks import Webhook

    render_items(Webhook.list(opts.workspace()), opts, columns=LIST_COLUMNS)


@app.command("show")
@common_options
def show(opts: CommonOptions, name: NameOption) -> None:
    """Show one webhook (never its secret). Example: `modelport webhook show -n ci`"""
    render(_hook(opts, name).get(), opts)


@app.command("delete")
@common_options
def delete(opts: CommonOptions, name: NameOption) -> None:
    """Delete a webhook and its delivery log. Example: `modelport webhook delete -n ci`"""
    _hook(opts, name).delete()


@app.command("rotate-secret")
@common_options
def rotate_secret(
    opts: CommonOptions,
    name: NameOption,
    secret: Annotated[
        str | None, typer.Option("--secret", help="The new secret; default a random one.")
    ] = None,
) -> None:
    """Replace the signing secret; later deliveries are signed with the new one.

    Example: `modelport webhook rotate-secret -n ci --query secret -o tsv`
    """
    render({"name": name, "secret": _hook(opts, name).rotate_secret(secret)}, opts)


@app.command("deliveries")
@common_options
def deliveries(
    opts: CommonOptions,
    name: NameOption,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="At most this many.")
    ] = 100,
) -> None:
    """The delivery log, newest first (-o json shows every attempt).

    Example: `modelport webhook deliveries -n ci -o json`
    """
    render_items(_hook(opts, name).deliveries(limit), opts, columns=DELIVERY_COLUMNS)


@app.command("redeliver")
@common_options
def redeliver(
    opts: CommonOptions,
    name: NameOption,
    delivery_id: Annotated[
        int, typer.Option("--delivery-id", help="From `modelport webhook deliveries`.")
    ],
) -> None:
    """Send one delivery again (a Failed one, or one the receiver lost).

    Example: `modelport webhook redeliver -n ci --delivery-id 42`
    """
    render(_hook(opts, name).redeliver(delivery_id), opts)
