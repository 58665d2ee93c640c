"""Webhook subscriptions from Python (``modelport webhook …`` is the same over the CLI).

``from modelport.sdk.webhooks import Webhook``; see docs/observe.md for the envelopes and how a
receiver checks the ``webhook-signature`` header.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelport.sdk._http import seg

if TYPE_CHECKING:
    from modelport.sdk.workspace import Workspace


class Webhook:
    """One subscription of a workspace: its URL, the events it gets and their delivery log."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name

    @property
    def _path(self) -> str:
        return f"/workspaces/{seg(self.workspace.name)}/webhooks/{seg(self.name)}"

    @staticmethod
    def create(
        workspace: Workspace,
        name: str,
        url: str,
        event_types: Sequence[str] | None = None,
        subject_begins_with: str | None = None,
        schema: str = "eventgrid",
        secret: str | None = None,
    ) -> dict[str, Any]:
        """Subscribe ``url``; the answer's ``secret`` signs every delivery (shown only now)."""
        body: dict[str, Any] = {"name": name, "url": url, "schema": schema}
        if event_types:
            body["eventTypes"] = list(event_types)
        if subject_begins_with:
            body["subjectBeginsWith"] = subject_begins_with
        if secret:
            body["secret"] = secret
        answer: dict[str, Any] = workspace._client.post(
            f"/workspaces/{seg(workspace.name)}/webhooks", body
        )
        return answer

    @staticmethod
    def list(workspace: Workspace) -> list[dict[str, Any]]:
        answer = workspace._client.get(f"/workspaces/{seg(workspace.name)}/webhooks")
        return list(answer["value"])

    def get(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.workspace._client.get(self._path)
        return answer

    def delete(self) -> None:
        self.workspace._client.delete(self._path)

    def rotate_secret(self, secret: str | None = None) -> str:
        """A new signing secret (generated unless given); later deliveries are signed with it."""
        answer = self.workspace._client.post(
            f"{self._path}/rotateSecret", {"secret": secret} if secret else {}
        )
        return str(answer["secret"])

    def deliveries(self, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Newest first, each with its attempt log."""
        answer = self.workspace._client.get(f"{self._path}/deliveries", {"limit": int(limit)})
        return list(answer["value"])

    def redeliver(self, delivery_id: int) -> dict[str, Any]:
        answer: dict[str, Any] = self.workspace._client.post(
            f"{self._path}/deliveries/{int(delivery_id)}/redeliver"
        )
        return answer
