"""The workspace server's HTTP protocol: uvicorn's httptools one, with its one plain-text answer
turned into ``{"message": …}``. (The inference server has a leaner protocol of its own:
serving/protocol.py.)

Requests that cannot be parsed as HTTP never reach an ASGI app: uvicorn answers them itself with a
``text/plain`` 400. Every modelport error body is JSON, that one included.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        body = orjson.dumps({"message": msg})
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
