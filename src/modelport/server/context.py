"""What every request handler needs: settings, the stores, the token, the deploy context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modelport.server.artifacts import ArtifactStore
from modelport.server.settings import ServerSettings
from modelport.server.store.db import Store

if TYPE_CHECKING:
    from modelport.server.deploy.context import DeployContext


@dataclass
class ServerContext:
    settings: ServerSettings
    store: Store
    artifacts: ArtifactStore
    token: str
    # deployments' parts, built once by server/app.py's create_app (where the server is assembled)
    deploy: DeployContext = field(init=False, repr=False)
