"""Follow a service operation to its end: the operation's state plus the new deployment log lines.

One generator feeds both ``wait_for_deployment(show_output=True)`` (plain lines on stdout) and the
CLI's live display (Rich), so the two never disagree about what happened.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelport.errors import ModelportError, NotFound, ServerError
from modelport.sdk._http import Client, seg

TERMINAL = ("Succeeded", "Failed", "Cancelled", "TimedOut")
FIRST_POLL = 0.05
MAX_POLL = 0.25
LOG_LINES = 5000


@dataclass
class Event:
    """``kind`` is "log" (``line``), "operation" (``operation``, on every state change) or "gone"."""

    kind: str
    line: str = ""
    operation: dict[str, Any] | None = None


class LogFollower:
    """Yields the lines of a log that grows anywhere (the deploy log and replica logs interleave).

    A line is new when the latest read holds it more often than any earlier read did: this
    survives both appends in the middle and the head being cut off by ``numLines``.
    """

    def __init__(self, client: Client, workspace: str, service: str) -> None:
        self._client = client
        self._path = f"/workspaces/{seg(workspace)}/services/{seg(service)}/logs"
        self._seen: Counter[str] = Counter()

    def skip_existing(self) -> None:
        """Mark what the log holds now as seen (an update shows only its own lines)."""
        for _ in self.poll():
            pass

    def poll(self) -> Iterator[str]:
        try:
            content = self._client.get(self._path, {"numLines": LOG_LINES}).get("content", "")
        except (NotFound, ServerError):
            return  # the log is a courtesy: never let it break following the operation
        now: Counter[str] = Counter()
        for line in str(content).splitlines():
            now[line] += 1
            if now[line] > self._seen[line]:
                self._seen[line] = now[line]
                yield line


def follow(
    client: Client,
    workspace: str,
    service: str,
    operation_id: str,
    *,
    timeout_sec: float | None = None,
    logs: bool = True,
    skip_existing_logs: bool = False,
) -> Iterator[Event]:
    """Poll the operation until it is terminal; raise :class:`OperationTimeout` past the deadline."""
    deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
    follower = LogFollower(client, workspace, service) if logs else None
    if follower is not None and skip_existing_logs:
        follower.skip_existing()
    last_state = None
    delay = FIRST_POLL
    op_path = f"/workspaces/{seg(workspace)}/operations/{seg(operation_id)}"
    while True:
        operation: dict[str, Any] = client.get(op_path)
        if follower is not None:
            for line in follower.poll():
                yield Event("log", line=line)
        state = operation.get("state")
        if state != last_state:
            last_state = state
            yield Event("operation", operation=operation)
        if state in TERMINAL:
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise OperationTimeout(
                f"Deployment polling reached the timeout of {timeout_sec:g} s with operation "
                f"{operation_id} still {state}: the service keeps deploying; check it with "
                "service.update_deployment_state() or service.get_logs()."
            )
        time.sleep(delay)
        delay = min(MAX_POLL, delay * 1.5)


class OperationTimeout(ModelportError):
    """``timeout_sec`` passed before the operation ended (the operation itself goes on)."""

    status_code = 504
