"""Collected model data on disk: v1's CSV layout in the artifact store, appended crash-safely.

``modeldata/<workspace>/<service>/<model>/<version>/<designation>/<yyyy>/<mm>/<dd>/data.csv``
(``<collection>.csv`` for a collection name other than ``default``). The first columns are the
scoring time and the correlation id (the request id), so inputs and predictions of one request
join. Each batch is appended with one ``write`` of complete lines under an exclusive lock and
fsynced; a file left with a partial last line (the server killed mid-write) is cut back to its
last complete row before the next append, so readers only ever see whole rows.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelport.errors import UserError

CORRELATION = "$aml_dc_correlation_id"
TIMESTAMP = "$aml_dc_scoring_timestamp"
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
MAX_ROWS = 100_000


def _segment(value: Any, what: str) -> str:
    text = str(value)
    if not _SEGMENT.match(text) or text in (".", ".."):
        raise UserError(f"model data: {what} {text!r} is not a valid path segment")
    return text


def root(artifacts_root: Path, workspace: str, service: str) -> Path:
    return artifacts_root / "modeldata" / workspace / service


def _file(base: Path, rec: dict[str, Any], when: datetime) -> Path:
    collection = _segment(rec.get("collection") or "default", "collection name")
    name = "data.csv" if collection == "default" else f"{collection}.csv"
    return (
        base
        / _segment(rec.get("model"), "model name")
        / _segment(rec.get("version") or "default", "model version")
        / _segment(rec.get("designation") or "default", "designation")
        / f"{when:%Y}"
        / f"{when:%m}"
        / f"{when:%d}"
        / name
    )


def _csv_lines(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def write_batch(artifacts_root: Path, workspace: str, service: str, data: Any) -> int:
    """Append a replica's collected rows; the number of rows written."""
    if not isinstance(data, list):
        raise UserError("'data' must be a list")
    base = root(artifacts_root, workspace, service)
    grouped: dict[Path, tuple[list[str], list[list[Any]]]] = {}
    total = 0
    for rec in data:
        if not isinstance(rec, dict) or not isinstance(rec.get("rows"), list):
            raise UserError("each collected record needs 'rows'")
        when = datetime.fromtimestamp(float(rec.get("time") or 0), UTC)
        path = _file(base, rec, when)
        columns = [str(c) for c in rec.get("columns") or []]
        entry = grouped.setdefault(path, ([TIMESTAMP, CORRELATION, *columns], []))
        for row in rec["rows"]:
            if not isinstance(row, list):
                raise UserError("each collected row must be a list")
            entry[1].append([when.isoformat(), str(rec.get("requestId") or ""), *row])
            total += 1
            if total > MAX_ROWS:
                raise UserError(f"a batch holds at most {MAX_ROWS} collected rows")
    for path, (header, rows) in grouped.items():
        _append(path, header, rows)
    return total


def _append(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # several server processes may share the artifact store
        size = _repair(fd)
        payload = _csv_lines(rows if size else [header, *rows])
        view = memoryview(payload)
        while view:  # one write in practice; a short write is finished, never interleaved (lock)
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _repair(fd: int) -> int:
    """Cut a partial last line (a crash mid-append); the size of the complete rows."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0
    tail_len = min(size, 1 << 16)
    tail = os.pread(fd, tail_len, size - tail_len)
    if tail.endswith(b"\n"):
        return size
    cut = tail.rfind(b"\n")
    keep = (size - tail_len + cut + 1) if cut >= 0 else 0
    os.ftruncate(fd, keep)
    return keep


def read(
    artifacts_root: Path,
    workspace: str,
    service: str,
    designation: str,
    since: datetime | None,
    model: str | None = None,
) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of one designation, oldest first; the header of the newest file wins."""
    designation = _segment(designation, "designation")
    model = _segment(model, "model name") if model else None
    base = root(artifacts_root, workspace, service)
    header: list[str] = []
    rows: list[list[str]] = []
    for path in sorted(_files(base, designation, model), key=lambda p: p.parts[-4:]):
        day = datetime(int(path.parts[-4]), int(path.parts[-3]), int(path.parts[-2]), tzinfo=UTC)
        if since is not None and day.date() < since.date():
            continue
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            file_header = next(reader, None)
            if file_header is None:
                continue
            header = file_header
            for row in reader:
                if since is None or _time(row[0]) >= since:
                    rows.append(row)
    return header, rows


def _files(base: Path, designation: str, model: str | None) -> Iterator[Path]:
    models = [base / model] if model else (sorted(base.iterdir()) if base.is_dir() else [])
    for m in models:
        yield from m.glob(f"*/{designation}/*/*/*/*.csv")


def _time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def join(
    left: tuple[list[str], list[list[str]]], right: tuple[list[str], list[list[str]]], prefix: str
) -> tuple[list[str], list[list[str]]]:
    """Rows of ``left`` with the ``right`` columns of the same correlation id (request id).

    Within one request the n-th row of each side pair up (a batch of inputs and its predictions).
    """
    lh, lrows = left
    rh, rrows = right
    if not lh:
        return left
    extra = [f"{prefix}{c}" for c in rh[2:]]
    by_id: dict[str, list[list[str]]] = defaultdict(list)
    for r in rrows:
        by_id[r[1]].append(r[2:])
    taken: dict[str, int] = defaultdict(int)
    blank = [""] * len(extra)
    out: list[list[str]] = []
    for r in lrows:
        matches, i = by_id.get(r[1], []), taken[r[1]]
        taken[r[1]] += 1
        out.append([*r, *(matches[i] if i < len(matches) else blank)])
    return [*lh, *extra], out
