"""Studio sessions: the cookie, the CSRF check on every unsafe request, sign-in and sign-out."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request

from modelport.server.context import ServerContext
from modelport.server.studio import signing

COOKIE = "modelport_studio"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
T = TypeVar("T")


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form (installed as a handler)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class CsrfRefused(Exception):
    """An unsafe request without this session's CSRF token (or from another origin): 403."""


@dataclass(frozen=True)
class Session:
    nonce: str
    expires: int
    csrf: str


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def studio_key(request: Request) -> bytes:
    return signing.key_for(_ctx(request).token)


def per_app(request: Request, attr: str, factory: Callable[[], T]) -> T:
    """One object per app (this process's memory), made on first use and kept in its state."""
    value = getattr(request.app.state, attr, None)
    if value is None:
        value = factory()
        setattr(request.app.state, attr, value)
    return value


def used_nonces(request: Request) -> signing.UsedNonces:
    """The process's spent-nonce set (one-time links, signed-out sessions)."""
    return per_app(request, "studio_used_nonces", signing.UsedNonces)


def current_session(request: Request) -> Session | None:
    key = studio_key(request)
    claims = signing.verify(key, "session", request.cookies.get(COOKIE))
    if claims is None or used_nonces(request).spent(str(claims["n"])):
        return None
    nonce = str(claims["n"])
    return Session(nonce=nonce, expires=int(claims["e"]), csrf=signing.csrf_for(key, nonce))


async def form_data(request: Request) -> dict[str, str]:
    """An urlencoded form as a dict (last value wins); the API has no multipart, nor do we."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _same_origin(request: Request) -> bool:
    """A browser names the page's origin on unsafe requests; another site's origin is refused."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def require_session(request: Request) -> Session:
    """Every studio page and action: a valid session, and on unsafe methods its CSRF token."""
    session = current_session(request)
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path if request.method in _SAFE_METHODS else "/")
    if request.method not in _SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            given = (await form_data(request)).get(CSRF_FIELD)
        if not given or not hmac.compare_digest(given, session.csrf):
            raise CsrfRefused("missing or wrong CSRF token: reload the page and try again")
        if not _same_origin(request):
            raise CsrfRefused("request from another origin refused")
    return session


SignedIn = Annotated[Session, Depends(require_session)]


def safe_next(path: str | None) -> str:
    """Only a path on this server: an open redirect would make sign-in links phishable."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def signin_url(next_path: str) -> str:
    return f"/signin?next={quote(safe_next(next_path), safe='/')}"
