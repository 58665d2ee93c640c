"""Large JSON request bodies are parsed in a worker thread, not on the event loop.

FastAPI parses a route's JSON body with ``await request.json()`` on the event loop: an 8 MiB body
held every other request of the server meanwhile. The requests FastAPI builds for its routes are
of a subclass whose ``json()`` parses a body over ``THREAD_THRESHOLD`` bytes in a thread (small
bodies, the common case, skip the thread hop). FastAPI creates them as ``fastapi.routing.Request``,
so that name is pointed at the subclass; ``installed()`` lets a test check it still is.
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
import fastapi.routing
from starlette.requests import Request

THREAD_THRESHOLD = 256 * 1024


class ThreadedJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if len(body) > THREAD_THRESHOLD:
                self._json = await anyio.to_thread.run_sync(json.loads, body)
            else:
                self._json = json.loads(body)
        return self._json


def parse_large_json_in_threads() -> None:
    setattr(fastapi.routing, "Request", ThreadedJsonRequest)  # noqa: B010  (not a public name)


def installed() -> bool:
    return getattr(fastapi.routing, "Request", None) is ThreadedJsonRequest
