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

MAX_LENGTH = 100


class TooLong(Exception):
    pass


def new_id() -> bytes:
    """A random (version 4) UUID for correlation, not secrecy: random.getrandbits avoids a
    getrandom() syscall per request (profiling showed os.urandom costly on a loaded host)."""
    h = bytearray(b"%032x" % random.getrandbits(128))
    h[12] = 52  # "4": version
    h[16] = b"89ab"[h[16] % 4]  # variant 10xx
    return bytes(h[:8] + b"-" + h[8:12] + b"-" + h[12:16] + b"-" + h[16:20] + b"-" + h[20:])


def resolve(
    request_id: bytes | None,
    client_id: bytes | None,
    ms_request_id: bytes | None,
    trace_id: bytes | None,
) -> tuple[str, list[tuple[bytes, bytes]]]:
    """Return the request id and the response headers that echo the ids."""
    if request_id is not None and len(request_id) > MAX_LENGTH:
        raise TooLong(f"x-request-id must not exceed {MAX_LENGTH} characters")
    rid_b = request_id if request_id is not None else new_id()
    client = client_id or b""
    legacy = ms_request_id or b""
    if legacy:
        client = client or legacy
    else:
        legacy = client or rid_b
    if len(legacy) > MAX_LENGTH or len(client) > MAX_LENGTH:
        raise TooLong(
            f"x-ms-request-id and x-ms-client-request-id must not exceed {MAX_LENGTH} characters"
        )
    headers = [(b"x-request-id", rid_b), (b"x-ms-request-id", legacy)]
    if client:
        headers.append((b"x-ms-client-request-id", client))
    if trace_id is not None:
        headers.append((b"traceid", trace_id))
    return rid_b.decode("latin-1"), headers
