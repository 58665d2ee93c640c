"""Rolling replacement on one port: revision 2 comes up, revision 1 drains, no request fails."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.request
from collections import Counter
from pathlib import Path

from modelport.targets.local import LocalDriver

from .conftest import is_alive, make_spec, wait_for


class Client(threading.Thread):
    """Sends requests until stopped, over one keep-alive connection or a fresh one each time."""

    def __init__(self, port: int, keep_alive: bool) -> None:
        super().__init__(daemon=True)
        self.port, self.keep_alive = port, keep_alive
        self.stop = threading.Event()
        self.revisions: Counter[str] = Counter()
        self.last: list[str] = []
        self.failures: list[str] = []

    def _send_keep_alive(self, conn: http.client.HTTPConnection, body: bytes) -> dict[str, str]:
        # http.client reconnects by itself after a "Connection: close" answer
        conn.request("POST", "/score", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
        answer: dict[str, str] = json.loads(data)
        return answer

    def _send_fresh(self, body: bytes) -> dict[str, str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/score", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, str] = json.loads(response.read())
            return answer

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        n = 0
        while not self.stop.is_set():
            n += 1
            body = json.dumps({"n": n}).encode()
            try:
                answer = (
                    self._send_keep_alive(conn, body) if self.keep_alive else self._send_fresh(body)
                )
            except Exception as exc:  # every failure is recorded, none retried
                self.failures.append(f"request {n}: {type(exc).__name__}: {exc}")
                conn.close()
                continue
            self.revisions[answer["revision"]] += 1
            self.last = [*self.last[-9:], answer["revision"]]
        conn.close()


def test_rolling_replace_under_load_drops_no_request(driver: LocalDriver, app_dir: Path) -> None:
    port = driver.apply(make_spec(app_dir, replicas=2))
    old = driver.wait_ready("ws/svc", 1)
    clients = [Client(port, keep_alive=True), Client(port, keep_alive=False)]
    for client in clients:
        client.start()
    try:
        wait_for(lambda: all(c.revisions["1"] >= 20 for c in clients), what="traffic on rev 1")
        assert driver.apply(make_spec(app_dir, revision=2, replicas=2)) == port
        driver.wait_ready("ws/svc", 2)
        driver.retire("ws/svc", 1)
        assert driver.observe("ws/svc").revision(1) is None
        wait_for(
            lambda: all(c.last[-5:] == ["2"] * 5 for c in clients), what="traffic only on rev 2"
        )
    finally:
        for client in clients:
            client.stop.set()
            client.join(timeout=15)
    for client in clients:
        assert client.failures == [], client.failures
        assert client.revisions["1"] >= 20 and client.revisions["2"] >= 5
    assert not any(is_alive(r.pid) for r in old.replicas if r.pid)
    assert [r.revision for r in driver.observe("ws/svc").revisions] == [2]
