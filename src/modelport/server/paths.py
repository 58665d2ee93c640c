"""Validation of the relative file paths carried by model and run file lists."""

from __future__ import annotations

import re

from modelport.errors import UserError

MAX_PATH_BYTES = 1024
MAX_COMPONENT_BYTES = 255  # NAME_MAX of every common file system: longer can never be written
_DRIVE = re.compile(r"^[A-Za-z]:")
SHA256 = re.compile(r"[0-9a-f]{64}")


def check_relative_path(path: str) -> str:
    """Return ``path`` if it is a safe relative POSIX path; raise 400 naming the problem otherwise."""
    problem = _problem(path)
    if problem:
        raise UserError(f"file path {path!r} refused: {problem}")
    return path


def _problem(path: str) -> str | None:
    if not path:
        return "empty"
    if "\x00" in path:
        return "contains a NUL byte"
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if size > MAX_PATH_BYTES:
        return f"longer than {MAX_PATH_BYTES} bytes"
    if "\\" in path:
        return "contains a backslash (use '/')"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    if path.startswith("/"):
        return "absolute"
    parts = path.split("/")
    if ".." in parts:
        return "contains '..'"
    if any(p in ("", ".") for p in parts):
        return "has an empty or '.' component"
    if any(ord(c) < 32 for c in path):
        return "contains a control character"
    if any(len(p.encode("utf-8")) > MAX_COMPONENT_BYTES for p in parts):
        return f"has a component longer than {MAX_COMPONENT_BYTES} bytes"
    return None


def check_tree(paths: list[str]) -> None:
    """400 unless the paths can all exist at once on disk: none is both a file and the folder
    of another (``a/b`` and ``a/b/c``), which a deploy could otherwise only find out later."""
    files = set(paths)
    for path in paths:
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in files:
                raise UserError(
                    f"file path {folder!r} refused: it is a file and also the folder of {path!r}"
                )


def check_sha256(value: str) -> str:
    if not SHA256.fullmatch(value):
        raise UserError(f"sha256 {value!r} is not 64 lowercase hex digits")
    return value
