"""Fixtures shared with the CLI tests: ``project`` (a folder attached to a fresh workspace)."""

from tests.cli.conftest import project  # noqa: F401  (re-exported fixture)
