"""Inputs and mini-batches: which files, and how they are cut (never across a file boundary).

A plan is deterministic for the same input (sorted paths, fixed cut points), so a resumed run
numbers its mini-batches exactly as the crashed one did and can skip the finished ones.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass

from modelport.errors import UserError

FORMATS = ("files", "csv", "parquet", "jsonl")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class MiniBatch:
    """Files (file input), or one table file's part: a byte range (CSV/JSONL) or row groups."""

    index: int
    kind: str  # one of FORMATS
    paths: tuple[str, ...]
    start: int = 0  # tables: first byte (csv/jsonl) or first row group (parquet)
    stop: int = 0  # tables: end byte / end row group (exclusive)
    items: int = 0  # files: number of files; tables: unknown until read (0)

    def to_json(self) -> dict[str, object]:
        # by hand: dataclasses.asdict deep-copies and was a tenth of the driver's CPU per batch
        return {
            "index": self.index,
            "kind": self.kind,
            "paths": self.paths,
            "start": self.start,
            "stop": self.stop,
            "items": self.items,
        }


def list_inputs(inputs: list[str]) -> list[str]:
    """Every file named by the inputs (a file, a folder walked recursively, or a glob), sorted."""
    found: set[str] = set()
    for spec in inputs:
        if os.path.isfile(spec):
            found.add(os.path.abspath(spec))
        elif os.path.isdir(spec):
            for root, dirs, files in os.walk(spec):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.update(os.path.abspath(os.path.join(root, f)) for f in files)
        else:
            matches = [p for p in glob.glob(spec, recursive=True) if os.path.isfile(p)]
            if not matches:
                raise UserError(f"input {spec!r} is not a file, a folder or a matching glob")
            found.update(os.path.abspath(p) for p in matches)
    if not found:
        raise UserError(f"no input files in {', '.join(inputs)}")
    return sorted(found)


def guess_format(paths: list[str]) -> str:
    """``files`` unless every input has one table suffix."""
    kinds = {_SUFFIXES.get(os.path.splitext(p)[1].lower()) for p in paths}
    if len(kinds) == 1 and None not in kinds:
        return str(kinds.pop())
    return "files"


def _line_cuts(path: str, size: int, skip_header: bool) -> list[tuple[int, int]]:
    """Byte ranges of about ``size`` bytes that end on a line break."""
    total = os.path.getsize(path)
    ranges: list[tuple[int, int]] = []
    with open(path, "rb") as f:
        start = len(f.readline()) if skip_header else 0
        while start < total:
            f.seek(min(start + size, total))
            if f.tell() < total:
                f.readline()  # move to the end of the line the cut fell into
            stop = f.tell()
            ranges.append((start, stop))
            start = stop
    return ranges


def _row_group_cuts(path: str, size: int) -> list[tuple[int, int]]:
    """Consecutive row groups whose compressed size stays within ``size`` (at least one each)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError("Parquet input needs pyarrow: pip install 'modelport[batch]'") from None
    meta = pq.ParquetFile(path).metadata
    ranges: list[tuple[int, int]] = []
    start, acc = 0, 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i).total_byte_size
        if i > start and acc + group > size:
            ranges.append((start, i))
            start, acc = i, 0
        acc += group
    if start < meta.num_row_groups:
        ranges.append((start, meta.num_row_groups))
    return ranges


def make_plan(paths: list[str], kind: str, batch_size: int) -> list[MiniBatch]:
    """Mini-batches: ``batch_size`` files each, or about ``batch_size`` bytes of one table file."""
    if kind not in FORMATS:
        raise UserError(f"input format must be one of {', '.join(FORMATS)}, not {kind!r}")
    batches: list[MiniBatch] = []
    if kind == "files":
        for i in range(0, len(paths), batch_size):
            chunk = tuple(paths[i : i + batch_size])
            batches.append(MiniBatch(len(batches), kind, chunk, items=len(chunk)))
        return batches
    for path in paths:
        if kind == "parquet":
            cuts = _row_group_cuts(path, batch_size)
        else:
            cuts = _line_cuts(path, batch_size, skip_header=kind == "csv")
        for start, stop in cuts:
            batches.append(MiniBatch(len(batches), kind, (path,), start, stop))
    return batches


def fingerprint(plan: list[MiniBatch]) -> str:
    """Identifies a plan, so a resume refuses an input that changed since the first attempt."""
    blob = json.dumps([b.to_json() for b in plan], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
