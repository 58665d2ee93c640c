"""The ``modelport`` command: one Typer app, one sub-app per command group, one error boundary.

Adding a command group: write ``cli/<group>.py`` with ``app = typer.Typer(...)`` and add one line
to ``_GROUPS`` below. A group's module is imported only when that group runs (or when a help
listing needs its summary), so `modelport model list` never loads the deploy, env or server
code. Every error that reaches :func:`main` becomes one line on stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

# httpx's package imports its own command-line tool (click, rich, pygments: ~60 ms) unless that
# module is known to be missing; this process never runs it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

from modelport import __version__  # noqa: E402
from modelport.cli._params import use_plain_coercion  # noqa: E402
from modelport.errors import ModelportError  # noqa: E402

# Typer vendors its own click: take the exception classes from where typer.BadParameter lives.
_click_errors = sys.modules[typer.BadParameter.__module__]
UsageError: type[Exception] = _click_errors.UsageError
ClickException: type[Exception] = _click_errors.ClickException

HELP = """Deploy machine learning models as web services on your own machines.

The commands and flags follow Azure ML v1's `az ml`: register a model, deploy it, test it.

Example: modelport model register -n digits -p model.pkl --tag team=vision
"""

# (group name, module defining `app`): one line per group, in the order `--help` lists them.
_GROUPS: list[tuple[str, str]] = [
    ("server", "modelport.cli.server"),
    ("workspace", "modelport.cli.workspace"),
    ("folder", "modelport.cli.folder"),
    ("model", "modelport.cli.model"),
    ("env", "modelport.cli.env"),
    ("service", "modelport.cli.service"),
    ("webhook", "modelport.cli.webhook"),
    ("target", "modelport.cli.target"),
    ("studio", "modelport.cli.studio"),
    ("batch", "modelport.cli.batch"),
]


_HELP_NAMES = ["-h", "--help"]


class LazyGroups(TyperGroup):
    """The root command: each of ``_GROUPS`` is imported and built on first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        use_plain_coercion(self, _HELP_NAMES)

    def list_commands(self, ctx: Any) -> list[str]:
        own = [name for name in super().list_commands(ctx) if name not in dict(_GROUPS)]
        return own + [name for name, _ in _GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            module = dict(_GROUPS).get(cmd_name)
            if module is None:
                return super().get_command(ctx, cmd_name)
            sub_app = importlib.import_module(module).app
            # As app.add_typer() would build it: the root's markup mode, the group's own help.
            group = typer.main.get_group_from_info(
                typer.models.TyperInfo(sub_app, name=cmd_name),
                pretty_exceptions_short=sub_app.pretty_exceptions_short,
                suggest_commands=sub_app.suggest_commands,
                rich_markup_mode=app.rich_markup_mode,
            )
            use_plain_coercion(group, _HELP_NAMES)
            self.commands[cmd_name] = group
        return self.commands[cmd_name]


app = typer.Typer(
    name="modelport",
    cls=LazyGroups,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": _HELP_NAMES},
)

# `modelport serve`: a pass-through to the inference server (its own flags and --help).
from modelport.cli import serve as _serve  # noqa: E402

_serve.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modelport {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Deploy machine learning models as web services on your own machines."""


def error_line(message: str, argv: list[str] | None = None) -> None:
    """Print ``Error: <message>`` in red on stderr (one line, no markup interpretation), in the
    CLI's words: SDK and HTTP API phrases become flags and commands (cli/_wording.py)."""
    from rich.console import Console
    from rich.text import Text

    from modelport.cli._wording import for_cli

    text = Text("Error: ", style="bold red")
    line = for_cli(message, sys.argv[1:] if argv is None else argv)
    text.append(" ".join(line.split()), style="red")
    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exit 0, 1 (error), 2 (usage) or 130 (interrupted)."""
    debug = os.environ.get("MODELPORT_DEBUG") == "1"
    try:
        code = app(args=argv, prog_name="modelport", standalone_mode=False)
    except UsageError as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())  # `modelport model` alone: show the group's help
            code = 0
        else:
            where = ctx.command_path if ctx is not None else "modelport"
            message = str(exc.format_message()).strip()  # type: ignore[attr-defined]
            if not message.endswith((".", "?", "!")):
                message += "."
            error_line(f"{message} See '{where} --help'.", argv)
            code = 2
    except ClickException as exc:
        error_line(str(exc.format_message()), argv)  # type: ignore[attr-defined]
        code = int(getattr(exc, "exit_code", 1))
    except typer.Abort:
        error_line("Aborted.")
        code = 1
    except typer.Exit as exc:
        code = exc.exit_code
    except ModelportError as exc:
        if debug:
            raise
        error_line(exc.message, argv)
        code = 1
    except KeyboardInterrupt:
        error_line("Interrupted.")
        code = 130
    except BrokenPipeError:
        # `modelport model list | head`: the reader went away; that is not an error.
        sys.stderr.close()
        code = 0
    except Exception as exc:
        if debug:
            raise
        error_line(
            f"Unexpected {type(exc).__name__}: {exc}. Run again with MODELPORT_DEBUG=1 for the "
            "traceback and report it."
        )
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
