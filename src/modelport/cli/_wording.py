"""CLI wording for errors whose text was written for the SDK or the HTTP API.

The SDK speaks Python ("set exist_ok to True"), the server speaks HTTP ("GET operations/{id}",
"keyValue"); a CLI user should read flags and commands. Each rule below rewrites one such phrase,
so the SDK and the server keep their own audiences' wording and the CLI translates at its one
error boundary (:func:`modelport.cli.main.main`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Rule = tuple[re.Pattern[str], Callable[[re.Match[str], str], str]]


def _rules() -> list[Rule]:
    def fixed(text: str) -> Callable[[re.Match[str], str], str]:
        return lambda _match, name: text.replace("NAME", name)

    return [
        (
            re.compile(r"File already exists\. To overwrite, set exist_ok to True\. \((.+?)\)"),
            lambda m, _name: f"{m.group(1)} already exists; add --overwrite to replace it.",
        ),
        (
            re.compile(
                r"More information can be found by calling \.get_logs\(\) on the webservice object\."
            ),
            fixed("Run `modelport service get-logs -n NAME` for the service's log."),
        ),
        (
            re.compile(r"More information can be found using '\.get_logs\(\)'"),
            fixed("More information: `modelport service get-logs -n NAME`"),
        ),
        (
            re.compile(
                r"check it with service\.update_deployment_state\(\) or service\.get_logs\(\)"
            ),
            fixed(
                "check it with `modelport service show -n NAME` or "
                "`modelport service get-logs -n NAME`"
            ),
        ),
        (
            re.compile(r"wait for it to finish \(GET operations/\{id\}\) and retry"),
            fixed("wait for it to finish (`modelport service show -n NAME` shows it) and retry"),
        ),
        (re.compile(r"\bkeyValue must\b"), fixed("--set-key must")),
        (re.compile(r"\bkeyType must be\b"), fixed("--key must be")),
        (re.compile(r"\buse overwrite=True \(--overwrite\)"), fixed("add --overwrite")),
        # pydantic's prefix on a validator's message (Typer's coercion, the server's 422 bodies)
        (re.compile(r"\bValue error, "), fixed("")),
    ]


_RULES = _rules()


def option_value(argv: Sequence[str], *names: str) -> str | None:
    """The value given to one of the option ``names`` in ``argv`` (``-n x``, ``--name=x``)."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def for_cli(message: str, argv: Sequence[str]) -> str:
    """``message`` with SDK and HTTP API phrases replaced by the CLI's flags and commands."""
    name = option_value(argv, "-n", "--name") or "NAME"
    for pattern, replace in _RULES:
        message = pattern.sub(lambda m, r=replace: r(m, name), message)  # type: ignore[misc]
    return message
