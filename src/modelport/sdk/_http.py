"""The one HTTP client layer of the SDK and the CLI: target, auth, errors, paging (blobs: _blobs).

Every request goes through :meth:`Client.request`, which turns a non-2xx answer into the matching
:mod:`modelport.errors` class (``{"message"}`` of the body), a refused connection into
:class:`ServerUnreachable` naming the URL, and a 401 into :class:`AuthenticationError` with a hint
on where the token comes from. Blob transfers stream in fixed-size chunks (constant memory).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from modelport import __version__
from modelport.errors import (
    AuthenticationError,
    ModelportError,
    ServerUnreachable,
    error_for_status,
)
from modelport.sdk._blobs import BlobTransfers, NoProgress, TransferProgress
from modelport.sdk._target import ENV_CA_BUNDLE, ENV_TOKEN, Target, resolve_target

if TYPE_CHECKING:  # httpx loads on first use: a plain-HTTP call goes through _http_lite instead
    import httpx

    from modelport.sdk._http_lite import LiteConnection

PAGE_SIZE = 100


class Response(Protocol):
    """What callers read of an answer: ``httpx.Response`` or ``_http_lite.LiteResponse``."""

    status_code: int

    @property
    def reason_phrase(self) -> str: ...

    @property
    def content(self) -> bytes: ...

    @property
    def is_success(self) -> bool: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


class _TransportFailed(Exception):
    """A request failed on the way (either transport); ``cause`` says how."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _ConnectFailed(_TransportFailed):
    """The connection could not be opened: nothing was sent."""


def seg(value: str | int) -> str:
    """Quote one path segment (names are restricted, but never trust that in a URL)."""
    return quote(str(value), safe="")


def _live_local_server(home: Path) -> Any:
    """``server.json``'s server if its process still runs modelport, else None (no network)."""
    from modelport.server.home import read_info  # type: ignore[attr-defined,unused-ignore]

    home = home.expanduser()
    info = read_info(home)
    if info is None:
        return None
    try:
        cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes()
    except OSError:  # gone, or no /proc: let the daemon decide
        return None
    # `python -m modelport.server --home HOME`, as the daemon starts it; anything else (a reused
    # pid, a foreground `modelport server start`) goes through the daemon's full check
    ours = b"modelport.server\0" in cmdline and f"\0{home}\0".encode() in cmdline
    return info if ours else None


class Client(BlobTransfers):
    """A connection to one workspace server; cheap to build, connects on first use."""

    def __init__(
        self,
        target: Target,
        *,
        progress: TransferProgress | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.target = target
        self.progress: TransferProgress = progress or NoProgress()
        self._timeout = timeout
        self._http: httpx.Client | None = None
        self._lite: LiteConnection | None = None
        self._found = False  # _url, _token and _verify name the server (see _discover)
        self._url: str | None = target.url
        self._token: str | None = target.token
        self._verify: str | bool = True

    @classmethod
    def resolve(
        cls,
        server_url: str | None = None,
        token: str | None = None,
        *,
        progress: TransferProgress | None = None,
    ) -> Client:
        """A client for the server chosen by :func:`modelport.sdk._target.resolve_target`."""
        return cls(resolve_target(server_url, token), progress=progress)

    # -- connection --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL (starts the local server if that is the target)."""
        self._discover()
        assert self._url is not None
        return self._url

    def _discover(self, *, restart: bool = False) -> None:
        """Find the server (the local one: start it if needed) and how to trust it."""
        if self._found and not restart:
            return
        # A remote HTTPS server with a private CA: MODELPORT_CA_BUNDLE names the CA file.
        verify: str | bool = os.environ.get(ENV_CA_BUNDLE) or True
        if self.target.is_local:
            # First try the server that server.json names, without the daemon's lock and health
            # check (~0.1 s per CLI call); a refused connection comes back here with restart=True.
            info = None if restart else _live_local_server(self.target.home)
            if info is None:
                # Imported here: the daemon module belongs to the server, only needed locally.
                from modelport.server import daemon  # type: ignore[attr-defined,unused-ignore]

                info = daemon.ensure_running(self.target.home)
            self._url = info.url.rstrip("/")
            self._token = self.target.token or info.token
            # The local server's own certificate (often self-signed) is the one to trust.
            verify = info.ca_file or verify
        if str(self._url).startswith("http://"):
            verify = False  # plain HTTP: skip loading the CA store (~45 ms) it would never use
        self._verify = verify
        self._found = True
        self.close()

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"modelport-sdk/{__version__}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _connect(self, *, restart: bool = False) -> httpx.Client:
        """The httpx client (TLS, proxies, streamed downloads); connects on first use."""
        self._discover(restart=restart)
        if self._http is None:
            import httpx

            self._http = httpx.Client(
                base_url=f"{self._url}/api/v1",
                headers=self._headers(),
                timeout=httpx.Timeout(self._timeout, connect=5.0),
                verify=self._verify,
            )
        return self._http

    def _lite_connection(self, *, restart: bool = False) -> LiteConnection | None:
        """The standard-library transport, when httpx would add nothing (see _http_lite)."""
        self._discover(restart=restart)
        if self._lite is None:
            from modelport.sdk import _http_lite

            if not _http_lite.usable(str(self._url)):
                return None
            self._lite = _http_lite.LiteConnection(
                f"{self._url}/api/v1", self._headers(), connect=5.0, read=self._timeout
            )
        return self._lite

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._lite is not None:
            self._lite.close()
            self._lite = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> Response:
        """Send one request; raise the modelport error for any non-2xx answer not in ``ok_statuses``."""
        response = self._send(
            method, path, json=json, params=params, content=content, headers=headers
        )
        if response.is_success or response.status_code in ok_statuses:
            return response
        raise self._error(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> Response:
        try:
            return self._send_once(method, path, kwargs)
        except _ConnectFailed as exc:
            if not self.target.is_local or kwargs.get("content") is not None:
                raise self._unreachable(exc.cause) from None
            # A stale server.json (the server died): ask the daemon once more, then retry.
            self._discover(restart=True)
            try:
                return self._send_once(method, path, kwargs)
            except _TransportFailed as again:
                raise self._unreachable(again.cause) from None
        except _TransportFailed as exc:
            raise self._unreachable(exc.cause) from None

    def _send_once(self, method: str, path: str, kwargs: dict[str, Any]) -> Response:
        """One request over _http_lite where it serves, else httpx; failures as _TransportFailed."""
        lite = self._lite_connection()
        if lite is not None:
            from modelport.sdk._http_lite import LiteConnectError, LiteTransportError

            try:
                return lite.request(method, path, **kwargs)
            except LiteConnectError as exc:
                raise _ConnectFailed(exc) from None
            except LiteTransportError as exc:
                raise _TransportFailed(exc) from None
        import httpx

        try:
            return self._connect().request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise _ConnectFailed(exc) from None
        except httpx.TransportError as exc:
            raise _TransportFailed(exc) from None

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body: Any = None) -> Any:
        response = self.request("POST", path, json=body if body is not None else {})
        return response.json() if response.content else None

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body).json()

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int = PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of a paged list, one page in memory at a time."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query["limit"] = page_size
        while True:
            page = self.get(path, query)
            yield from page.get("value", [])
            cursor = page.get("next")
            if not cursor:
                return
            query["after"] = cursor

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the pages of a paged list (the CLI renders a table page by page)."""
        page: list[dict[str, Any]] = []
        for item in self.paginate(path, params, page_size=page_size):
            page.append(item)
            if len(page) == page_size:
                yield page
                page = []
        if page:
            yield page

    # -- errors ------------------------------------------------------------------------------

    def _error(self, response: Response) -> ModelportError:
        message = _message_of(response)
        if response.status_code == 401:
            return AuthenticationError(f"{message.rstrip('.')}. {self._auth_hint()}")
        return error_for_status(response.status_code, message)

    def _auth_hint(self) -> str:
        where = self._url or "the local server"
        if self.target.source == "env":
            how = f"check {ENV_TOKEN}"
        elif self.target.source == "config":
            how = f"check server_token in the workspace config file or set {ENV_TOKEN}"
        elif self.target.token:
            how = f"{ENV_TOKEN} is set but the local server uses the token in {self.target.home / 'token'}"
        else:
            how = f"the local server's token is in {self.target.home / 'token'}"
        return f"The workspace server at {where} did not accept the token: {how}."

    def _unreachable(self, exc: Exception) -> ServerUnreachable:
        where = self._url or "the local server"
        reason = str(exc) or type(exc).__name__
        if self.target.is_local:
            hint = "start it with `modelport server start`"
        else:
            hint = "check that it runs and that the URL is right (MODELPORT_URL or server_url)"
        return ServerUnreachable(
            f"Cannot reach the workspace server at {where} ({reason}): {hint}."
        )


def _message_of(response: Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail")
        if isinstance(message, str) and message:
            return message
        if message is not None:
            return str(message)
    text = response.text.strip() if response.content else ""
    reason = response.reason_phrase or "error"
    return f"HTTP {response.status_code} {reason}" + (f": {text[:200]}" if text else "")
