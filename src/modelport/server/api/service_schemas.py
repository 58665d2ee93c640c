"""Request bodies of the services API, typed for the OpenAPI document.

Unknown keys are let through the model (``extra="allow"``) and refused by
``deploy/revision_plan.check_keys``, which names the key with a did-you-mean hint; the nested v1
documents (``deploymentConfig``, ``inferenceConfig``, ``environment``) are checked by the spec
parsers, which know their rules and their camelCase names (docs/configuration.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    def given(self) -> dict[str, Any]:
        """The keys the client sent, with their values (unknown ones included)."""
        data = self.model_dump(exclude_unset=True, mode="json")
        return {**data, **(self.model_extra or {})}


SNAPSHOT = (
    'The source directory: {"files": [{"path", "sha256", "size"}]}, each file an uploaded blob.'
)


class _Revision(_Body):
    models: list[str] | None = Field(None, description='Registered models, "name:version".')
    inferenceConfig: dict[str, Any] | None = Field(
        None, description="v1 inference configuration (entryScript, environment…); null = no-code."
    )
    environment: dict[str, Any] | None = Field(
        None, description='A registered or curated {"name", "version"}, or a full v1 environment.'
    )
    sourceSnapshot: dict[str, Any] | None = Field(None, description=SNAPSHOT)
    deploymentConfig: dict[str, Any] | None = Field(
        None, description="v1 deployment configuration (computeType, numReplicas, auth, …)."
    )
    tags: dict[str, str] | None = None
    properties: dict[str, str] | None = None
    description: str | None = None


class ServiceCreate(_Revision):
    name: str = Field(description="Service name: 3-32 characters, lowercase, digits and dashes.")
    overwrite: bool = Field(False, description="Replace an existing service of that name.")


class ServiceUpdate(_Revision):
    """Only what is sent changes; a new revision when models, code, environment or config do."""


class ServiceReload(_Body):
    sourceSnapshot: dict[str, Any] | None = Field(None, description=SNAPSHOT)


class RegenerateKeys(_Body):
    keyType: str = Field(description='"Primary" or "Secondary".')
    keyValue: str | None = Field(None, description="The new key; a random one when absent.")
