""" "Inside run() since T": a small shared file the supervisor reads without the replica's GIL.

A run() that holds the GIL (or runs on the event loop) keeps the replica's health port from
answering, and a supervisor that only probes cannot tell that from a hung process. So each thread
that calls a plain run() writes the call's start time (epoch seconds) into its own slot of a
memory-mapped file, and zero when it returns; the header holds the scoring timeout. The supervisor
(``targets/local``) reads the file when a probe fails: busy for less than the timeout is alive.

Layout (native doubles): ``[timeout_s, slot_0, slot_1, …]``; 0.0 means idle. The cost per call is
two ``struct.pack_into`` on a mapped page (well under a microsecond); with no file configured
(``MODELPORT_BUSY_FILE`` unset) the marks do nothing.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from dataclasses import dataclass

ENV = "MODELPORT_BUSY_FILE"
SLOTS = 255  # threads with a slot of their own; more share the last one
_DOUBLE = struct.Struct("d")
SIZE = _DOUBLE.size * (SLOTS + 1)


class Board:
    """The replica's side: ``enter()`` before run(), ``leave(slot)`` after it."""

    def __init__(self, path: str | None) -> None:
        self._map: mmap.mmap | None = None
        self._slots: dict[int, int] = {}
        self._lock = threading.Lock()
        if path:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    os.ftruncate(fd, SIZE)
                    self._map = mmap.mmap(fd, SIZE)
                finally:
                    os.close(fd)
            except OSError:
                self._map = None  # liveness falls back to probes alone
            else:
                self._map[:] = bytes(SIZE)

    def set_timeout(self, seconds: float) -> None:
        if self._map is not None:
            _DOUBLE.pack_into(self._map, 0, seconds)

    def enter(self) -> int:
        """Mark this thread inside run(); returns the slot to give to ``leave``."""
        if self._map is None:
            return 0
        ident = threading.get_ident()
        slot = self._slots.get(ident)
        if slot is None:
            with self._lock:
                slot = self._slots.setdefault(ident, min(len(self._slots) + 1, SLOTS))
        _DOUBLE.pack_into(self._map, slot * _DOUBLE.size, time.time())
        return slot

    def leave(self, slot: int) -> None:
        if self._map is not None and slot:
            _DOUBLE.pack_into(self._map, slot * _DOUBLE.size, 0.0)


BOARD = Board(os.environ.get(ENV))


@dataclass(frozen=True)
class Busy:
    """What the supervisor reads: the scoring timeout and the start of the oldest call in run()."""

    timeout: float
    since: float | None  # epoch seconds; None when no thread is inside run()

    def running_for(self, now: float | None = None) -> float:
        return 0.0 if self.since is None else (now or time.time()) - self.since


def read(path: str | os.PathLike[str]) -> Busy | None:
    """The board of a replica, or None when it has none (an old replica, or not started yet)."""
    try:
        with open(path, "rb") as f:
            data = f.read(SIZE)
    except OSError:
        return None
    if len(data) < SIZE:
        return None
    values = struct.unpack(f"{SLOTS + 1}d", data)
    starts = [v for v in values[1:] if v > 0]
    return Busy(values[0], min(starts) if starts else None)
