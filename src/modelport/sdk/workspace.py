"""``Workspace``: a named namespace on a workspace server (models, runs, environments, services)."""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import UserError
from modelport.sdk import _config
from modelport.sdk._blobs import TransferProgress
from modelport.sdk._http import Client, seg

if TYPE_CHECKING:
    from modelport.sdk.model import Model
    from modelport.sdk.run import Experiment


class Workspace:
    """A workspace on a modelport server.

    ``Workspace("ws")`` and the v1 form ``Workspace(subscription_id, resource_group, workspace_name)``
    both work (subscription and resource group mean nothing here and are ignored). The server is the
    one of ``MODELPORT_URL``, else of ``server_url`` (config file or argument), else the local one.
    """

    def __init__(
        self,
        name: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        auth: Any = None,
        *,
        subscription_id: str | None = None,
        server_url: str | None = None,
        token: str | None = None,
        progress: TransferProgress | None = None,
        _client: Client | None = None,
        _details: Mapping[str, Any] | None = None,
    ) -> None:
        # v1 positional form: (subscription_id, resource_group, workspace_name).
        resolved = workspace_name or name
        if not resolved:
            raise UserError("A workspace name is required: Workspace('<name>').")
        self._client = _client or Client.resolve(server_url, token, progress=progress)
        self.subscription_id = subscription_id if workspace_name is None else name
        self.resource_group = resource_group
        self.location = "local"
        if _details is None:
            _details = self._client.get(f"/workspaces/{seg(resolved)}")
        self._set(_details)

    def _set(self, details: Mapping[str, Any]) -> None:
        self.name: str = details["name"]
        self.description: str | None = details.get("description")
        self.created_time: str | None = details.get("createdTime")
        self.id: str | None = details.get("id")

    # -- constructors ------------------------------------------------------------------------

    @staticmethod
    def get(
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        cloud: str = "AzureCloud",
        id: str | None = None,
        *,
        server_url: str | None = None,
        token: str | None = None,
        progress: TransferProgress | None = None,
    ) -> Workspace:
        """The existing workspace ``name`` (NotFound otherwise); v1's cloud arguments are ignored."""
        return Workspace(
            name,
            resource_group,
            subscription_id=subscription_id,
            server_url=server_url,
            token=token,
            progress=progress,
        )

    @staticmethod
    def create(
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        create_resource_group: bool = True,
        sku: str = "basic",
        tags: Mapping[str, str] | None = None,
        friendly_name: str | None = None,
        exist_ok: bool = False,
        show_output: bool = True,
        description: str | None = None,
        *,
        server_url: str | None = None,
        token: str | None = None,
        progress: TransferProgress | None = None,
        _client: Client | None = None,
        **cloud_options: Any,
    ) -> Workspace:
        """Create workspace ``name``; with ``exist_ok=True`` an existing one is returned instead.

        v1's Azure-only arguments (``storage_account``, ``key_vault``, ...) are accepted with a
        warning naming them, so a v1 script runs unchanged.
        """
        ignored = sorted(k for k, v in cloud_options.items() if v is not None)
        if ignored:
            warnings.warn(
                f"Workspace.create ignores Azure-only arguments: {', '.join(ignored)}.",
                UserWarning,
                stacklevel=2,
            )
        client = _client or Client.resolve(server_url, token, progress=progress)
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        response = client.request("POST", "/workspaces", json=body, ok_statuses=(409,))
        if response.status_code == 409:
            if not exist_ok:
                raise client._error(response)
            return Workspace(name, _client=client, subscription_id=subscription_id)
        return Workspace(name, _client=client, _details=response.json())

    @staticmethod
    def list(
        subscription_id: str | None = None,
        auth: Any = None,
        resource_group: str | None = None,
        *,
        server_url: str | None = None,
        token: str | None = None,
    ) -> dict[str, builtins.list[Workspace]]:
        """Every workspace of the server, as v1 returns them: ``{name: [Workspace]}``."""
        client = Client.resolve(server_url, token)
        return {
            item["name"]: [Workspace(item["name"], _client=client, _details=item)]
            for item in client.paginate("/workspaces")
        }

    @staticmethod
    def from_config(
        path: str | Path | None = None,
        auth: Any = None,
        _logger: Any = None,
        _file_name: str | None = None,
        *,
        progress: TransferProgress | None = None,
    ) -> Workspace:
        """The workspace named by the nearest config file (see :mod:`modelport.sdk._config`)."""
        start: str | Path | None = path
        if _file_name is not None:
            folder = Path(path if path is not None else ".")
            start = folder / _config.CONFIG_DIR / _file_name
        config = _config.find_config(start)
        client = Client.resolve(config.server_url, config.server_token, progress=progress)
        return Workspace(config.workspace_name, _client=client)

    # -- operations --------------------------------------------------------------------------

    def write_config(self, path: str | Path | None = None, file_name: str | None = None) -> str:
        """Write ``<path>/.modelport/config.json`` naming this workspace; returns the file's path."""
        target = self._client.target
        server_url = target.url if target.source in ("explicit", "config") else None
        return str(
            _config.write_config(self.name, path, file_name=file_name, server_url=server_url)
        )

    def delete(self, delete_dependent_resources: bool = False, no_wait: bool = False) -> None:
        """Delete the workspace with its models, runs and environments (409 while it has services)."""
        self._client.delete(f"/workspaces/{seg(self.name)}")

    def get_details(self) -> dict[str, Any]:
        """The workspace as the server describes it (camelCase keys)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "createdTime": self.created_time,
            "location": self.location,
            "serverUrl": self.server_url,
        }

    @property
    def server_url(self) -> str:
        """Base URL of the workspace server holding this workspace."""
        return self._client.url

    @property
    def models(self) -> Mapping[str, Model]:
        """``{name: latest Model}``, fetched lazily page by page."""
        return _ModelsView(self)

    @property
    def experiments(self) -> Mapping[str, Experiment]:
        """``{name: Experiment}`` of the experiments that have runs."""
        from modelport.sdk.run import Experiment

        return {
            item["name"]: Experiment(self, item["name"])
            for item in self._client.paginate(f"/workspaces/{seg(self.name)}/experiments")
        }

    @property
    def webservices(self) -> Mapping[str, Any]:
        """``{name: Webservice}`` of the services deployed in this workspace."""
        from modelport.sdk.webservice import Webservice  # type: ignore[import-not-found,unused-ignore]

        return {service.name: service for service in Webservice.list(self)}

    def __repr__(self) -> str:
        return f"Workspace.create(name={self.name!r}, server_url={self._client.target.url!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Workspace)
            and other.name == self.name
            and other._client.target == self._client.target
        )

    def __hash__(self) -> int:
        return hash(self.name)


class _ModelsView(Mapping[str, "Model"]):
    """A lazy read-only mapping of model names to their latest version."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def __getitem__(self, name: str) -> Model:
        from modelport.errors import NotFound
        from modelport.sdk.model import Model

        try:
            return Model(self._ws, name=name)
        except NotFound:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        from modelport.sdk.model import Model

        for model in Model._iter(self._ws, latest=True):
            yield model.name

    def __len__(self) -> int:
        return sum(1 for _ in self)
