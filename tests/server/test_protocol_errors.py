"""Requests that are not HTTP at all still get a JSON error body, not uvicorn's plain text."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from tests.conftest import ServerProcess


def test_unparseable_request_gets_400_with_a_json_message(workspace_server: ServerProcess) -> None:
    url = urlsplit(workspace_server.url)
    assert url.hostname and url.port
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(b"GARBAGE \x01\x02 HTTP/1.1\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["message"]
