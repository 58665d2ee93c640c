"""``Model.package`` → ``ModelPackage``: a service frozen into a container build context.

The workspace server assembles the context (models laid out as in a service, source snapshot,
environment lock, Dockerfile); this client polls it, downloads it (``save``) and builds the image
on this machine with podman, buildah or docker (``build``; ``wait_for_creation`` does it for a
``DockerImage`` package, i.e. ``generate_dockerfile=False``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from modelport.errors import ServerError, UserError
from modelport.sdk._http import seg

if TYPE_CHECKING:
    from modelport.sdk.model import Model
    from modelport.sdk.workspace import Workspace

REGISTRY_VARIABLES = (
    "MODELPORT_REGISTRY",
    "MODELPORT_REGISTRY_USERNAME",
    "MODELPORT_REGISTRY_PASSWORD",
)
POLL_S = 0.5


@dataclass(frozen=True)
class ContainerRegistry:
    """Where package images are pushed (v1: the workspace's registry); from MODELPORT_REGISTRY*."""

    address: str
    username: str | None = None
    password: str | None = None


def configured_registry() -> ContainerRegistry | None:
    address = os.environ.get(REGISTRY_VARIABLES[0], "").strip().rstrip("/")
    if not address:
        return None
    return ContainerRegistry(
        address, os.environ.get(REGISTRY_VARIABLES[1]), os.environ.get(REGISTRY_VARIABLES[2])
    )


def package(
    workspace: Workspace,
    models: Sequence[Model | str],
    inference_config: Any = None,
    generate_dockerfile: bool = False,
    image_name: str | None = None,
    image_label: str | None = None,
    *,
    environment: Any = None,
    base_image: str | None = None,
    service: str | None = None,
    show_output: bool = False,
) -> ModelPackage:
    """Start packaging ``models`` with ``inference_config`` (None: a no-code package of one
    scikit-learn or ONNX model), or the deployed ``service``; returns at once (``Running``).

    ``generate_dockerfile=True`` gives a ``DockerBuildContext`` (``save(dir)`` it, build it
    anywhere); False a ``DockerImage``, built here by ``wait_for_creation``.
    """
    from modelport.sdk import deploy as _deploy

    body: dict[str, Any] = {"imageName": image_name, "imageLabel": image_label}
    if base_image is not None:
        body["baseImage"] = base_image
    if service is not None:
        body["service"] = service
    else:
        spec = _deploy.resolve_inference_config(inference_config)
        env = _deploy.resolve_environment(environment, spec, image_name or "package")
        body["models"] = _deploy.model_refs(workspace, models or [], show_output=show_output)
        source = _deploy._source_part(workspace, spec, show_output=show_output)
        source.pop("_properties", None)
        body.update(source)
        if env is not None:
            body["environment"] = env
    record = workspace._client.post(f"/workspaces/{seg(workspace.name)}/packages", body)
    return ModelPackage(workspace, record, generate_dockerfile=generate_dockerfile)


class ModelPackage:
    """A package being created or created on the workspace server (v1 ``ModelPackage``)."""

    def __init__(
        self, workspace: Workspace, record: Mapping[str, Any], *, generate_dockerfile: bool = True
    ) -> None:
        self.workspace = workspace
        self.generate_dockerfile = generate_dockerfile
        self.image: str | None = None  # the built image's tag (DockerImage packages)
        self._set(record)

    def _set(self, record: Mapping[str, Any]) -> None:
        self._record = dict(record)
        self.id: str = str(record["id"])
        self.state: str = str(record["state"])
        self.image_name: str = str(record["imageName"])
        self.image_label: str = str(record["imageLabel"])
        self.models: list[str] = list(record.get("models") or [])
        self.error: dict[str, Any] | None = record.get("error")
        self.python_version: str | None = record.get("pythonVersion")
        self.base_image: str | None = record.get("baseImage")

    @property
    def package_type(self) -> str:
        return "DockerBuildContext" if self.generate_dockerfile else "DockerImage"

    @property
    def location(self) -> str:
        """DockerImage: the image reference (on the registry when one is configured);
        DockerBuildContext: the context's URL on the workspace server."""
        if self.generate_dockerfile:
            return f"{self.workspace._client.url}/api/v1/{self._record['location']}"
        return self.image or self.image_reference()

    def image_reference(self) -> str:
        registry = configured_registry()
        host = registry.address if registry else "localhost"
        return f"{host}/{self.image_name}:{self.image_label}"

    def _path(self, suffix: str = "") -> str:
        return f"/workspaces/{seg(self.workspace.name)}/packages/{seg(self.id)}{suffix}"

    def refresh(self) -> ModelPackage:
        self._set(self.workspace._client.get(self._path()))
        return self

    def get_logs(self) -> str:
        return str(self.workspace._client.request("GET", self._path("/log")).text)

    def wait_for_creation(self, show_output: bool = False, timeout: float | None = None) -> None:
        """Wait until the context is created (and, for a DockerImage package, the image built).
        Raises UserError with the server's message if creation failed."""
        self._wait_context(show_output, timeout)
        if not self.generate_dockerfile and self.image is None:
            log = (lambda line: print(line, file=sys.stderr)) if show_output else (lambda _l: None)
            self.build(log=log)

    def _wait_context(self, show_output: bool = False, timeout: float | None = None) -> None:
        printed = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.refresh()
            if show_output:
                lines = self.get_logs().splitlines()
                for line in lines[printed:]:
                    print(line, file=sys.stderr)
                printed = len(lines)
            if self.state != "Running":
                break
            if deadline is not None and time.monotonic() > deadline:
                raise UserError(f"Package {self.id} is still Running after {timeout} s.")
            time.sleep(POLL_S)
        if self.state != "Succeeded":
            message = (self.error or {}).get("message") or "no message"
            raise UserError(f"Package {self.id} failed: {message}")

    def save(self, output_directory: str | Path) -> Path:
        """Download the build context into ``output_directory`` (new or empty); returns it."""
        from modelport.packaging.context import extract_tarball

        if self.state == "Running":
            self._wait_context()
        dest = Path(output_directory).expanduser().resolve()
        client = self.workspace._client
        http = client._connect()
        with tempfile.TemporaryFile() as tmp:
            try:
                with http.stream("GET", self._path("/context")) as response:
                    if not response.is_success:
                        response.read()
                        raise client._error(response)
                    for chunk in response.iter_bytes(1 << 20):
                        tmp.write(chunk)
            except httpx.TransportError as exc:
                raise ServerError(f"Downloading package {self.id} failed: {exc}") from None
            tmp.seek(0)
            return extract_tarball(tmp, dest)

    def build(
        self,
        tag: str | None = None,
        *,
        base_image: str | None = None,
        builder: str | None = None,
        fetch_wheels: bool = True,
        context_dir: str | Path | None = None,
        log: Callable[[str], None] = print,
    ) -> str:
        """Build the image here (podman, buildah or docker) and return its tag (default
        ``<registry or localhost>/<imageName>:<imageLabel>``)."""
        from modelport.packaging.build import build_image

        tag = tag or self.image_reference()
        if context_dir is not None:
            self.save(context_dir)
            self.image = build_image(
                context_dir, tag, base_image=base_image, builder=builder,
                fetch_wheels=fetch_wheels, log=log,
            )  # fmt: skip
            return self.image
        with tempfile.TemporaryDirectory(prefix="modelport-package-") as tmp:
            self.save(Path(tmp) / "context")
            self.image = build_image(
                Path(tmp) / "context", tag, base_image=base_image, builder=builder,
                fetch_wheels=fetch_wheels, log=log,
            )  # fmt: skip
        return self.image

    def pull(self) -> str:
        """v1 pulled the image from the registry; here the image is built on this machine."""
        return self.build()

    def get_container_registry(self) -> ContainerRegistry:
        """The registry images are pushed to: ``MODELPORT_REGISTRY`` (+ ``_USERNAME``,
        ``_PASSWORD``); UserError when none is configured."""
        registry = configured_registry()
        if registry is None:
            raise UserError(
                "No container registry is configured: set MODELPORT_REGISTRY (and "
                "MODELPORT_REGISTRY_USERNAME / MODELPORT_REGISTRY_PASSWORD) to push package images."
            )
        return registry

    def serialize(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self._record.items() if k != "location"},
            "packageType": self.package_type,
            "location": self.location,
            "image": self.image,
        }

    def __repr__(self) -> str:
        return f"ModelPackage(id={self.id!r}, state={self.state!r}, image={self.image_name}:{self.image_label})"
