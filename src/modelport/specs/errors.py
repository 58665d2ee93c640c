"""The error raised for a bad configuration, and the "did you mean" helper behind its messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from modelport.errors import UserError


class ConfigError(UserError):
    """A configuration file or SDK call is invalid; the message names each bad key (HTTP 400)."""

    code = "InvalidConfiguration"

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        text = "; ".join(self.problems)
        super().__init__(f"{source}: {text}" if source else text)


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate a typo most likely meant: same spelling in another case, else the nearest."""
    options = list(candidates)
    for option in options:
        if option.lower() == word.lower():
            return option
    # compare leaf names too, so "containerResourceRequirements.cpus" finds ".cpu"
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {o.lower(): o for o in options}
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[matches[0]] if matches else None


def unknown_key_message(key: str, candidates: Iterable[str], what: str) -> str:
    guess = closest(key, candidates)
    hint = f"; did you mean '{guess}'?" if guess else ""
    return f"unknown key '{key}' in {what}{hint}"


class ConfigWarning(UserWarning):
    """A configuration value was accepted but modelport does not act on it yet."""
