"""An empty list table says why on stderr; JSON and TSV stay machine-readable (``[]``, nothing)."""

from __future__ import annotations

import json

from tests.cli.conftest import Project


def test_target_list_without_targets_names_the_attach_command(project: Project) -> None:
    table = project.run("target", "list")
    assert table.returncode == 0, table.stderr
    assert table.stdout == ""
    assert "No compute targets" in table.stderr
    assert "`modelport target attach kubernetes -n NAME --kubeconfig FILE`" in table.stderr
    assert len(table.stderr.strip().splitlines()) == 1
    as_json = project.run("target", "list", "-o", "json")
    assert (json.loads(as_json.stdout), as_json.stderr) == ([], "")
    as_tsv = project.run("target", "list", "-o", "tsv")
    assert (as_tsv.stdout, as_tsv.stderr) == ("", "")
