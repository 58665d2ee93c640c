"""Keys and tokens of a service (the part of ``Webservice`` that talks to listKeys/token)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from modelport.errors import UserError


class ServiceAuth:
    """Mixed into :class:`modelport.sdk.webservice.Webservice` (which provides ``_client``,
    ``_path`` and ``token_auth_enabled``)."""

    token_auth_enabled: bool

    @property
    def _client(self) -> Any:
        raise NotImplementedError

    @property
    def _path(self) -> str:
        raise NotImplementedError

    def _credential(self) -> str:
        if self.token_auth_enabled:
            return self.get_token()[0]
        return self.get_keys()[0]

    def get_keys(self) -> tuple[str, str]:
        """``(primary_key, secondary_key)`` of a key-auth service."""
        answer = self._client.post(f"{self._path}/listKeys")
        return answer["primaryKey"], answer["secondaryKey"]

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        """Regenerate (or set to ``set_key``) the 'Primary' or 'Secondary' key."""
        kind = key.capitalize() if isinstance(key, str) else key
        if kind not in ("Primary", "Secondary"):
            raise UserError(f"key must be 'Primary' or 'Secondary', got {key!r}.")
        body: dict[str, Any] = {"keyType": kind}
        if set_key is not None:
            body["keyValue"] = set_key
        self._client.post(f"{self._path}/regenerateKeys", body)

    def get_token(self) -> tuple[str, dt.datetime]:
        """``(access_token, refresh_by)`` of a token-auth service; fetch a new one after refresh_by."""
        answer = self._client.post(f"{self._path}/token")
        refresh = dt.datetime.fromtimestamp(float(answer["refreshAfter"]), tz=dt.UTC)
        return answer["accessToken"], refresh

    def get_access_token(self) -> Any:
        """The v1 ``AccessToken`` shape as a dict: ``accessToken``, ``refreshAfter``, ``tokenType``."""
        return self._client.post(f"{self._path}/token")
