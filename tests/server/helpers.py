"""Small helpers for the server tests: upload bytes as a blob, register a model."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

WS = "/workspaces/default"


def upload(
    client: httpx.Client, data: bytes, path: str = "model.bin", ws: str = WS
) -> dict[str, Any]:
    sha = hashlib.sha256(data).hexdigest()
    r = client.put(f"{ws}/blobs/{sha}", content=data)
    assert r.status_code in (200, 201), r.text
    return {"path": path, "sha256": sha, "size": len(data)}


def register(
    client: httpx.Client, name: str, data: bytes = b"weights", ws: str = WS, **fields: Any
) -> dict[str, Any]:
    entry = upload(client, data, ws=ws)
    r = client.post(f"{ws}/models", json={"name": name, "files": [entry], **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def all_pages(client: httpx.Client, url: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        r = client.get(url, params={**params, **({"after": after} if after else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["value"]
        after = page["next"]
        if after is None:
            return items
