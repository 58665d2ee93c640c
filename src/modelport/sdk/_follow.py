"""Follow a service operation to its end: the operation's state plus the new deployment log lines.

One generator feeds both ``wait_for_deployment(show_output=True)`` (plain lines on stdout) and the
CLI's live display (Rich), so the two never disagree about what happened.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelport.errors import NotFound, OperationTimeout, ServerError, ServerUnreachable
from modelport.sdk._http import Client, seg

TERMINAL = ("Succeeded", "Failed", "Cancelled", "TimedOut")
FIRST_POLL = 0.05
MAX_POLL = 0.25
# Long poll: the server answers as soon as the operation ends, or after this many seconds
# (shorter while a log is followed, so its lines keep coming).
WAIT_S, WAIT_WITH_LOGS_S = 10.0, 0.5
LOG_LINES = 5000
UNREACHABLE_GRACE = 60.0


@dataclass
class Event:
    """``kind`` is "log" (``line``), "operation" (``operation``, on every state change) or "gone"."""

    kind: str
    line: str = ""
    operation: dict[str, Any] | None = None


_SECTION = re.compile(r"^==> (?P<name>.+?) <==$")
_REVISION = re.compile(r"(?:^|/)rev-(?P<n>\d+)(?:/|$)")


class LogFollower:
    """Yields the new lines of a service log that grows anywhere, for one operation.

    The log is the deployment log (every operation of the service) followed by one section per
    replica (``==> rev-N/replica-K.log <==``). Only this operation's part of the deployment log
    is shown (from the line naming its id), replica lines are prefixed with their section, and
    sections of older revisions show only what they write after the first look (their drain).
    A line is new when the latest read holds it more often than any earlier read did: this
    survives appends in the middle and the head being cut off by ``numLines``.
    """

    def __init__(
        self,
        client: Client,
        workspace: str,
        service: str,
        operation_id: str | None = None,
        target_revision: int | None = None,
    ) -> None:
        self._client = client
        self._path = f"/workspaces/{seg(workspace)}/services/{seg(service)}/logs"
        self._seen: Counter[str] = Counter()
        self._operation_id = operation_id
        self.target_revision = target_revision
        self._first = True
        self._marker_seen = operation_id is None

    def poll(self) -> Iterator[str]:
        try:
            content = self._client.get(self._path, {"numLines": LOG_LINES}).get("content", "")
        except (NotFound, ServerError):
            return  # the log is a courtesy: never let it break following the operation
        except ServerUnreachable:
            return
        lines = self._visible(str(content).splitlines())
        # Until this operation has written its first line, everything in the log is history.
        quiet = not self._marker_seen
        first, self._first = self._first, quiet
        now: Counter[str] = Counter()
        for line, old in lines:
            now[line] += 1
            if now[line] > self._seen[line]:
                self._seen[line] = now[line]
                if not (quiet or (first and old)):
                    yield line

    def _visible(self, lines: list[str]) -> list[tuple[str, bool]]:
        """(line as shown, belongs to an older revision) for the lines this operation may show."""
        deploy: list[str] = []
        out: list[tuple[str, bool]] = []
        section: str | None = None
        old = False
        for line in lines:
            header = _SECTION.match(line)
            if header:
                section = header["name"].removesuffix(".log")
                rev = _REVISION.search(section)
                old = bool(rev and self.target_revision and int(rev["n"]) < self.target_revision)
            elif section is None:
                deploy.append(line)
            elif line.strip():
                out.append((f"[{section}] {line}", old))
        if self._operation_id is not None:
            marks = [i for i, line in enumerate(deploy) if self._operation_id in line]
            if marks:
                self._marker_seen = True
                deploy = deploy[marks[-1] :]
            elif not self._marker_seen:
                deploy = []  # this operation has not written its first line (or writes none)
        return [(line, False) for line in deploy] + out


def follow(
    client: Client,
    workspace: str,
    service: str,
    operation_id: str,
    *,
    timeout_sec: float | None = None,
    logs: bool = True,
) -> Iterator[Event]:
    """Poll the operation until it is terminal; raise :class:`OperationTimeout` past the deadline."""
    deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
    follower = LogFollower(client, workspace, service, operation_id) if logs else None
    last_state = None
    delay = FIRST_POLL
    op_path = f"/workspaces/{seg(workspace)}/operations/{seg(operation_id)}"
    unreachable_since: float | None = None
    # well inside the client's read timeout, so a long poll never looks like a lost server
    longest = min(WAIT_S, float(getattr(client, "_timeout", 60.0)) / 3)
    while True:
        wait = min(WAIT_WITH_LOGS_S if follower is not None else WAIT_S, longest)
        if deadline is not None:
            wait = max(0.0, min(wait, deadline - time.monotonic()))
        asked = time.monotonic()
        try:
            operation: dict[str, Any] = client.get(op_path, {"waitSeconds": round(wait, 3)})
            unreachable_since = None
        except ServerUnreachable:
            # A server restarting (systemd, kill -9 and restart) is back in seconds; the
            # operation is in the database and goes on, so keep asking for a while.
            now = time.monotonic()
            unreachable_since = unreachable_since or now
            if now - unreachable_since > UNREACHABLE_GRACE or (
                deadline is not None and now >= deadline
            ):
                raise
            time.sleep(MAX_POLL)
            continue
        state = operation.get("state")
        final = state in TERMINAL
        if state != last_state and not final:
            yield Event("operation", operation=operation)
        last_state = state
        if follower is not None:
            follower.target_revision = operation.get("targetRevision")
            for line in follower.poll():
                yield Event("log", line=line)
        if final:
            yield Event("operation", operation=operation)
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise OperationTimeout(
                f"Deployment polling reached the timeout of {timeout_sec:g} s with operation "
                f"{operation_id} still {state}: the service keeps deploying; check it with "
                "service.update_deployment_state() or service.get_logs()."
            )
        if time.monotonic() - asked < wait / 2:  # a server that does not long-poll: back off
            time.sleep(delay)
            delay = min(MAX_POLL, delay * 1.5)
