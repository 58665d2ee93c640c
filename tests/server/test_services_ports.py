"""A port another modelport service holds is refused up front (409 naming that service)."""

from __future__ import annotations

from tests.conftest import ServerProcess
from tests.e2e.deploy_support import WS, deploy, module_server, wait_operation

server = module_server("ports")
SCRIPT = "def init(): pass\ndef run(x): return x\n"


def test_deploying_on_a_port_another_service_holds_is_409_naming_it(
    server: ServerProcess,
) -> None:
    client = server.client()
    first = deploy(client, "holder", script=SCRIPT)
    assert first.status_code == 202, first.text
    port = first.json()["service"]["port"]

    for workspace_path, name in ((WS, "squatter"), (WS, "holder2")):
        r = deploy(client, name, script=SCRIPT, config={"computeType": "local", "port": port})
        assert r.status_code == 409, r.text
        message = r.json()["message"]
        assert f"port {port} is already used by service holder in workspace default" in message
        assert "pid" not in message
        assert client.get(f"{workspace_path}/services/{name}").status_code == 404

    # the service itself may name its own port again (an overwrite or an update keeps it)
    wait_operation(client, first.json()["operation"]["id"])
    again = deploy(client, "holder", script=SCRIPT, overwrite=True,
                   config={"computeType": "local", "port": port})  # fmt: skip
    assert again.status_code == 202, again.text
    wait_operation(client, again.json()["operation"]["id"])
    other = deploy(client, "other", script=SCRIPT)
    assert other.status_code == 202
    wait_operation(client, other.json()["operation"]["id"])
    moved = client.patch(
        f"{WS}/services/other", json={"deploymentConfig": {"computeType": "local", "port": port}}
    )
    assert moved.status_code == 409 and "service holder" in moved.json()["message"]
