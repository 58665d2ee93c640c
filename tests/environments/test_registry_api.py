"""The environments REST API against a real workspace server process."""

import pytest

WS = "/workspaces/default/environments"


def env_json(name: str, pip=("six",), env_vars=None) -> dict:
    return {
        "name": name,
        "version": None,
        "environmentVariables": env_vars or {},
        "python": {
            "userManagedDependencies": False,
            "interpreterPath": "python",
            "condaDependencies": {
                "name": "project_environment",
                "channels": ["conda-forge"],
                "dependencies": ["python=3.11", {"pip": list(pip)}],
            },
        },
    }


@pytest.fixture(scope="module")
def api(workspace_server):
    return workspace_server.client()


def test_register_gives_version_1_then_2_and_identical_spec_returns_latest(api):
    first = api.post(WS, json=env_json("reg-a"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["name"], body["version"], body["id"]) == ("reg-a", "1", "reg-a:1")
    assert body["environment"]["version"] == "1"
    assert body["environment"]["python"]["condaDependencies"]["dependencies"][1] == {"pip": ["six"]}
    assert body["curated"] is False and body["lock"] is None
    same = api.post(WS, json=env_json("reg-a"))
    assert same.status_code == 200 and same.json()["version"] == "1"
    changed = api.post(WS, json=env_json("reg-a", pip=("six", "joblib")))
    assert changed.status_code == 201 and changed.json()["version"] == "2"
    latest = api.get(f"{WS}/reg-a/versions/latest").json()
    assert latest["version"] == "2"
    assert api.get(f"{WS}/reg-a/versions/1").json()["environment"]["python"]["condaDependencies"][
        "dependencies"
    ][1] == {"pip": ["six"]}


@pytest.mark.parametrize("name", ["AzureML-mine", "microsoft-env"])
def test_reserved_names_are_refused(api, name):
    r = api.post(WS, json=env_json(name))
    assert r.status_code == 400
    assert "reserved" in r.json()["message"]


def test_bad_environment_json_is_400_with_a_message(api):
    r = api.post(
        WS, json={"name": "bad", "python": {"condaDependencies": {"dependencies": ["r-base"]}}}
    )
    assert r.status_code == 400
    assert "'r-base'" in r.json()["message"]


def test_curated_environments_are_listed_and_readable_but_read_only(api):
    names = [e["name"] for e in api.get(WS, params={"limit": 1000}).json()["value"] if e["curated"]]
    assert "AzureML-Minimal" in names
    assert "AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference" in names
    got = api.get(f"{WS}/AzureML-onnxruntime-1.6-ubuntu18.04-py37-cpu-inference/versions/latest")
    assert got.status_code == 200 and got.json()["curated"] is True
    assert api.get(f"{WS}/AzureML-Minimal/versions/1").json()["version"] == "1"
    assert api.get(f"{WS}/AzureML-Minimal/versions/2").status_code == 404
    put = api.put(f"{WS}/AzureML-Minimal/versions/1/lock", json={"lock": "x==1\n"})
    assert put.status_code == 400


def test_list_pages_through_curated_then_registered(api):
    for i in range(3):
        assert api.post(WS, json=env_json(f"page-{i}")).status_code in (200, 201)
    seen, after = [], None
    while True:
        params = {"limit": 2, **({"after": after} if after else {})}
        page = api.get(WS, params=params).json()
        assert len(page["value"]) <= 2
        seen += [e["id"] for e in page["value"]]
        after = page["next"]
        if not after:
            break
    assert len(seen) == len(set(seen))
    curated_ids = [i for i in seen if i.startswith("AzureML")]
    assert seen[: len(curated_ids)] == curated_ids  # curated first
    assert {"page-0:1", "page-1:1", "page-2:1"} <= set(seen)
    latest = api.get(WS, params={"latest": "true", "curated": "false", "limit": 1000}).json()
    ids = [e["id"] for e in latest["value"]]
    assert "reg-a:2" in ids and "reg-a:1" not in ids
    only = api.get(WS, params={"name": "reg-a", "curated": "false"}).json()
    assert [e["id"] for e in only["value"]] == ["reg-a:2", "reg-a:1"]


def test_lock_is_stored_with_the_version(api):
    api.post(WS, json=env_json("locked"))
    r = api.put(f"{WS}/locked/versions/1/lock", json={"lock": "six==1.16.0\n"})
    assert r.status_code == 200 and r.json()["lock"] == "six==1.16.0\n"
    assert api.get(f"{WS}/locked/versions/latest").json()["lock"] == "six==1.16.0\n"


def test_unknown_environment_or_version_is_404(api):
    assert api.get(f"{WS}/nope/versions/latest").status_code == 404
    assert api.get(f"{WS}/reg-a/versions/99").status_code == 404
    assert api.get(f"{WS}/reg-a/versions/x").status_code == 404
    assert api.get("/workspaces/nows/environments").status_code == 404


def test_requires_the_token(workspace_server):
    c = workspace_server.client(token="wrong")
    assert c.get(WS).status_code == 401


def _register_concurrently(client, name: str, n: int = 6) -> list:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: client.post(WS, json=env_json(name)), range(n)))


def test_identical_concurrent_registrations_make_one_version(api):
    results = _register_concurrently(api, "racy")
    assert sorted(r.status_code for r in results) == [200] * 5 + [201]
    assert {r.json()["version"] for r in results} == {"1"}


def test_registry_on_postgresql(server_factory, pg_url):
    server = server_factory(database_url=pg_url)
    client = server.client()
    results = _register_concurrently(client, "pg-env")
    assert {r.json()["version"] for r in results} == {"1"}
    assert client.post(WS, json=env_json("pg-env", pip=("joblib",))).json()["version"] == "2"
    latest = client.get(WS, params={"latest": "true", "curated": "false"}).json()["value"]
    assert [e["id"] for e in latest] == ["pg-env:2"]
    lock = client.put(f"{WS}/pg-env/versions/2/lock", json={"lock": "joblib==1.6.0\n"})
    assert lock.json()["lock"] == "joblib==1.6.0\n"
