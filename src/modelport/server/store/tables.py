"""Every table module, imported once so that ``Base.metadata`` knows the whole schema.

Adding a concept = a module with its tables + one line here + one Alembic revision.
"""

from modelport.server.store import (
    environments,
    models,
    outbox,
    runs,
    services,
    targets,
    telemetry,
    usages,
    webhooks,
    workspaces,
)

__all__ = [
    "environments",
    "models",
    "outbox",
    "runs",
    "services",
    "targets",
    "telemetry",
    "usages",
    "webhooks",
    "workspaces",
]
