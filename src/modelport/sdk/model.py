"""``Model``: a versioned entry of a workspace's model registry (Azure ML v1's ``azureml.core.Model``)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import NotFound, UserError
from modelport.sdk import _model_files
from modelport.sdk._http import seg
from modelport.sdk._model_meta import _filter_param as _filter_param  # used by webservice.py
from modelport.sdk._model_meta import _str_dict, _warn_unsupported
from modelport.sdk._model_meta import registration_body as registration_body

if TYPE_CHECKING:
    from modelport.sdk import deploy as _deploy
    from modelport.sdk import package as _package
    from modelport.sdk.run import Run
    from modelport.sdk.workspace import Workspace


class _Imported:
    """A static method whose module is imported on first access (signature and all intact)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        import importlib

        return getattr(importlib.import_module(self.module), self.name)


class Model:
    """A registered model: ``Model(ws, name)`` is the latest version, ``Model(ws, id="n:3")`` one version.

    Resolution, as in v1: ``id`` wins; else ``name`` + ``version``; else the newest model matching
    ``name``/``tags``/``properties``/``run_id``/``model_framework``.
    """

    class Framework:
        """Framework names stored with a model (no-code deployment keys off them)."""

        CUSTOM = "Custom"
        MULTI = "Multi"
        ONNX = "Onnx"
        PYTORCH = "PyTorch"
        SCIKITLEARN = "ScikitLearn"
        TENSORFLOW = "TensorFlow"

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        version: int | str | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        expand: bool = True,
        *,
        _details: Mapping[str, Any] | None = None,
    ) -> None:
        self.workspace = workspace
        if _details is None:
            _details = _resolve(
                workspace, name, id, tags, properties, version, run_id, model_framework
            )
        self._set(_details)

    def _set(self, d: Mapping[str, Any]) -> None:
        self._raw = dict(d)
        self.id: str = d["id"]
        self.name: str = d["name"]
        self.version: int = int(d["version"])
        self.description: str | None = d.get("description")
        self.tags: dict[str, str] = dict(d.get("tags") or {})
        self.properties: dict[str, str] = dict(d.get("properties") or {})
        self.model_framework: str | None = d.get("framework")
        self.model_framework_version: str | None = d.get("frameworkVersion")
        self.created_time: str | None = d.get("createdTime")
        self.created_by: Any = d.get("createdBy")
        self.mime_type: str = d.get("mimeType") or "application/octet-stream"
        self.unpack: bool = bool(d.get("unpack", False))
        self.url: str = d.get("url") or f"aml://asset/{self.id}"
        self.experiment_name: str | None = d.get("experimentName")
        self.run_id: str | None = d.get("runId")
        self.parent_id: str | None = d.get("parentId")
        self.derived_model_ids: list[str] = list(d.get("derivedModelIds") or [])
        self.datasets: dict[str, list[Any]] = dict(d.get("datasets") or {})
        self.sample_input_dataset: Any = d.get("sampleInputDatasetId")
        self.sample_output_dataset: Any = d.get("sampleOutputDatasetId")
        self.resource_configuration: dict[str, Any] | None = d.get("resourceConfiguration")
        self.model_root: str | None = d.get("modelRoot")
        self.files: list[dict[str, Any]] = list(d.get("files") or [])

    # -- registration ------------------------------------------------------------------------

    @staticmethod
    def register(
        workspace: Workspace,
        model_path: str | Path,
        model_name: str,
        tags: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        description: str | None = None,
        datasets: Any = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: Sequence[str] | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
    ) -> Model:
        """Upload a file or a folder (only ``child_paths`` of it, if given) as the next version."""
        _model_files.check_model_name(model_name)
        body = registration_body(
            model_name,
            tags=tags,
            properties=properties,
            description=description,
            model_framework=model_framework,
            model_framework_version=model_framework_version,
            resource_configuration=resource_configuration,
            datasets=datasets,
            sample_input_dataset=sample_input_dataset,
            sample_output_dataset=sample_output_dataset,
        )
        root, pairs = _model_files.collect(model_path, child_paths)
        client = workspace._client
        body["files"] = _model_files.upload(client, workspace.name, pairs)
        body["modelRoot"] = root
        return Model._create(workspace, body)

    @staticmethod
    def _create(workspace: Workspace, body: Mapping[str, Any]) -> Model:
        details = workspace._client.post(f"/workspaces/{seg(workspace.name)}/models", body)
        return Model(workspace, _details=details)

    # -- queries -----------------------------------------------------------------------------

    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        run_id: str | None = None,
        latest: bool = False,
        dataset_id: str | None = None,
        expand: bool = True,
        page_count: int = 255,
        model_framework: str | None = None,
    ) -> builtins.list[Model]:
        """Models matching every filter, by name then version descending."""
        return list(
            Model._iter(
                workspace,
                name=name,
                tags=tags,
                properties=properties,
                run_id=run_id,
                latest=latest,
                model_framework=model_framework,
                page_size=page_count,
            )
        )

    @staticmethod
    def _iter(
        workspace: Workspace,
        *,
        name: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        run_id: str | None = None,
        latest: bool = False,
        model_framework: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Model]:
        """The same as :meth:`list`, one page in memory at a time (the CLI uses it)."""
        params = {
            "name": name,
            "tags": _filter_param(tags, "tags"),
            "properties": _filter_param(properties, "properties"),
            "runId": run_id,
            "framework": model_framework,
            "latest": "true" if latest else None,
        }
        path = f"/workspaces/{seg(workspace.name)}/models"
        for item in workspace._client.paginate(path, params, page_size=page_size):
            yield Model(workspace, _details=item)

    @staticmethod
    def deserialize(workspace: Workspace, model_payload: Mapping[str, Any]) -> Model:
        """A Model from its serialized (camelCase) form, without asking the server."""
        return Model(workspace, _details=model_payload)

    @staticmethod
    def get_model_path(
        model_name: str, version: int | None = None, _workspace: Workspace | None = None
    ) -> str:
        """Path of a model inside a deployment (``AZUREML_MODEL_DIR``/``azureml-models``) or locally."""
        from modelport.sdk._model_path import get_model_path

        return get_model_path(model_name, version, _workspace)

    # -- changes -----------------------------------------------------------------------------

    def _patch(self, body: Mapping[str, Any]) -> None:
        path = f"/workspaces/{seg(self.workspace.name)}/models/{seg(self.name)}/versions/{self.version}"
        self._set(self.workspace._client.patch(path, body))

    def add_tags(self, tags: Mapping[str, Any]) -> None:
        """Add or change tags (other tags are kept)."""
        self._patch({"addTags": _str_dict(tags, "tags")})

    def remove_tags(self, tags: Sequence[str]) -> None:
        """Remove the named tags."""
        if isinstance(tags, str) or not isinstance(tags, Sequence):
            raise UserError("tags to remove must be a list of tag names.")
        self._patch({"removeTags": [str(t) for t in tags]})

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        """Add properties; an existing key cannot be overwritten."""
        self._patch({"addProperties": _str_dict(properties, "properties")})

    def update_tags_properties(
        self,
        add_tags: Mapping[str, Any] | None = None,
        remove_tags: Sequence[str] | None = None,
        add_properties: Mapping[str, Any] | None = None,
    ) -> None:
        """Add/remove tags and add properties in one request."""
        body: dict[str, Any] = {}
        if add_tags:
            body["addTags"] = _str_dict(add_tags, "tags")
        if remove_tags:
            body["removeTags"] = [str(t) for t in remove_tags]
        if add_properties:
            body["addProperties"] = _str_dict(add_properties, "properties")
        if body:
            self._patch(body)

    def update(
        self,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
    ) -> None:
        """Replace the tags (wholesale) and/or the description."""
        body: dict[str, Any] = {}
        if tags is not None:
            body["tags"] = _str_dict(tags, "tags")
        if description is not None:
            body["description"] = description
        _warn_unsupported(
            sample_input_dataset=sample_input_dataset,
            sample_output_dataset=sample_output_dataset,
            resource_configuration=resource_configuration,
        )
        if body:
            self._patch(body)

    def delete(self) -> None:
        """Delete this version (refused while a deployed service uses it)."""
        path = f"/workspaces/{seg(self.workspace.name)}/models/{seg(self.name)}/versions/{self.version}"
        self.workspace._client.delete(path)

    def download(
        self, target_dir: str | Path = ".", exist_ok: bool = False, exists_ok: bool | None = None
    ) -> str:
        """Download the files; returns the path of the registered file or folder."""
        if exists_ok is not None:  # v1's deprecated spelling
            exist_ok = exists_ok
        root = _model_files.root_of(self.files, self.model_root)
        path = _model_files.download(
            self.workspace._client, self.workspace.name, self.files, root, target_dir, exist_ok
        )
        return str(path)

    # -- views -------------------------------------------------------------------------------

    @property
    def run(self) -> Run | None:
        """The run this model was registered from, if any."""
        if not self.run_id:
            return None
        from modelport.sdk.run import Run

        return Run.get(self.workspace, self.run_id)

    def serialize(self) -> dict[str, Any]:
        """The v1 camelCase form (CLI output, metadata files)."""
        return {
            "createdTime": self.created_time,
            "createdBy": self.created_by,
            "description": self.description,
            "id": self.id,
            "mimeType": self.mime_type,
            "name": self.name,
            "framework": self.model_framework,
            "frameworkVersion": self.model_framework_version,
            "tags": self.tags,
            "properties": self.properties,
            "unpack": self.unpack,
            "url": self.url,
            "version": self.version,
            "experimentName": self.experiment_name,
            "runId": self.run_id,
            "runDetails": None,
            "datasets": self.datasets,
            "resourceConfiguration": self.resource_configuration,
            "sampleInputDatasetId": self.sample_input_dataset,
            "sampleOutputDatasetId": self.sample_output_dataset,
        }

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self.workspace!r}, name={self.name}, id={self.id}, "
            f"version={self.version}, tags={self.tags}, properties={self.properties})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Model) and other.id == self.id and other.workspace == self.workspace
        )

    def __hash__(self) -> int:
        return hash(self.id)

    # Model.deploy / package live in their own modules, attached with one line each; they import
    # on first use (the config parsers cost ~0.1 s that `model list` should not pay), e.g.
    #     deploy = _Imported("modelport.sdk.deploy", "deploy")
    if TYPE_CHECKING:
        package = staticmethod(_package.package)
        deploy = staticmethod(_deploy.deploy)
    else:
        package = _Imported("modelport.sdk.package", "package")
        deploy = _Imported("modelport.sdk.deploy", "deploy")


def _resolve(
    workspace: Workspace,
    name: str | None,
    id: str | None,
    tags: Sequence[Any] | None,
    properties: Sequence[Any] | None,
    version: int | str | None,
    run_id: str | None,
    model_framework: str | None,
) -> Any:
    client = workspace._client
    base = f"/workspaces/{seg(workspace.name)}/models"
    if id:
        model_name, _, id_version = id.partition(":")
        return client.get(f"{base}/{seg(model_name)}/versions/{seg(id_version or 'latest')}")
    if not name:
        raise UserError("Error, one of id or name must be provided.")
    if version is not None:
        if isinstance(version, bool) or not str(version).isdigit():
            raise UserError("version should be an int")
        return client.get(f"{base}/{seg(name)}/versions/{int(version)}")
    if not (tags or properties or run_id or model_framework):
        return client.get(f"{base}/{seg(name)}/versions/latest")
    # Listed by version descending within a name: the first match is the newest.
    for model in Model._iter(
        workspace,
        name=name,
        tags=tags,
        properties=properties,
        run_id=run_id,
        model_framework=model_framework,
        page_size=1,
    ):
        return model._raw
    filters = ", ".join(
        f"{k} {v}"
        for k, v in (
            ("tags", tags),
            ("properties", properties),
            ("run_id", run_id),
            ("framework", model_framework),
        )
        if v
    )
    raise NotFound(
        f"Model with name {name} and {filters} not found in workspace {workspace.name!r}."
    )
