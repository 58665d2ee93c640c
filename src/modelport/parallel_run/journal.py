"""The run's journal: one JSON line per finished mini-batch, flushed before it counts.

Why a local journal and not rows in the workspace database: the driver must record a mini-batch
before it moves on, thousands of times per run, and must work with no server at all (`modelport
batch run` on a laptop). An append-only file next to the output is crash-safe (a torn last line
from kill -9 is ignored; an entry whose part file is missing or short after a machine crash is
dropped and its mini-batch runs again), costs one write per mini-batch, and the workspace Run
points at it.
The final output file is rebuilt from the journal's parts (one file of rows per mini-batch,
written by the worker) in mini-batch order, so a resumed run writes each row exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from modelport.errors import UserError

SYNC_EVERY_S = 1.0


@dataclass
class Entry:
    index: int
    items: int
    succeeded: int
    failed: int
    tries: int
    part: str | None  # the file of its rows (append_row), written by the worker
    error: str | None = None


class Journal:
    """Append-only record of finished mini-batches for one run."""

    def __init__(self, path: str, header: dict[str, Any]) -> None:
        self.path = path
        self.entries: dict[int, Entry] = {}
        self._file: IO[str] | None = None
        self._synced = 0.0
        if os.path.exists(path):
            self._load(header)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self._append({"header": header})

    def _load(self, header: dict[str, Any]) -> None:
        lines = list(_read_lines(self.path))
        if not lines or lines[0].get("header", {}).get("plan") != header["plan"]:
            raise UserError(
                f"cannot resume: the input or its mini-batching changed since the run began "
                f"({self.path})"
            )
        for record in lines[1:]:
            entry = Entry(**record)
            if entry.error is not None:  # failed every try: a resume (of a Failed run) tries again
                self.entries.pop(entry.index, None)
            elif entry.part is None or _lines(entry.part) == entry.succeeded:
                self.entries[entry.index] = entry  # else: its rows were lost, run it again

    def _append(self, record: dict[str, Any]) -> None:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._file.write(json.dumps(record) + "\n")
        # flushed each time: a killed driver loses nothing; fsynced at most once a second (one
        # fsync per mini-batch was the run's bottleneck): a machine crash loses at most the
        # last second of mini-batches, which a resume runs again
        self._file.flush()
        if time.monotonic() - self._synced >= SYNC_EVERY_S:
            os.fsync(self._file.fileno())
            self._synced = time.monotonic()

    def record(self, entry: Entry) -> None:
        self._append(entry.__dict__)
        self.entries[entry.index] = entry

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def write_output(self, path: str) -> int:
        """The append_row file from every mini-batch's part, in mini-batch order (atomic replace)."""
        tmp = path + ".partial"
        count = 0
        with open(tmp, "wb") as f:
            for index in sorted(self.entries):
                part = self.entries[index].part
                if part:
                    with open(part, "rb") as rows:
                        shutil.copyfileobj(rows, f)
                count += self.entries[index].succeeded
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return count


def _lines(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return -1


def _read_lines(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # the torn last line of a killed driver
                return
            if isinstance(record, dict):
                yield record
