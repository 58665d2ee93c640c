"""An entry script must not be able to change a stored model blob through its model folder:
model files in an app root are hard links of content-addressed blobs shared by every model (and
workspace) with the same bytes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ServerFactory
from tests.e2e.deploy_support import WS, deploy, deployed, register_model, start_deploy_server
from tests.security.support import blob_problems

WRITER = """
import os

def init():
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "w.bin")
    try:
        with open(path, "r+b") as f:
            f.write(b"EVIL")
    except OSError:
        pass  # refused: what we want

def run(raw):
    return 1
"""


def test_entry_script_writing_its_model_file_does_not_change_the_blob(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = start_deploy_server(server_factory, tmp_path / "home")
    c = server.client()
    register_model(c, "victim", "w.bin", b"original weights")
    try:
        svc = deployed(c, deploy(c, "writer", models=["victim:1"], script=WRITER))
        assert svc["state"] == "Healthy", svc
        assert blob_problems(server.home / "artifacts") == []
        files = c.get(f"{WS}/models/victim/versions/1").json()["files"]
        assert c.get(f"{WS}/blobs/{files[0]['sha256']}").content == b"original weights"
    finally:
        c.delete(f"{WS}/services/writer")
