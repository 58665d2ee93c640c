"""service export --format kubernetes of a deployed (ACI-style) service: config and key hashes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelport import Model, Workspace
from modelport.server.deploy.auth import key_hash
from modelport.webservice import AciWebservice
from tests.cli.conftest import run_cli
from tests.e2e import sdk_deploy_support as fixtures
from tests.e2e.sdk_deploy_support import digits_config

deploy_server = fixtures.deploy_server
digits = fixtures.digits
ws = fixtures.ws


def test_export_of_a_deployed_service_carries_its_config_and_key_hashes(
    ws: Workspace, digits: Model, deploy_server: Any, tmp_path: Path
) -> None:
    config = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1, auth_enabled=True)
    service = Model.deploy(ws, "k8s-export", [digits], digits_config(tmp_path), config)
    try:
        service.wait_for_deployment(timeout_sec=300)
        out = run_cli("service", "export", "-w", ws.name, "-n", "k8s-export", "-o", "json",
                      env=deploy_server.env)  # fmt: skip
        assert out.returncode == 0, out.stderr
        objects = {o["kind"]: o for o in json.loads(out.stdout)}
        assert set(objects) == {"Secret", "Deployment", "Service"}
        container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1024Mi"}
        assert container["image"] == "localhost/default/k8s-export:rev-1"
        doc = json.loads(objects["Secret"]["stringData"]["auth.json"])
        assert doc == {"mode": "key", "keyHashes": [key_hash(k) for k in service.get_keys()]}
        assert "no Kubernetes target is attached" in out.stderr
    finally:
        service.delete()
