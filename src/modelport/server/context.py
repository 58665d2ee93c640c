"""What every request handler needs: settings, the metadata store, the artifact store, the token."""

from __future__ import annotations

from dataclasses import dataclass

from modelport.server.artifacts import ArtifactStore
from modelport.server.settings import ServerSettings
from modelport.server.store.db import Store


@dataclass
class ServerContext:
    settings: ServerSettings
    store: Store
    artifacts: ArtifactStore
    token: str
