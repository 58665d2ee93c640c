"""Process life: init failures (exit 3), readiness, --health-port, --workers, SIGTERM drain under load."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import Served, free_port, launch, wait_in_flight, write_script

QUICK = """
import os
import time


def init():
    # tests hold init() back until they create the file named by INIT_GATE
    gate = os.environ.get("INIT_GATE")
    while gate and not os.path.exists(gate):
        time.sleep(0.01)


def run(raw):
    time.sleep(0.01)
    return os.getpid()
"""


def wait_exit(served: Served, timeout: float = 30) -> int:
    return served.proc.wait(timeout)


def test_init_failure_exits_3_with_traceback_and_model_tree(tmp_path: Path) -> None:
    model_dir = tmp_path / "models" / "m" / "1"
    model_dir.mkdir(parents=True)
    (model_dir / "weights.bin").write_bytes(b"x")
    write_script(
        tmp_path,
        "def init():\n    raise RuntimeError('cannot load weights')\n\ndef run(x):\n    return x\n",
    )
    s = launch(tmp_path, "--entry-script", "score.py", "--model-dir", str(model_dir))
    assert wait_exit(s) == 3
    log = s.log()
    assert "RuntimeError: cannot load weights" in log
    assert "Traceback" in log
    assert "weights.bin" in log


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("def init():\n    pass\n", "must define run()"),
        ("def init():\n    pass\n\ndef run(*args):\n    pass\n", "*args or **kwargs"),
        ("def init():\n    pass\n\ndef run(x, /):\n    pass\n", "positional-only"),
        (
            "def init():\n    pass\n\ndef run(request_headers):\n    pass\n",
            "besides request_headers",
        ),
        ("import no_such_module_here\n", "No module named"),
    ],
)
def test_broken_entry_script_exits_3(tmp_path: Path, script: str, message: str) -> None:
    write_script(tmp_path, script)
    s = launch(tmp_path, "--entry-script", "score.py")
    assert wait_exit(s) == 3
    assert message in s.log()


def test_missing_entry_script_exits_3(tmp_path: Path) -> None:
    s = launch(tmp_path, "--entry-script", "nope.py")
    assert wait_exit(s) == 3
    assert "nope.py" in s.log()


def test_health_is_503_until_init_finishes(tmp_path: Path, stop_after: list[Served]) -> None:
    write_script(tmp_path, QUICK)
    gate = tmp_path / "go"
    s = launch(tmp_path, "--entry-script", "score.py", env={"INIT_GATE": str(gate)})
    stop_after.append(s)
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline
        try:
            r = httpx.get(s.url + "/")
            break
        except httpx.TransportError:
            time.sleep(0.02)
    assert r.status_code == 503
    score = httpx.post(s.url + "/score", content=b"{}")
    assert score.status_code == 503
    assert "init() has not finished" in score.json()["message"]
    gate.touch()
    s.wait_ready()
    assert httpx.get(s.url + "/").text == "Healthy"
    assert httpx.post(s.url + "/score", content=b"{}").status_code == 200


def test_health_port_mode_listens_on_the_shared_port_only_after_init(
    tmp_path: Path, stop_after: list[Served]
) -> None:
    write_script(tmp_path, QUICK)
    health = free_port()
    gate = tmp_path / "go"
    s = launch(
        tmp_path,
        "--entry-script",
        "score.py",
        "--health-port",
        str(health),
        env={"INIT_GATE": str(gate)},
    )
    stop_after.append(s)
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline
        try:
            r = httpx.get(f"http://127.0.0.1:{health}/")
            break
        except httpx.TransportError:
            time.sleep(0.02)
    assert r.status_code == 503
    with pytest.raises(httpx.ConnectError):
        httpx.get(s.url + "/")
    gate.touch()
    s.wait_ready(port=health)
    s.wait_ready()
    assert httpx.post(s.url + "/score", content=b"{}").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{health}/score").status_code == 404


def test_two_workers_both_serve(tmp_path: Path, stop_after: list[Served]) -> None:
    write_script(tmp_path, QUICK)
    s = launch(tmp_path, "--entry-script", "score.py", "--workers", "2")
    stop_after.append(s)
    s.wait_ready()
    pids: set[int] = set()
    deadline = time.monotonic() + 30
    while len(pids) < 2 and time.monotonic() < deadline:
        # a new connection each time, so the kernel can pick either worker
        r = httpx.post(s.url + "/score", content=b"{}", headers={"Connection": "close"})
        if r.status_code == 200:
            pids.add(r.json())
    assert len(pids) == 2
    assert s.stop() == 0


ONE_HELD_BACK = """
import os
import time


def init():
    # the first worker here is held until the test creates "release"; the other starts at once
    try:
        os.close(os.open("held", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    while not os.path.exists("release"):
        time.sleep(0.01)


def run(raw):
    return os.getpid()
"""


def test_a_worker_still_starting_takes_no_request(tmp_path: Path, stop_after: list[Served]) -> None:
    """The worker that reaches init() first (the one that found the port free, and listened at once
    before) is held in init(): once the other is ready, every request is answered by it, none
    with 503 "starting"; released, both serve."""
    write_script(tmp_path, ONE_HELD_BACK)
    s = launch(tmp_path, "--entry-script", "score.py", "--workers", "2")
    stop_after.append(s)
    s.wait_ready()
    statuses = []
    for _ in range(40):  # a new connection each time, so the kernel can pick either listener
        r = httpx.post(s.url + "/score", content=b"{}", headers={"Connection": "close"})
        statuses.append(r.status_code)
    assert statuses == [200] * 40, statuses
    (tmp_path / "release").touch()
    pids: set[int] = set()
    deadline = time.monotonic() + 30
    while len(pids) < 2:
        assert time.monotonic() < deadline, "the held worker never joined"
        r = httpx.post(s.url + "/score", content=b"{}", headers={"Connection": "close"})
        assert r.status_code == 200, r.text
        pids.add(r.json())
    assert s.stop() == 0


def test_sigterm_under_load_drops_no_request(tmp_path: Path) -> None:
    """Two replicas share a port; the old one gets SIGTERM mid-load; every request still succeeds."""
    write_script(tmp_path, QUICK)
    port = free_port()
    # replicas of one service share the port on purpose (--share-port, as the local driver passes)
    env = {"MODELPORT_MAX_CONCURRENT_REQUESTS": "4", "MODELPORT_DRAIN_GRACE": "1",
           "MODELPORT_SHARE_PORT": "1"}  # fmt: skip
    old = launch(tmp_path, "--entry-script", "score.py", env=env, port=port)
    old.wait_ready()
    health = free_port()
    new = launch(
        tmp_path, "--entry-script", "score.py", "--health-port", str(health), env=env, port=port
    )
    try:
        new.wait_ready(port=health)
        stop = threading.Event()
        results: list[tuple[int, int] | str] = []

        def client() -> None:
            with httpx.Client(base_url=old.url, timeout=10) as c:
                while not stop.is_set():
                    try:
                        r = c.post("/score", content=b"{}")
                        results.append((r.status_code, r.json()))
                    except httpx.HTTPError as exc:
                        results.append(repr(exc))

        def answered(pid: int) -> int:
            return sum(1 for r in list(results) if not isinstance(r, str) and r[1] == pid)

        def wait_answers(pid: int, count: int) -> None:
            deadline = time.monotonic() + 30
            while answered(pid) < count:
                assert time.monotonic() < deadline, f"{pid} answered {answered(pid)} of {count}"
                time.sleep(0.02)  # poll interval, bounded by the deadline

        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        wait_answers(old.proc.pid, 20)  # the load is on the old replica when SIGTERM comes
        old.proc.send_signal(signal.SIGTERM)
        assert old.proc.wait(15) == 0
        wait_answers(new.proc.pid, answered(new.proc.pid) + 20)  # and goes on without it
        stop.set()
        for t in threads:
            t.join()
        errors = [r for r in results if isinstance(r, str) or r[0] != 200]
        assert not errors, errors[:5]
        pids = {r[1] for r in results if not isinstance(r, str)}
        assert pids == {old.proc.pid, new.proc.pid}
        assert "draining" in old.log()
        assert "it listens once init() has finished" in new.log()
    finally:
        old.stop()
        new.stop()


def test_sigterm_finishes_in_flight_requests(tmp_path: Path) -> None:
    write_script(
        tmp_path,
        "import time\n\ndef init():\n    pass\n\ndef run(raw):\n    time.sleep(1)\n    return 'finished'\n",
    )
    s = launch(tmp_path, "--entry-script", "score.py")
    s.wait_ready()
    out: list[httpx.Response] = []
    t = threading.Thread(
        target=lambda: out.append(httpx.post(s.url + "/score", content=b"{}", timeout=10))
    )
    t.start()
    wait_in_flight(s, 1)
    os.kill(s.proc.pid, signal.SIGTERM)
    t.join()
    assert out[0].status_code == 200
    assert out[0].json() == "finished"
    assert out[0].headers["connection"] == "close"
    assert s.proc.wait(15) == 0


def test_config_file_and_env_precedence(tmp_path: Path, stop_after: list[Served]) -> None:
    write_script(tmp_path, QUICK)
    (tmp_path / "config.json").write_text(
        '{"AZUREML_ENTRY_SCRIPT": "score.py", "SERVICE_NAME": "from-file", "SCORING_TIMEOUT_MS": 1234}'
    )
    s = launch(tmp_path, "--config-file", "config.json", env={"SERVICE_NAME": "from-env"})
    stop_after.append(s)
    s.wait_ready()
    assert httpx.get(s.url + "/swagger.json").json()["info"]["title"] == "from-env"


def test_bad_option_value_exits_2(tmp_path: Path) -> None:
    write_script(tmp_path, QUICK)
    s = launch(
        tmp_path, "--entry-script", "score.py", env={"MODELPORT_MAX_CONCURRENT_REQUESTS": "many"}
    )
    assert wait_exit(s) == 2
    assert "MODELPORT_MAX_CONCURRENT_REQUESTS" in s.log()


def test_health_port_says_draining_after_sigterm(tmp_path: Path) -> None:
    write_script(tmp_path, QUICK)
    health = free_port()
    s = launch(
        tmp_path,
        "--entry-script",
        "score.py",
        "--health-port",
        str(health),
        env={"MODELPORT_DRAIN_GRACE": "3"},
    )
    try:
        s.wait_ready(port=health)
        s.wait_ready()
        with httpx.Client(base_url=s.url) as keep_alive:
            assert keep_alive.post("/score", content=b"{}").status_code == 200
            os.kill(s.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while (r := httpx.get(f"http://127.0.0.1:{health}/")).status_code == 200:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert (r.status_code, r.text) == (503, "Draining")
            last = keep_alive.post("/score", content=b"{}")
            assert last.status_code == 200
            assert last.headers["connection"] == "close"
        assert s.proc.wait(15) == 0
    finally:
        s.stop()
