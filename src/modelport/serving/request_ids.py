"""Request-id headers, as azmlinfsrv 1.5 reads, limits and echoes them.

- ``x-request-id``: the client's value, else a new UUID; echoed; it prefixes run()'s log lines.
- ``x-ms-client-request-id``: the client's value, else its deprecated ``x-ms-request-id``; echoed
  only when there is one.
- ``x-ms-request-id`` (deprecated): echoed as sent, else filled with the client request id or
  the request id.
- ``TraceId``: echoed when sent.
More than 100 characters in any of them answers 431.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from operator import itemgetter

MAX_LENGTH = 100
# a UUID's five hex groups in one C call (h[:8], h[8:12], … built five slice objects per id)
_GROUPS = itemgetter(slice(0, 8), slice(8, 12), slice(12, 16), slice(16, 20), slice(20, 32))


class TooLong(Exception):
    """An id over the limit (431); ``headers`` are the ids the original still echoes then: the
    request id when it was not the one too long, and TraceId."""

    def __init__(self, message: str, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(message)
        self.headers = headers


_VERSION_VARIANT_CLEAR = 0xFFFFFFFF_FFFF_0FFF_3FFF_FFFFFFFFFFFF
_VERSION_VARIANT_SET = 0x00000000_0000_4000_8000_000000000000  # version 4, variant 10xx


def new_id(getrandbits: Callable[[int], int] = random.getrandbits) -> str:
    """A random (version 4) UUID for correlation, not secrecy: random.getrandbits avoids a
    getrandom() syscall per request (profiling showed os.urandom costly on a loaded host).
    Hex digits from ``to_bytes().hex()``: ``b"%032x" %`` of a 128-bit int costs twice as much."""
    h = (getrandbits(128) & _VERSION_VARIANT_CLEAR | _VERSION_VARIANT_SET).to_bytes(16).hex()
    return "-".join(_GROUPS(h))  # a join: half a format's cost


def resolve(
    request_id: bytes | None,
    client_id: bytes | None,
    ms_request_id: bytes | None,
    trace_id: bytes | None,
) -> tuple[str, list[tuple[bytes, bytes]]]:
    """Return the request id and the response headers that echo the ids."""
    if request_id is None and client_id is None and ms_request_id is None and trace_id is None:
        rid = new_id()  # the usual request: no ids sent, one new id echoed twice
        rid_b = rid.encode()
        return rid, [(b"x-request-id", rid_b), (b"x-ms-request-id", rid_b)]
    trace = [(b"traceid", trace_id)] if trace_id is not None else []
    if request_id is not None and len(request_id) > MAX_LENGTH:
        raise TooLong(f"x-request-id must not exceed {MAX_LENGTH} characters", trace)
    rid_b = request_id if request_id is not None else new_id().encode()
    client = client_id or b""
    legacy = ms_request_id or b""
    if legacy:
        client = client or legacy
    else:
        legacy = client or rid_b
    if len(legacy) > MAX_LENGTH or len(client) > MAX_LENGTH:
        raise TooLong(
            f"x-ms-request-id and x-ms-client-request-id must not exceed {MAX_LENGTH} characters",
            [(b"x-request-id", rid_b), *trace],
        )
    headers = [(b"x-request-id", rid_b), (b"x-ms-request-id", legacy)]
    if client:
        headers.append((b"x-ms-client-request-id", client))
    if trace_id is not None:
        headers.append((b"traceid", trace_id))
    return rid_b.decode("latin-1"), headers
