"""Deploy, score, update, reload and delete real services through the REST API."""

from __future__ import annotations

import threading

import httpx

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import (
    DIGITS_SCORE,
    SKLEARN,
    WS,
    delete_and_wait,
    deploy,
    deployed,
    digits_model,
    digits_rows,
    module_server,
    port_is_free,
    register_model,
    replica_pids,
    tagged_script,
    wait_state,
    wait_until,
)

server = module_server("lifecycle")


def test_digits_model_with_entry_script_becomes_healthy_and_scores(server: ServerProcess) -> None:
    client = server.client()
    register_model(client, "digits", "digits.pkl", digits_model(), framework="ScikitLearn")
    service = deployed(
        client,
        deploy(client, "digits-svc", models=["digits:1"], script=DIGITS_SCORE, environment=SKLEARN),
    )
    assert service["_operation"]["state"] == "Succeeded", service
    assert service["state"] == "Healthy"
    assert service["models"] == ["digits:1"]
    assert service["scoringUri"].endswith("/score")
    answer = httpx.post(service["scoringUri"], json={"data": digits_rows(3)}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()) == 3 and all(0 <= d <= 9 for d in answer.json())
    logs = client.get(f"{WS}/services/digits-svc/logs").json()["content"]
    assert "Environment" in logs and "ready" in logs
    # the model is in use: deleting it is refused with the registry's message
    r = client.delete(f"{WS}/models/digits/versions/1")
    assert r.status_code == 412 and "digits-svc" in r.json()["message"]
    assert r.json()["message"].startswith("The model cannot be deleted because it is currently")
    port = service["port"]
    delete_and_wait(client, "digits-svc")
    wait_until(lambda: not replica_pids(server.home), 30, "replicas to exit")
    assert port_is_free(port)
    assert client.delete(f"{WS}/models/digits/versions/1").status_code == 204


def test_no_code_scikit_learn_deploy_scores_with_predict(server: ServerProcess) -> None:
    client = server.client()
    register_model(client, "digits-nc", "digits.pkl", digits_model(), framework="ScikitLearn")
    service = deployed(client, deploy(client, "nocode-svc", models=["digits-nc:1"]))
    assert service["state"] == "Healthy", service
    answer = httpx.post(service["scoringUri"], json={"data": digits_rows(2)}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()) == 2
    proba = httpx.post(
        service["scoringUri"], json={"data": digits_rows(1), "method": "predict_proba"}, timeout=30
    )
    assert len(proba.json()[0]) == 10
    delete_and_wait(client, "nocode-svc")


def test_update_under_load_has_zero_failed_requests(server: ServerProcess) -> None:
    client = server.client()
    service = deployed(client, deploy(client, "rolling", script=tagged_script("one")))
    assert service["state"] == "Healthy", service
    uri = service["scoringUri"]
    seen: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=10) as c:
            while not stop.is_set():
                try:
                    r = c.post(uri, content=b"{}")
                    if r.status_code != 200:
                        failures.append(f"{r.status_code} {r.text[:80]}")
                    else:
                        seen.append(r.json()["revision"])
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        from tests.e2e.deploy_support import snapshot

        r = client.patch(
            f"{WS}/services/rolling",
            json={"sourceSnapshot": snapshot(client, {"score.py": tagged_script("two", 1.0)})},
        )
        updated = deployed(client, r)
        assert updated["_operation"]["state"] == "Succeeded", updated
        wait_until(lambda: bool(seen) and seen[-1] == "two", 30, "the new revision to answer")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures[:5]
    assert "one" in seen and "two" in seen
    assert updated["revision"] == 2
    delete_and_wait(client, "rolling")


def test_failed_update_keeps_the_old_revision_serving(server: ServerProcess) -> None:
    client = server.client()
    service = deployed(client, deploy(client, "keepold", script=tagged_script("good")))
    assert service["state"] == "Healthy", service
    from tests.e2e.deploy_support import snapshot

    broken = "def init():\n    raise RuntimeError('model file is corrupt')\n\ndef run(x):\n    return x\n"
    r = client.patch(
        f"{WS}/services/keepold", json={"sourceSnapshot": snapshot(client, {"score.py": broken})}
    )
    after = deployed(client, r)
    op = after["_operation"]
    assert op["state"] == "Failed"
    assert op["error"]["code"] == "InitFailed", op
    assert any("model file is corrupt" in line for line in op["error"]["details"]), op
    assert after["state"] == "Healthy" and after["revision"] == 1
    answer = httpx.post(after["scoringUri"], content=b"{}", timeout=10)
    assert answer.json() == {"revision": "good"}
    delete_and_wait(client, "keepold")


def test_killed_replica_is_restarted_and_service_healthy_again(server: ServerProcess) -> None:
    import os
    import signal

    client = server.client()
    service = deployed(client, deploy(client, "phoenix", script=tagged_script("x")))
    assert service["state"] == "Healthy", service
    (pid,) = replica_pids(server.home)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: replica_pids(server.home) not in ([], [pid]), 30, "a new replica")

    def restarted_and_ready() -> bool:
        replicas = client.get(f"{WS}/services/phoenix").json()["replicas"]
        return bool(replicas) and replicas[0]["restarts"] >= 1 and replicas[0]["ready"]

    wait_until(restarted_and_ready, 60, "the restarted replica to be ready")
    healthy = wait_state(client, "phoenix", ("Healthy",), 30)
    assert httpx.post(healthy["scoringUri"], content=b"{}", timeout=10).status_code == 200
    delete_and_wait(client, "phoenix")
    assert not replica_pids(server.home)
