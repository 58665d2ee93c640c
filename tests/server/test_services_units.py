"""The deploy building blocks on their own: secret box, keys and tokens, app-root layout, no-code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

import pytest

from modelport.errors import ServerError, UserError
from modelport.server.crypto import SecretBox, load_or_create_key
from modelport.server.deploy import approot, auth, nocode


def test_secret_key_file_is_created_0600_once_and_round_trips(tmp_path: Path) -> None:
    box = SecretBox.for_home(tmp_path)
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600
    sealed = box.encrypt("primary-key-value")
    assert "primary-key-value" not in sealed
    assert SecretBox.for_home(tmp_path).decrypt(sealed) == "primary-key-value"
    assert load_or_create_key(tmp_path / "secret.key") == (tmp_path / "secret.key").read_bytes()


def test_a_different_secret_key_cannot_decrypt_and_says_so(tmp_path: Path) -> None:
    sealed = SecretBox.for_home(tmp_path / "a").encrypt("k")
    with pytest.raises(ServerError, match=r"secret\.key"):
        SecretBox.for_home(tmp_path / "b").decrypt(sealed)


def test_auth_file_holds_only_hashes_and_is_written_atomically_0600(tmp_path: Path) -> None:
    settings = auth.AuthSettings("key", primary_key="p" * 40, secondary_key="s" * 40)
    doc = settings.auth_file_document("svc")
    assert doc == {
        "mode": "key",
        "keyHashes": [hashlib.sha256(b"p" * 40).hexdigest(), hashlib.sha256(b"s" * 40).hexdigest()],
    }
    path = tmp_path / "svc" / "auth.json"
    auth.write_auth_file(path, doc)
    assert json.loads(path.read_text()) == doc
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["auth.json"]  # no temp file left
    token_doc = auth.AuthSettings("token", token_secret="ab" * 32).auth_file_document("svc")
    assert token_doc == {"mode": "token", "audience": "svc", "secrets": ["ab" * 32]}
    assert auth.AuthSettings("none").auth_file_document("svc") is None


def test_keys_are_random_and_long() -> None:
    keys = {auth.new_key() for _ in range(20)}
    assert len(keys) == 20 and all(len(k) >= 40 for k in keys)


def test_token_is_an_hs256_jwt_for_the_service_with_short_expiry() -> None:
    secret = auth.new_token_secret()
    answer = auth.issue_token("my-svc", secret, now=1_000_000)
    head, body, sig = answer["accessToken"].split(".")

    def decode(part: str) -> dict[str, object]:
        return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))

    assert decode(head) == {"alg": "HS256", "typ": "JWT"}
    claims = decode(body)
    assert claims["aud"] == "my-svc" and claims["iat"] == 1_000_000
    assert claims["exp"] == 1_000_000 + 3600
    assert 1_000_000 < answer["refreshAfter"] < 1_000_000 + 3600
    expected = hmac.new(bytes.fromhex(secret), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == sig


def test_app_root_links_models_copies_sources_and_is_idempotent(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()

    def blob(data: bytes) -> approot.FileEntry:
        sha = hashlib.sha256(data).hexdigest()
        (blobs / sha).write_bytes(data)
        return approot.FileEntry("x", sha, len(data))

    weights = blob(b"weights")
    script = blob(b"def init(): pass\n")
    model = approot.ModelFiles("m", 2, (approot.FileEntry("m.pkl", weights.sha256),))
    app = approot.lay_out(
        tmp_path / "rev-1" / "app",
        [model],
        [approot.FileEntry("src/score.py", script.sha256)],
        lambda sha: blobs / sha,
        {"generated.py": "x = 1\n"},
    )
    linked = app / "azureml-models" / "m" / "2" / "m.pkl"
    assert linked.read_bytes() == b"weights"
    same_inode = os.stat(linked).st_ino == os.stat(blobs / weights.sha256).st_ino
    # a hard link, except for a root server: root could write through it into the shared blob
    assert same_inode is (os.geteuid() != 0)
    copied = app / "src" / "score.py"
    assert os.stat(copied).st_ino != os.stat(blobs / script.sha256).st_ino
    assert (app / "generated.py").read_text() == "x = 1\n"
    assert approot.model_dir_env([model]) == "azureml-models/m/2"
    assert approot.model_dir_env([model, approot.ModelFiles("n", 0, ())]) == "azureml-models"
    # a second call keeps the complete app root as it is
    assert approot.lay_out(app, [], [], lambda sha: blobs / sha) == app
    assert linked.exists()
    with pytest.raises(UserError):
        approot.lay_out(tmp_path / "bad", [], [approot.FileEntry("../x", script.sha256)],
                        lambda sha: blobs / sha)  # fmt: skip


def test_no_code_rules_follow_the_original_messages() -> None:
    curated = {nocode.SCIKITLEARN: "sk-env", nocode.ONNX: "onnx-env"}
    sk = {"framework": "ScikitLearn", "files": [{"path": "model.pkl"}], "properties": {}}
    plan = nocode.plan_no_code([sk], curated)
    assert plan.curated_environment == "sk-env" and "model.pkl" in plan.script
    compile(plan.script, "score.py", "exec")
    onnx = {"framework": "onnx", "files": [{"path": "m/model.onnx"}, {"path": "m/readme.txt"}]}
    plan = nocode.plan_no_code([onnx], curated)
    assert plan.framework == nocode.ONNX and "m/model.onnx" in plan.script
    compile(plan.script, "score.py", "exec")
    with pytest.raises(UserError, match="zero or multiple models"):
        nocode.plan_no_code([sk, sk], curated)
    with pytest.raises(UserError, match="model_framework set to TensorFlow"):
        nocode.plan_no_code([{"framework": "TensorFlow", "files": []}], curated)
    with pytest.raises(UserError, match="method"):
        nocode.plan_no_code([{**sk, "properties": {"method": "fit"}}], curated)
