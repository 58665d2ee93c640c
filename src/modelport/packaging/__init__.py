"""Model packages: a service frozen into a container build context, image builds, IoT Edge manifests.

``context`` writes a build context (Dockerfile, app root, lock, serving runtime); ``build`` turns one
into an image with podman, buildah or docker; ``images`` does both for a workspace's models or
services; ``iot`` writes Azure IoT Edge deployment manifests for a package image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.packaging.build import build_image as build_image
    from modelport.packaging.images import models_image as models_image
    from modelport.packaging.images import service_image as service_image

__all__ = ["build_image", "models_image", "service_image"]


def __getattr__(name: str) -> Any:
    # Lazy: the workspace server imports packaging.context without the client-side build code.
    if name == "build_image":
        from modelport.packaging.build import build_image

        return build_image
    if name in ("models_image", "service_image"):
        from modelport.packaging import images

        return getattr(images, name)
    raise AttributeError(name)
