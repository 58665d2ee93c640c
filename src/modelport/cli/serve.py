"""``modelport serve``: the standalone inference server (the ``azmlinfsrv`` equivalent).

Every argument, ``--help`` included, goes untouched to ``modelport.serving.__main__.main``, which
is imported only when the command runs so the rest of the CLI never loads the serving stack.
"""

from __future__ import annotations

import typer

from modelport.errors import UserError

HELP = """Run an entry script in the inference server, as `azmlinfsrv` does (local debugging, CI).

All arguments go to the inference server; `modelport serve --help` shows them.

Example: modelport serve --entry-script score.py --model-dir ./model --port 5001
"""


def register(app: typer.Typer) -> None:
    app.command(
        "serve",
        help=HELP,
        short_help="Run an entry script in the inference server (like azmlinfsrv).",
        add_help_option=False,
        context_settings={
            "allow_extra_args": True,
            "ignore_unknown_options": True,
            "help_option_names": [],
        },
    )(serve)


def serve(ctx: typer.Context) -> None:
    try:
        from modelport.serving.__main__ import (  # type: ignore[import-not-found,unused-ignore]
            main as serving_main,
        )
    except ModuleNotFoundError as exc:
        raise UserError(
            f"The inference server is not available in this installation ({exc})."
        ) from None
    code = serving_main(list(ctx.args))
    raise typer.Exit(code if isinstance(code, int) else 0)
