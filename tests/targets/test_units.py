"""Pure parts of the targets package: failure classification, spec JSON, config mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.specs import ConfigError, DeploymentConfig, parse_deployment_config
from modelport.targets import LivenessProbe, ReplicaSetSpec
from modelport.targets.from_config import replica_set_spec, serving_env
from modelport.targets.local.causes import classify
from modelport.targets.local.limits import check_schedulable, plan
from modelport.targets.local.rundir import since_last_start, tail

INIT_TRACE = [
    "2026-11-26 15:00:00,000 ERROR modelport.serving: init() failed:",
    "Traceback (most recent call last):",
    '  File "/x/worker.py", line 54, in load_and_init',
    "    script.init()",
    '  File "/app/score.py", line 3, in init',
    "    raise ValueError('bad')",
    "ValueError: bad",
    "Model directory :",
]
IMPORT_TRACE = [
    "2026-11-26 15:00:00,000 ERROR modelport.serving: init() failed:",
    "Traceback (most recent call last):",
    '  File "/x/worker.py", line 52, in load_and_init',
    "    script = es.load(path)",
    '  File "<frozen importlib._bootstrap_external>", line 940, in exec_module',
    "ModuleNotFoundError: No module named 'xgboost'",
]


def _classify(code: int | None, lines: list[str], **kw: object) -> object:
    args: dict[str, object] = {"replica": 0, "ever_ready": False, "recent_crashes": 1,
                               "crash_loop_after": 3}  # fmt: skip
    args.update(kw)
    return classify(code, lines, **args)  # type: ignore[arg-type]


def test_exit_codes_map_to_typed_causes() -> None:
    init = _classify(3, INIT_TRACE)
    assert type(init).__name__ == "InitFailed"
    assert init.message == "init() failed in replica 0 (exit code 3): ValueError: bad"  # type: ignore[attr-defined]
    imp = _classify(3, IMPORT_TRACE)
    assert imp.code == "EntryScriptImportFailed"  # type: ignore[attr-defined]
    assert imp.message.endswith("ModuleNotFoundError: No module named 'xgboost'")  # type: ignore[attr-defined]
    contract = _classify(3, ["x ERROR modelport.serving: entry script failed to load: The entry "
                             "script /a/s.py must define run()"])  # fmt: skip
    assert contract.message == (  # type: ignore[attr-defined]
        "the entry script could not be loaded: The entry script /a/s.py must define run()"
    )
    tls = _classify(4, ["error: TLS certificate c.pem and key k.pem cannot be used together: x"])
    assert tls.code == "TlsConfigurationFailed"  # type: ignore[attr-defined]
    listen = _classify(5, ["error: cannot listen on 127.0.0.1:80: Address already in use"])
    assert listen.code == "PortInUse"  # type: ignore[attr-defined]
    assert _classify(-9, []).message == (  # type: ignore[attr-defined]
        "replica 0 was killed by SIGKILL (out of memory, or killed) before it became ready"
    )
    assert _classify(None, []).code == "CrashedAtStart"  # type: ignore[attr-defined]
    assert _classify(1, [], recent_crashes=3).code == "CrashLoop"  # type: ignore[attr-defined]
    assert _classify(-9, [], ever_ready=True) is None  # one crash of a serving replica
    probe = _classify(-9, [], ever_ready=True, recent_crashes=3, killed_by_probe=True)
    assert "liveness probe failed; replica killed" in probe.message  # type: ignore[attr-defined]


def test_log_helpers_read_the_last_start_only(tmp_path: Path) -> None:
    log = tmp_path / "r.log"
    log.write_text("=== modelport: start #1 ===\nold\n=== modelport: start #2 ===\nnew 1\nnew 2\n")
    assert tail(log, 2) == ["new 1", "new 2"]
    assert since_last_start(tail(log, 100)) == ["new 1", "new 2"]
    assert tail(tmp_path / "missing.log", 5) == []


def test_replica_set_spec_json_round_trip_and_validation() -> None:
    spec = ReplicaSetSpec("ws/svc", 2, "/app", ("--entry-script", "s.py"), {"A": "1"}, replicas=3,
                          cpu_cores=1.0, liveness=LivenessProbe(period_seconds=2))  # fmt: skip
    assert ReplicaSetSpec.from_json(spec.to_json()) == spec
    for bad in ("../x", "a/b/c", "", "/abs"):
        with pytest.raises(ValueError, match="service key"):
            ReplicaSetSpec(bad, 1, "/app")
    with pytest.raises(ValueError, match="tls_cert and tls_key go together"):
        ReplicaSetSpec("s", 1, "/app", tls_cert="c.pem")


def test_deployment_config_maps_to_serving_env_and_spec() -> None:
    config = parse_deployment_config({
        "computeType": "ACI", "numReplicas": 2, "port": 8123,
        "containerResourceRequirements": {"cpu": 1, "memoryInGB": 2},
        "maxConcurrentRequestsPerContainer": 4, "maxQueueWaitMs": 250, "scoringTimeoutMs": 1000,
        "livenessProbeRequirements": {"periodSeconds": 7, "failureThreshold": 5},
    })  # fmt: skip
    assert serving_env(config) == {
        "MODELPORT_MAX_CONCURRENT_REQUESTS": "4",
        "MODELPORT_MAX_QUEUE_WAIT_MS": "250",
        "MODELPORT_SCORING_TIMEOUT_MS": "1000",
    }
    spec = replica_set_spec(config, service="ws/s", revision=1, working_dir="/app",
                            env={"AZUREML_MODEL_DIR": "m"})  # fmt: skip
    assert (spec.replicas, spec.port, spec.cpu_cores, spec.memory_gb) == (2, 8123, 1.0, 2.0)
    assert spec.env["AZUREML_MODEL_DIR"] == "m" and spec.env["MODELPORT_MAX_QUEUE_WAIT_MS"] == "250"
    assert spec.liveness == LivenessProbe(7, 2, 5, 1, 0)
    # the workspace server writes the PEM files and hands their paths over
    tls = DeploymentConfig(
        "local", {"ssl_enabled": True, "ssl_cert_pem_file": "c", "ssl_key_pem_file": "k"}
    )
    assert replica_set_spec(tls, service="s", revision=1, working_dir="/app", tls_cert="/c.pem",
                            tls_key="/k.pem").tls_cert == "/c.pem"  # fmt: skip
    with pytest.raises(ConfigError, match="no TLS certificate and key reached the target"):
        replica_set_spec(tls, service="s", revision=1, working_dir="/app")
    auth = parse_deployment_config({"computeType": "local", "authEnabled": True})
    with pytest.raises(ConfigError, match="no auth file reached the target"):
        replica_set_spec(auth, service="s", revision=1, working_dir="/app")
    assert replica_set_spec(auth, service="s", revision=1, working_dir="/app",
                            auth_file="/k.json").auth_file == "/k.json"  # fmt: skip
    with pytest.raises(ConfigError, match="needs the kubernetes target"):
        replica_set_spec(parse_deployment_config({"computeType": "aks"}), service="s",
                         revision=1, working_dir="/app")  # fmt: skip


def test_limits_plan_without_limits_does_nothing_and_schedulability_is_checked() -> None:
    assert plan(None, None, 0, "g").report.method == "none"
    assert check_schedulable(None, None, 100) is None
    assert check_schedulable(0.1, 0.1, 1) is None
    too_many = check_schedulable(1000.0, None, 1)
    assert too_many is not None and too_many.code == "Unschedulable"
