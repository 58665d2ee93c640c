"""The source directory of a deployment as a list of files to upload (content-addressed blobs).

Ignore rules: ``.amlignore`` if the folder has one, else ``.gitignore`` (gitignore syntax, the
common subset: ``#`` comments, ``!`` negation, trailing ``/`` for folders, a ``/`` inside a pattern
anchors it to the root); version-control folders and Python caches are always left out. The
how-to article says deploys ignore neither file, the AKS article says both are honoured: honouring
them keeps secrets and virtual environments out of the app root, which is what users expect.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import UserError
from modelport.sdk import _model_files
from modelport.sdk._http import Client
from modelport.specs.inference import InferenceSpec

ALWAYS_IGNORED = (".git/", ".hg/", ".svn/", "__pycache__/", "*.pyc", ".ipynb_checkpoints/")
IGNORE_FILES = (".amlignore", ".gitignore")
# Properties that let a later reload find the files again on the machine that deployed them.
PROP_SOURCE_DIR = "modelport.sourceDirectory"
PROP_ENTRY_SCRIPT = "modelport.entryScript"


@dataclass(frozen=True)
class _Rule:
    pattern: str
    negate: bool
    dir_only: bool
    anchored: bool

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.anchored:
            return fnmatch.fnmatchcase(rel, self.pattern)
        return fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], self.pattern)


def _parse_rules(lines: list[str]) -> list[_Rule]:
    rules = []
    for raw in lines:
        line = raw.rstrip("\n").rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        line = line.lstrip("/")
        if line.startswith("**/"):
            line, anchored = line[3:], "/" in line[3:]
        if line:
            rules.append(_Rule(line, negate, dir_only, anchored))
    return rules


def ignore_rules(root: Path) -> list[_Rule]:
    """The built-in rules, then the folder's .amlignore (or, without one, its .gitignore)."""
    lines = list(ALWAYS_IGNORED)
    for name in IGNORE_FILES:
        file = root / name
        if file.is_file():
            lines += file.read_text(encoding="utf-8", errors="replace").splitlines()
            break
    return _parse_rules(lines)


def _ignored(rules: list[_Rule], rel: str, is_dir: bool) -> bool:
    result = False
    for rule in rules:
        if rule.matches(rel, is_dir):
            result = not rule.negate
    return result


def source_files(root: Path) -> list[tuple[Path, str]]:
    """``(local file, relative posix path)`` of every file under ``root`` that is not ignored."""
    rules = ignore_rules(root)
    pairs: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        base = Path(folder)
        prefix = base.relative_to(root).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        dirs[:] = sorted(d for d in dirs if not _ignored(rules, prefix + d, True))
        for name in sorted(files):
            rel = prefix + name
            local = base / name
            if _ignored(rules, rel, False):
                continue
            if not local.is_file():
                raise UserError(f"The source file {local} cannot be read (a broken link?).")
            if not local.resolve().is_relative_to(root.resolve()):
                # A link out of the folder would upload a file the user never meant to deploy.
                raise UserError(
                    f"The source file {local} is a link to a file outside the source directory "
                    f"{root}; copy the file into the folder or remove the link."
                )
            pairs.append((local, rel))
    return pairs


def snapshot_pairs(spec: InferenceSpec) -> list[tuple[Path, str]]:
    """What a deployment uploads: the whole source directory, else the entry script alone."""
    root = spec.source_root
    if root is None:
        script = spec.entry_script_path
        return [(script, script.name)]
    pairs = source_files(root)
    entry = spec.entry_script_in_source
    if entry not in {rel for _, rel in pairs}:
        raise UserError(
            f"The entry script {entry} is excluded from the source directory {root} by an ignore "
            "rule (.amlignore or .gitignore): it must be uploaded."
        )
    return pairs


def upload_snapshot(client: Client, workspace: str, spec: InferenceSpec) -> list[dict[str, Any]]:
    """Upload the files the server does not have yet; the file list for ``sourceSnapshot``."""
    return _model_files.upload(client, workspace, snapshot_pairs(spec))


def source_properties(spec: InferenceSpec) -> dict[str, str]:
    """Where the files came from, so that ``reload()`` can send them again."""
    if spec.source_root is not None:
        return {
            PROP_SOURCE_DIR: str(spec.source_root),
            PROP_ENTRY_SCRIPT: spec.entry_script_in_source,
        }
    return {PROP_SOURCE_DIR: "", PROP_ENTRY_SCRIPT: str(spec.entry_script_path)}


def spec_from_properties(properties: dict[str, str]) -> InferenceSpec | None:
    """The inference spec a reload re-snapshots, from the properties a deploy recorded."""
    folder = properties.get(PROP_SOURCE_DIR)
    entry = properties.get(PROP_ENTRY_SCRIPT)
    if not entry:
        return None
    if folder:
        if not Path(folder).is_dir():
            raise UserError(
                f"The source directory {folder} this service was deployed from is not on this "
                "machine: reload from the machine that deployed it, or update with a new "
                "inference configuration."
            )
        return InferenceSpec(entry_script=entry, source_directory=folder, base_dir="/")
    if not Path(entry).is_file():
        raise UserError(f"The entry script {entry} this service was deployed from is gone.")
    return InferenceSpec(entry_script=Path(entry).name, base_dir=str(Path(entry).parent))
