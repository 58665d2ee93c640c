"""Failed-authentication rate limit per client address (plain ASGI).

After ``max_failures`` answers of 401 to requests that carried a wrong bearer token within
``window_seconds``, the address gets 429 with ``Retry-After`` for every request that does not carry
the right token; the right token is never blocked, so a guessing neighbour cannot lock out the
owner. Counts live in this process (each server process of a shared database counts its own).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.server.security.tokengate import bearer, is_server_token
from modelport.serving.auth import client_key

_MAX_ADDRESSES = 10_000  # bound the table: a flood from many addresses cannot exhaust memory
_OPEN_PATHS = ("/api/v1/health",)


class FailedAuthLimiter:
    def __init__(
        self,
        app: ASGIApp,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        address = client_key((scope.get("client") or ("unknown", 0))[0])
        presented = bearer(scope)
        if presented is not None and is_server_token(scope, presented):
            await self.app(scope, receive, send)
            return
        wait = self.retry_after(address)
        if wait is not None:
            await JSONResponse(
                {
                    "message": "too many failed authentication attempts from this address; "
                    f"retry after {wait} s with the right token"
                },
                status_code=429,
                headers={"Retry-After": str(wait)},
            )(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] == 401
                and presented is not None
            ):
                self.record_failure(address)
            await send(message)

        await self.app(scope, receive, watch)

    def _recent(self, address: str) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it is not blocked."""
        times = self._recent(address)
        if times is None or len(times) < self.max_failures:
            return None
        return max(1, math.ceil(times[0] + self.window - self.clock()))

    def _make_room(self) -> None:
        """Free a tenth of a full table: expired entries among the oldest tenth first, then the
        oldest. One scan per tenth of the table, not one per new address of a flood."""
        oldest = list(itertools.islice(self._failures, _MAX_ADDRESSES // 10))
        for old in oldest:
            self._recent(old)
        for old in oldest:
            if len(self._failures) <= _MAX_ADDRESSES - _MAX_ADDRESSES // 10:
                break
            self._failures.pop(old, None)

    def record_failure(self, address: str) -> None:
        if address not in self._failures and len(self._failures) >= _MAX_ADDRESSES:
            self._make_room()
        times = self._failures.setdefault(address, deque())
        times.append(self.clock())
        while len(times) > self.max_failures:
            times.popleft()
