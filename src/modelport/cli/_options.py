"""Global options of every command (as in ``az ml``) and the workspace/client they resolve to.

Decorate a command with :func:`common_options` and give it a parameter ``opts: CommonOptions``;
the decorator adds ``-w/--workspace-name``, ``--path``, ``-o/--output`` and ``--query`` to the
command's signature and hands them over bundled::

    @app.command("list")
    @common_options
    def list_(opts: CommonOptions, name: Annotated[str | None, typer.Option(...)] = None) -> None:
        ws = opts.workspace()
        render_items((m.serialize() for m in Model._iter(ws, name=name)), opts, columns=COLUMNS)
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from modelport.errors import UserError

if TYPE_CHECKING:  # imported when a command first needs them: `--help` and usage errors skip httpx
    from modelport.sdk import _config
    from modelport.sdk._http import Client
    from modelport.sdk.workspace import Workspace

DEFAULT_WORKSPACE = "default"
PANEL = "Global options"
F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    tsv = "tsv"
    none = "none"


@dataclass
class CommonOptions:
    """The global options of one invocation and the objects they resolve to (built once)."""

    workspace_name: str | None = None
    path: Path | None = None
    output: OutputFormat = OutputFormat.table
    query: str | None = None
    _client: Client | None = field(default=None, repr=False)
    _found: _config.WorkspaceConfig | None = field(default=None, repr=False)

    def config(self, *, required: bool = False) -> _config.WorkspaceConfig | None:
        """The config file found from ``--path`` (or the cwd), or None if there is none.

        ``required``: a missing file is an error when ``--path`` names the folder to use.
        """
        from modelport.sdk import _config

        if self._found is None:
            try:
                self._found = _config.find_config(self.path)
            except _config.ConfigNotFound:
                if required and self.path is not None:
                    raise
                return None
        return self._found

    def client(self) -> Client:
        """The HTTP client: MODELPORT_URL, else the config file's server, else the local server."""
        from modelport.sdk._http import Client

        if self._client is None:
            config = self.config()
            self._client = Client.resolve(
                config.server_url if config else None,
                config.server_token if config else None,
                progress=_progress(),
            )
        return self._client

    def workspace(self, fallback: str | None = None) -> Workspace:
        """``-w``, else ``fallback`` (a metadata file's), else the config file's, else ``default``."""
        from modelport.sdk.workspace import Workspace

        name = self.workspace_name or fallback
        if not name:
            config = self.config(required=True)
            name = config.workspace_name if config else DEFAULT_WORKSPACE
        return Workspace(name, _client=self.client())


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None
    from modelport.cli._progress import RichTransferProgress

    return RichTransferProgress()


WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace-name",
        "-w",
        help="Workspace to use. Default: the one named in .modelport/config.json (see --path), "
        "else 'default'.",
        show_default=False,
        metavar="NAME",
        rich_help_panel=PANEL,
    ),
]
PathOption = Annotated[
    Path | None,
    typer.Option(
        "--path",
        help="Project folder whose .modelport/config.json (or v1 .azureml/config.json) to use. "
        "Default: the current folder and its parents.",
        show_default=False,
        metavar="DIR",
        rich_help_panel=PANEL,
    ),
]
OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output", "-o", help="Output format.", case_sensitive=False, rich_help_panel=PANEL
    ),
]
QueryOption = Annotated[
    str | None,
    typer.Option(
        "--query",
        help='JMESPath query applied to the result, e.g. "[].id" or "{id:id,tags:tags}".',
        show_default=False,
        metavar="JMESPATH",
        rich_help_panel=PANEL,
    ),
]

_COMMON: list[inspect.Parameter] = [
    inspect.Parameter(
        "common_workspace_name",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=WorkspaceOption,
    ),
    inspect.Parameter(
        "common_path", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=PathOption
    ),
    inspect.Parameter(
        "common_output",
        inspect.Parameter.KEYWORD_ONLY,
        default=OutputFormat.table,
        annotation=OutputOption,
    ),
    inspect.Parameter(
        "common_query", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=QueryOption
    ),
]


def common_options(func: F) -> F:
    """Add the global options to a command; it receives them as ``opts: CommonOptions``."""
    hints = typing.get_type_hints(func, include_extras=True)
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(func).parameters.values()
        if p.name != "opts"
    ]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        opts = CommonOptions(
            workspace_name=kwargs.pop("common_workspace_name"),
            path=kwargs.pop("common_path"),
            output=kwargs.pop("common_output"),
            query=kwargs.pop("common_query"),
        )
        return func(opts=opts, **kwargs)

    params = own + _COMMON
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # Typer must see the new signature, not the wrapped one
    return typing.cast(F, wrapper)


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """``["k=v", …]`` from repeated ``--tag``/``--property`` options into a dict."""
    result: dict[str, str] = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UserError(f"{what} must be given as key=value, got {value!r}.")
        result[key] = val
    return result


def parse_filters(values: list[str] | None) -> list[Any] | None:
    """``["k", "k2=v"]`` from ``--tag`` filters into v1's ``['k', ['k2', 'v']]`` form."""
    if not values:
        return None
    items: list[Any] = []
    for value in values:
        key, sep, val = value.partition("=")
        items.append([key, val] if sep else key)
    return items
