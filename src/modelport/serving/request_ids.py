"""Request-id headers: which ones are read, generated, limited and echoed.

- ``x-request-id``: the client's value if given, else a new UUID; echoed as ``x-request-id`` and as
  the deprecated ``x-ms-request-id``. It prefixes run()'s log lines.
- ``x-ms-client-request-id``: the client's value, else its (deprecated) ``x-ms-request-id``, else the
  request id; echoed.
- ``TraceId``: echoed when sent.
Any of them longer than 100 characters answers 431.
"""

from __future__ import annotations

import uuid

MAX_LENGTH = 100


class TooLong(Exception):
    def __init__(self, header: str) -> None:
        super().__init__(f"{header} header is longer than {MAX_LENGTH} characters")
        self.header = header


def resolve(
    request_id: bytes | None,
    client_id: bytes | None,
    ms_request_id: bytes | None,
    trace_id: bytes | None,
) -> tuple[str, list[tuple[bytes, bytes]]]:
    """Return the request id and the response headers that echo the ids."""
    for name, value in (
        ("x-request-id", request_id),
        ("x-ms-client-request-id", client_id),
        ("x-ms-request-id", ms_request_id),
        ("TraceId", trace_id),
    ):
        if value is not None and len(value) > MAX_LENGTH:
            raise TooLong(name)
    rid = request_id.decode("latin-1") if request_id else str(uuid.uuid4())
    rid_b = rid.encode("latin-1")
    cid = client_id or ms_request_id or rid_b
    headers = [
        (b"x-request-id", rid_b),
        (b"x-ms-request-id", rid_b),
        (b"x-ms-client-request-id", cid),
    ]
    if trace_id is not None:
        headers.append((b"traceid", trace_id))
    return rid, headers
