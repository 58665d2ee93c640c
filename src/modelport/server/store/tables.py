"""Every table module, imported once so that ``Base.metadata`` knows the whole schema.

Adding a concept = a module with its tables + one line here + one Alembic revision.
"""

from modelport.server.store import (
    environments,
    models,
    runs,
    services,
    targets,
    telemetry,
    usages,
    workspaces,
)

__all__ = [
    "environments",
    "models",
    "runs",
    "services",
    "targets",
    "telemetry",
    "usages",
    "workspaces",
]
