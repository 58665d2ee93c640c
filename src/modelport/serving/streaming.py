"""Sending a streamed ``AMLResponse`` (a generator or iterator message) chunk by chunk.

The head goes out first without a Content-Length, so the protocol uses chunked transfer encoding;
each chunk is written as soon as the script yields it (server-sent events need exactly that). A
sync generator is advanced on a worker thread, since producing a chunk may block (a model emitting
tokens); an async one on the event loop. When the client goes away the generator is closed, so its
``finally`` blocks run; when it raises, the connection is closed without the final chunk, so the
client sees a truncated answer rather than a complete-looking one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterator
from typing import Any

from modelport.compat.aml_response import encode_chunk
from modelport.serving.logs import REQUEST_ID

log = logging.getLogger("modelport.serving")
Send = Callable[[dict[str, Any]], Awaitable[None]]
_END = object()


class StreamFailed(Exception):
    """The script's generator raised after the head was sent: the connection must be cut."""


async def send_stream(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], chunks: Any, request_id: str
) -> bool:
    """Send the head and every chunk; False when the client disconnected part way."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    try:
        if isinstance(chunks, AsyncIterable):
            token = REQUEST_ID.set(request_id)
            try:
                done = await _send_async(send, chunks)
            finally:
                REQUEST_ID.reset(token)
        else:
            done = await _send_sync(send, chunks, request_id)
    except Exception as exc:
        log.exception("%s,the streamed response's generator raised", request_id)
        raise StreamFailed(str(exc)) from exc
    if done:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    return done


async def _part(send: Send, chunk: Any) -> bool:
    data = encode_chunk(chunk)
    if not data:
        return True
    try:
        await send({"type": "http.response.body", "body": data, "more_body": True})
    except ConnectionError:
        return False
    return True


def _next(iterator: Iterator[Any], request_id: str) -> Any:
    """One chunk, produced with the request id set, so the generator's prints carry it."""
    token = REQUEST_ID.set(request_id)
    try:
        return next(iterator, _END)
    finally:
        REQUEST_ID.reset(token)


async def _send_sync(send: Send, chunks: Any, request_id: str) -> bool:
    loop = asyncio.get_running_loop()
    iterator = iter(chunks)
    while True:
        # the loop's default thread pool: min(32, CPUs + 4) generators advance at once
        chunk = await loop.run_in_executor(None, _next, iterator, request_id)
        if chunk is _END:
            return True
        if not await _part(send, chunk):
            close = getattr(iterator, "close", None)
            if close is not None:
                await loop.run_in_executor(None, close)
            return False


async def _send_async(send: Send, chunks: AsyncIterable[Any]) -> bool:
    iterator = aiter(chunks)
    async for chunk in iterator:
        if not await _part(send, chunk):
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
            return False
    return True
