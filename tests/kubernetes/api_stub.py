"""A loopback HTTP server that speaks just enough of the Kubernetes API for the driver's calls.

It is not a cluster (no controllers, no scheduling): it stores what is applied, answers reads
from that store, and records every request, so tests check the exact calls the driver makes
(server-side apply with fieldManager=modelport and force, paths, label selectors).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml


@dataclass
class ApiStub:
    url: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> object
    requests: list[tuple[str, str, dict[str, list[str]], str]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    ready_pods: bool = False  # answer pod lists with Ready pods of every applied Deployment

    def pod_list(self) -> list[dict[str, Any]]:
        if not self.ready_pods:
            return self.pods
        pods = []
        for path, obj in self.objects.items():
            if "/deployments/" not in path:
                continue
            template = obj["spec"]["template"]
            for i in range(obj["spec"].get("replicas") or 1):
                pods.append({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"{obj['metadata']['name']}-{i}",
                                 "labels": template["metadata"]["labels"]},
                    "status": {"phase": "Running",
                               "conditions": [{"type": "Ready", "status": "True"}],
                               "containerStatuses": [{
                                   "name": "inference", "image": template["spec"]["containers"][0]["image"],
                                   "imageID": "", "ready": True, "restartCount": 0, "started": True,
                                   "state": {"running": {}}}]},
                })  # fmt: skip
        return pods

    def kubeconfig(self, namespace: str = "ml") -> str:
        return yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "stub",
            "clusters": [{"name": "stub", "cluster": {"server": self.url}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "u",
                                                      "namespace": namespace}}],
        })  # fmt: skip


def _handler(stub: ApiStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> tuple[str, dict[str, list[str]], str]:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            query = parse_qs(url.query)
            stub.requests.append(
                (self.command, url.path, query, self.headers.get("Content-Type", ""))
            )
            return url.path, query, body

        def _not_found(self, path: str) -> None:
            self._answer(
                404,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "message": f"{path} not found",
                    "reason": "NotFound",
                    "code": 404,
                },
            )

        def do_PATCH(self) -> None:
            path, _, body = self._record()
            stub.objects[path] = json.loads(body)
            self._answer(200, stub.objects[path])

        def do_GET(self) -> None:
            path, _, _ = self._record()
            if path.endswith("/pods"):
                self._answer(
                    200,
                    {
                        "kind": "PodList",
                        "apiVersion": "v1",
                        "metadata": {},
                        "items": stub.pod_list(),
                    },
                )
            elif path.endswith("/log"):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"Traceback (most recent call last):\nRuntimeError: boom\n")
            elif path in stub.objects:
                self._answer(200, stub.objects[path])
            else:
                self._not_found(path)

        def do_DELETE(self) -> None:
            path, _, _ = self._record()
            if stub.objects.pop(path, None) is None:
                self._not_found(path)
            else:
                self._answer(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

    return Handler


@contextmanager
def api_stub() -> Iterator[ApiStub]:
    stub = ApiStub("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
