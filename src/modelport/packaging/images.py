"""One call from a workspace's models or deployed service to a built image tag (SDK + builder)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.sdk.model import Model
    from modelport.sdk.workspace import Workspace


def service_image(
    workspace: Workspace,
    service: str,
    *,
    tag: str | None = None,
    base_image: str | None = None,
    builder: str | None = None,
    log: Callable[[str], None] = print,
) -> str:
    """Package the deployed ``service`` (its serving revision) and build it; returns the tag
    (default ``localhost/<service>:latest``, or on ``MODELPORT_REGISTRY``)."""
    from modelport.sdk.package import package

    pkg = package(workspace, [], service=service, generate_dockerfile=True)
    pkg.wait_for_creation()
    return pkg.build(tag, base_image=base_image, builder=builder, log=log)


def models_image(
    workspace: Workspace,
    models: Sequence[Model | str],
    inference_config: Any = None,
    *,
    tag: str | None = None,
    base_image: str | None = None,
    builder: str | None = None,
    log: Callable[[str], None] = print,
) -> str:
    """Package ``models`` with ``inference_config`` (None: no-code) and build it; the tag."""
    from modelport.sdk.package import package

    pkg = package(workspace, models, inference_config, generate_dockerfile=True)
    pkg.wait_for_creation()
    return pkg.build(tag, base_image=base_image, builder=builder, log=log)
