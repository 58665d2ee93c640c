"""From a validated deployment configuration to what a target runs: ReplicaSetSpec and env vars.

The one place where deployment-config values meet the inference server's settings, so the
reconciler cannot forget one (e.g. TLS asked for but no certificate handed to the target).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from modelport.specs.deployment import DeploymentConfig
from modelport.specs.errors import ConfigError
from modelport.specs.fields import ACI, LOCAL
from modelport.targets.base import LivenessProbe, ReplicaSetSpec

# deployment-config parameter -> inference-server environment variable (modelport.serving.settings)
SERVING_ENV = {
    "replica_max_concurrent_requests": "MODELPORT_MAX_CONCURRENT_REQUESTS",
    "max_request_wait_time": "MODELPORT_MAX_QUEUE_WAIT_MS",
    "scoring_timeout_ms": "MODELPORT_SCORING_TIMEOUT_MS",
}
LOCAL_COMPUTE_TYPES = (LOCAL, ACI)


def serving_env(config: DeploymentConfig) -> dict[str, str]:
    """The ``MODELPORT_*`` variables that carry the config's request limits to each replica."""
    values = config.values()
    return {env: str(values[name]) for name, env in SERVING_ENV.items() if values[name] is not None}


def liveness_probe(config: DeploymentConfig) -> LivenessProbe:
    return LivenessProbe(
        period_seconds=config.period_seconds,
        timeout_seconds=config.timeout_seconds,
        failure_threshold=config.failure_threshold,
        success_threshold=config.success_threshold,
        initial_delay_seconds=config.initial_delay_seconds,
    )


def replica_set_spec(
    config: DeploymentConfig,
    *,
    service: str,
    revision: int,
    working_dir: str,
    argv: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    auth_file: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    host: str = "127.0.0.1",
) -> ReplicaSetSpec:
    """The local target's spec for one revision of a service deployed with ``config``.

    ``env`` (e.g. ``AZUREML_MODEL_DIR``, the environment's variables) goes under the config's own
    variables. Auth and TLS files are written by the caller (the workspace server holds the keys).
    """
    if config.compute_type not in LOCAL_COMPUTE_TYPES:
        raise ConfigError(
            [
                f"computeType {config.compute_type} needs the kubernetes target "
                "(targets/kubernetes), not a local replica set"
            ]
        )
    if config.ssl_enabled and not (tls_cert and tls_key):
        raise ConfigError(["sslEnabled is true but no TLS certificate and key reached the target"])
    wants_auth = config.auth_enabled or getattr(config, "token_auth_enabled", False)
    if wants_auth and not auth_file:
        raise ConfigError(["auth is enabled but no auth file reached the target"])
    return ReplicaSetSpec(
        service=service,
        revision=revision,
        working_dir=working_dir,
        argv=tuple(argv),
        env={**(env or {}), **serving_env(config)},
        replicas=config.num_replicas,
        port=config.port,
        host=host,
        python=python,
        cpu_cores=config.cpu_cores,
        memory_gb=config.memory_gb,
        liveness=liveness_probe(config),
        auth_file=auth_file if wants_auth else None,
        tls_cert=tls_cert if config.ssl_enabled else None,
        tls_key=tls_key if config.ssl_enabled else None,
    )
