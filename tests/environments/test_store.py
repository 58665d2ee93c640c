"""The lookups the deploy code uses inside the server process, on a real migrated SQLite store."""

import pytest

from modelport.environments import EnvironmentSpec, from_azure_json
from modelport.errors import NotFound, UserError
from modelport.server.main import build_context
from modelport.server.settings import ServerSettings
from modelport.server.store import environments as env_store
from modelport.server.store import workspaces


@pytest.fixture
def server(tmp_path):
    ctx = build_context(ServerSettings(home=tmp_path / "home"))
    yield ctx
    ctx.store.dispose()


def _register(ctx, ws_name: str, spec: EnvironmentSpec) -> int:
    with ctx.store.write() as session:
        try:
            ws = workspaces.get(session, ws_name)
        except NotFound:
            ws = workspaces.create(session, ws_name, None)
        row, _ = env_store.register(session, ws.id, spec)
        return row.version


def test_azure_json_for_registered_and_curated(server):
    _register(server, "default", EnvironmentSpec(name="svc-env", pip_packages=("six",)))
    _register(server, "default", EnvironmentSpec(name="svc-env", pip_packages=("joblib",)))
    latest = env_store.azure_json_for(server, "svc-env", None)
    assert latest["version"] == "2"
    assert from_azure_json(latest).pip_packages == ("joblib",)
    assert env_store.azure_json_for(server, "svc-env", "1", workspace="default")["version"] == "1"
    assert env_store.azure_json_for(server, "svc-env", 1)["version"] == "1"
    curated = env_store.azure_json_for(server, "azureml-minimal", None)
    assert curated["name"] == "AzureML-Minimal"
    with pytest.raises(NotFound):
        env_store.azure_json_for(server, "svc-env", "9")
    with pytest.raises(NotFound):
        env_store.azure_json_for(server, "nope", None)


def test_same_name_in_two_workspaces_needs_the_workspace(server):
    _register(server, "default", EnvironmentSpec(name="shared", pip_packages=("six",)))
    _register(server, "other", EnvironmentSpec(name="shared", pip_packages=("joblib",)))
    with pytest.raises(UserError, match="several workspaces"):
        env_store.azure_json_for(server, "shared", None)
    other = env_store.azure_json_for(server, "shared", None, workspace="other")
    assert from_azure_json(other).pip_packages == ("joblib",)


def test_lock_is_recorded_and_returned_with_the_spec(server):
    _register(server, "default", EnvironmentSpec(name="locked", pip_packages=("six",)))
    spec, lock = env_store.spec_for(server, "locked", None)
    assert spec.name == "locked" and lock is None
    env_store.record_lock(server, "locked", "latest", "six==1.16.0\n")
    assert env_store.spec_for(server, "locked", 1)[1] == "six==1.16.0\n"
    env_store.record_lock(server, "AzureML-Minimal", None, "ignored\n")  # curated: nothing stored
    assert env_store.spec_for(server, "AzureML-Minimal", None)[1] is None
