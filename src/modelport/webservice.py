"""Web service classes by compute type (``from modelport.webservice import LocalWebservice``).

Each class carries its ``deploy_configuration`` factory, generated from the field table in
``modelport.specs.fields`` so the signature, defaults and validation match the config files.
The HTTP client behaviour (state, run, get_logs, update, delete) comes from
``modelport.sdk.webservice.Webservice``, which these classes subclass (the subclass registers
itself for its compute type).
"""

from __future__ import annotations

from modelport.sdk.webservice import Webservice
from modelport.specs.aks import make_aks_deploy_configuration
from modelport.specs.deployment import DeploymentConfig
from modelport.specs.factories import make_deploy_configuration
from modelport.specs.fields import ACI, AKS, KUBERNETES, LOCAL

__all__ = [
    "AciWebservice",
    "AksWebservice",
    "DeploymentConfig",
    "KubernetesWebservice",
    "LocalWebservice",
    "Webservice",
]


class LocalWebservice(Webservice):
    """A service on this machine (``computeType: local``)."""

    _compute_type = LOCAL
    deploy_configuration = staticmethod(make_deploy_configuration(LOCAL))


class AciWebservice(Webservice):
    """An ACI-style service: one resource-limited instance on this machine (``computeType: ACI``)."""

    _compute_type = ACI
    deploy_configuration = staticmethod(make_deploy_configuration(ACI))


class AksWebservice(Webservice):
    """A service on an attached Kubernetes cluster, configured as v1's AKS (``computeType: AKS``).

    Deploying needs a cluster attached with ``modelport target attach kubernetes`` (docs/kubernetes.md).
    """

    _compute_type = AKS
    deploy_configuration = staticmethod(make_aks_deploy_configuration(AKS))


class KubernetesWebservice(Webservice):
    """A service on an attached Kubernetes cluster (``computeType: kubernetes``, the AKS schema)."""

    _compute_type = KUBERNETES
    deploy_configuration = staticmethod(make_aks_deploy_configuration(KUBERNETES))
