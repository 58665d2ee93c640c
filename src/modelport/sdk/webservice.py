"""``Webservice``: a deployed service, as Azure ML v1's ``azureml.core.webservice.Webservice``.

A thin client of the services API (docs/deploy.md): attributes come from the Service document,
operations return once the server has accepted them, and ``wait_for_deployment`` follows the
current operation. ``Webservice(ws, name)`` returns the typed subclass of the service's compute
type (``LocalWebservice``, ``AciWebservice`` from ``modelport.webservice``).
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from modelport.errors import (
    ModelportError,
    NotFound,
    OperationTimeout,
    WebserviceException,
)
from modelport.sdk import _follow
from modelport.sdk._http import seg
from modelport.sdk._service_auth import ServiceAuth
from modelport.sdk._service_errors import LOG_TAIL, operation_failure
from modelport.sdk._service_score import score
from modelport.sdk._service_update import update_body

if TYPE_CHECKING:
    from modelport.sdk.model import Model
    from modelport.sdk.workspace import Workspace

__all__ = ["OperationTimeout", "Webservice", "WebserviceException"]


class Webservice(ServiceAuth):
    """A web service in a workspace: ``Webservice(ws, "name")`` or ``Webservice.list(ws)``."""

    _compute_type: ClassVar[str | None] = None
    _by_compute_type: ClassVar[dict[str, type[Webservice]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._compute_type:
            Webservice._by_compute_type[cls._compute_type.lower()] = cls

    def __new__(cls, workspace: Workspace | None = None, name: str | None = None) -> Webservice:
        if cls is not Webservice or workspace is None or name is None:
            return super().__new__(cls)
        details = _fetch(workspace, name)
        obj = super().__new__(_class_for(details.get("computeType")))
        obj.__dict__["_prefetched"] = details
        return obj

    def __init__(self, workspace: Workspace, name: str) -> None:
        details = self.__dict__.pop("_prefetched", None) or _fetch(workspace, name)
        self.workspace = workspace
        self._operation_id: str | None = None
        self._set(details)

    @classmethod
    def _from_json(cls, workspace: Workspace, details: Mapping[str, Any]) -> Webservice:
        obj = object.__new__(_class_for(details.get("computeType")))
        obj.workspace = workspace
        obj._operation_id = None
        obj._set(details)
        return obj

    @classmethod
    def _from_answer(cls, workspace: Workspace, answer: Mapping[str, Any]) -> Webservice:
        """The service of a 202 ``{"service", "operation"}`` answer, following that operation."""
        service = cls._from_json(workspace, answer["service"])
        service._operation_id = answer["operation"]["id"]
        return service

    def _set(self, d: Mapping[str, Any]) -> None:
        self._raw = dict(d)
        self.name: str = d["name"]
        self.compute_type: str = d.get("computeType") or "local"
        self.state: str | None = d.get("state")
        self.error: dict[str, Any] | None = d.get("error")
        self.scoring_uri: str | None = d.get("scoringUri")
        self.swagger_uri: str | None = d.get("swaggerUri")
        self.port: int | None = d.get("port")
        self.model_ids: list[str] = [str(m) for m in d.get("models") or []]
        self.tags: dict[str, str] = dict(d.get("tags") or {})
        self.properties: dict[str, str] = dict(d.get("properties") or {})
        self.description: str | None = d.get("description")
        self.created_time: dt.datetime | None = _time(d.get("createdTime"))
        self.updated_time: dt.datetime | None = _time(d.get("updatedTime"))
        self.auth_enabled: bool = bool(d.get("authEnabled", False))
        self.token_auth_enabled: bool = bool(d.get("tokenAuthEnabled", False))
        self.ssl_enabled: bool = bool(d.get("sslEnabled", False))
        self._ssl_certificate: str | None = d.get("sslCertificate")
        self.num_replicas: int | None = d.get("numReplicas")
        self.deployment_config: dict[str, Any] = dict(d.get("deploymentConfig") or {})
        self.environment: dict[str, Any] | None = d.get("environment")
        self.revision: int | None = d.get("revision")
        self.replicas: list[dict[str, Any]] = list(d.get("replicas") or [])
        self._operation_id = d.get("operationId") or self._operation_id
        self._models: list[Model] | None = None

    # -- v1 attributes -----------------------------------------------------------------------

    @property
    def models(self) -> builtins.list[Model]:
        """The deployed models as Model objects (fetched once)."""
        if self._models is None:
            from modelport.sdk.model import Model

            self._models = [Model(self.workspace, id=ref) for ref in self.model_ids]
        return self._models

    @property
    def image_id(self) -> None:
        """v1 built a Docker image per service; modelport builds none."""
        return None

    @property
    def _path(self) -> str:
        return f"/workspaces/{seg(self.workspace.name)}/services/{seg(self.name)}"

    @property
    def _client(self) -> Any:
        return self.workspace._client

    @staticmethod
    def deserialize(workspace: Workspace, webservice_payload: Mapping[str, Any]) -> Webservice:
        """A Webservice from its serialized (camelCase) form, without asking the server."""
        return Webservice._from_json(workspace, webservice_payload)

    # -- listing -----------------------------------------------------------------------------

    @staticmethod
    def list(
        workspace: Workspace,
        compute_type: str | None = None,
        image_name: str | None = None,
        image_id: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        image_digest: str | None = None,
    ) -> builtins.list[Webservice]:
        """Services matching every filter (tags/properties: ``'key'`` or ``['key', 'value']``)."""
        return builtins.list(
            Webservice._iter(
                workspace,
                compute_type=compute_type,
                model_name=model_name,
                model_id=model_id,
                tags=tags,
                properties=properties,
            )
        )

    @staticmethod
    def _iter(
        workspace: Workspace,
        *,
        compute_type: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
    ) -> Any:
        from modelport.sdk.model import _filter_param

        params = {
            "computeType": compute_type,
            "modelName": model_name,
            "modelId": model_id,
            "tags": _filter_param(tags, "tags"),
            "properties": _filter_param(properties, "properties"),
        }
        path = f"/workspaces/{seg(workspace.name)}/services"
        for item in workspace._client.paginate(path, params):
            yield Webservice._from_json(workspace, item)

    # -- state -------------------------------------------------------------------------------

    def update_deployment_state(self) -> None:
        """Refresh every attribute from the server."""
        self._set(_fetch(self.workspace, self.name))

    def wait_for_deployment(
        self, show_output: bool = False, timeout_sec: float | None = None
    ) -> None:
        """Follow the current operation to its end; raise WebserviceException unless it succeeded.

        With ``show_output`` the deployment log (environment build, replicas starting, probes) is
        printed as it grows.
        """
        if self._operation_id is None:
            self.update_deployment_state()
        if self._operation_id is None:
            return
        operation: dict[str, Any] = {}
        for event in _follow.follow(
            self._client,
            self.workspace.name,
            self.name,
            self._operation_id,
            timeout_sec=timeout_sec,
            logs=show_output,
        ):
            if event.kind == "log" and show_output:
                print(event.line, flush=True)
            elif event.kind == "operation" and event.operation is not None:
                operation = event.operation
                if show_output:
                    print(
                        f"{operation.get('kind', 'Deploy')}: {operation.get('state')}", flush=True
                    )
        try:
            self.update_deployment_state()
        except NotFound:
            if operation.get("kind") == "Delete" and operation.get("state") == "Succeeded":
                return
            raise
        if operation.get("state") != "Succeeded":
            raise self.failure(operation)
        if show_output:
            kind = self.compute_type.upper() if self.compute_type != "local" else "Local"
            print(f'{kind} service creation operation finished, operation "Succeeded"', flush=True)

    def failure(self, operation: Mapping[str, Any]) -> WebserviceException:
        """The exception for a failed operation, in v1's message shape plus the log tail."""
        return operation_failure(
            self.state, operation, self.error, self._operation_id, self._log_tail
        )

    def _log_tail(self) -> builtins.list[str]:
        try:
            return self.get_logs(num_lines=LOG_TAIL).splitlines()
        except ModelportError:
            return []

    def get_logs(self, num_lines: int = 5000, init: bool = False, raw: bool = False) -> str:
        """The deployment log (environment build, replica start, probes) then the replicas' logs."""
        answer = self._client.get(f"{self._path}/logs", {"numLines": int(num_lines)})
        return str(answer.get("content", ""))

    def get_telemetry(self, **filters: Any) -> builtins.list[dict[str, Any]]:
        """Requests, traces and exceptions the replicas reported (see sdk/observe.py)."""
        from modelport.sdk.observe import get_telemetry

        return get_telemetry(self, **filters)

    def get_model_data(self, **options: Any) -> Any:
        """Rows ModelDataCollector collected (see sdk/observe.py)."""
        from modelport.sdk.observe import get_model_data

        return get_model_data(self, **options)

    def get_metrics(self, since: str | None = None) -> builtins.list[dict[str, Any]]:
        """The service's recent figures across replicas (see sdk/observe.py)."""
        from modelport.sdk.observe import get_metrics

        return get_metrics(self, since)

    # -- scoring -----------------------------------------------------------------------------

    def run(self, input_data: Any) -> Any:
        """POST ``input_data`` to the scoring URI; on 401 fetch a key or a token and retry once."""
        return score(self, input_data)

    # -- changes -----------------------------------------------------------------------------

    def update(
        self,
        models: Sequence[Model | str] | None = None,
        inference_config: Any = None,
        deployment_config: Any = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
        environment: Any = None,
        wait: bool = False,
        show_output: bool = False,
        **config_fields: Any,
    ) -> None:
        """Change what is given (others are kept); new replicas are up before the old ones go.

        Deployment-config fields may be given by name too (``auth_enabled=True``); v1's
        ``image``/``image_config`` have no meaning here and are refused.
        """
        body = update_body(
            self, models, inference_config, deployment_config, tags, properties, description,
            environment, show_output, config_fields,
        )  # fmt: skip
        self._accepted(self._client.patch(self._path, body))
        if wait:
            self.wait_for_deployment(show_output=show_output)

    def reload(self, wait: bool = False, show_output: bool = False) -> None:
        """Restart the replicas with the source files as they are now on disk (no rebuild)."""
        from modelport.sdk import _snapshot  # the specs and YAML: listing services needs neither

        spec = _snapshot.spec_from_properties(self.properties)
        body: dict[str, Any] = {}
        if spec is not None:
            files = _snapshot.upload_snapshot(self._client, self.workspace.name, spec)
            body["sourceSnapshot"] = {"files": files}
        response = self._client.request("POST", f"{self._path}/reload", json=body)
        self._accepted(response.json())
        if wait:
            self.wait_for_deployment(show_output=show_output)

    def _accepted(self, answer: Mapping[str, Any]) -> None:
        if "service" in answer:
            self._set(answer["service"])
        self._operation_id = answer["operation"]["id"]

    def delete(self) -> None:
        """Delete the service and wait until its replicas are gone and its port is free."""
        try:
            answer = self._client.request("DELETE", self._path).json()
        except NotFound:
            raise NotFound(f"No service with name {self.name} found to delete.") from None
        self._operation_id = answer["operation"]["id"]
        operation: dict[str, Any] = {}
        for event in _follow.follow(
            self._client, self.workspace.name, self.name, self._operation_id, logs=False
        ):
            if event.operation is not None:
                operation = event.operation
        if operation.get("state") != "Succeeded":
            error = operation.get("error") or {}
            raise WebserviceException(
                f"Deleting service {self.name} failed: {error.get('code', 'Failed')}: "
                f"{error.get('message', 'see the logs')}",
                state="Failed",
                operation_id=self._operation_id,
                error=error,
            )
        self.state = "Deleted"

    # -- views -------------------------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        """The v1 camelCase form (CLI output), then every other field the API gave."""
        v1 = {
            "name": self.name,
            "computeType": self.compute_type,
            "state": self.state,
            "error": self.error,
            "scoringUri": self.scoring_uri,
            "swaggerUri": self.swagger_uri,
            "port": self.port,
            "models": self.model_ids,
            "tags": self.tags,
            "properties": self.properties,
            "description": self.description,
            "createdTime": self._raw.get("createdTime"),
            "updatedTime": self._raw.get("updatedTime"),
            "authEnabled": self.auth_enabled,
            "tokenAuthEnabled": self.token_auth_enabled,
            "sslEnabled": self.ssl_enabled,
            "numReplicas": self.num_replicas,
            "deploymentConfig": self.deployment_config,
            "environment": self.environment,
            "revision": self.revision,
            "replicas": self.replicas,
            "operationId": self._operation_id,
            "imageId": None,
        }
        return {**v1, **{key: value for key, value in self._raw.items() if key not in v1}}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name}, "
            f"state={self.state}, scoring_uri={self.scoring_uri})"
        )


def _fetch(workspace: Workspace, name: str) -> dict[str, Any]:
    try:
        details: dict[str, Any] = workspace._client.get(
            f"/workspaces/{seg(workspace.name)}/services/{seg(name)}"
        )
    except NotFound:
        raise NotFound(
            f"WebserviceNotFound: Webservice with name {name} not found in provided workspace "
            f"{workspace.name!r}."
        ) from None
    return details


def _class_for(compute_type: Any) -> type[Webservice]:
    # Importing registers LocalWebservice/AciWebservice (they subclass Webservice).
    import modelport.webservice  # noqa: F401

    return Webservice._by_compute_type.get(str(compute_type or "").lower(), Webservice)


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
