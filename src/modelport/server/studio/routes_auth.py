"""Sign-in (workspace token or one-time link), sign-out, and the front door."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from modelport.errors import AuthenticationError, ModelportError
from modelport.server.studio import auth, render, signing
from modelport.server.studio.api import Api
from modelport.server.studio.auth import SignedIn
from modelport.server.studio.routing import StudioRoute

router = APIRouter(route_class=StudioRoute)


def _signed_in(request: Request, next_path: str) -> Response:
    """Start a session: a fresh signed cookie, HttpOnly and SameSite=Strict."""
    value = signing.sign(auth.studio_key(request), "session", signing.SESSION_TTL)
    response = RedirectResponse(auth.safe_next(next_path), status_code=303)
    response.set_cookie(
        auth.COOKIE,
        value,
        max_age=signing.SESSION_TTL,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _form(request: Request, next_path: str, message: str | None, status: int = 200) -> HTMLResponse:
    form_token = signing.sign(auth.studio_key(request), "signin-form", signing.FORM_TTL)
    return render.page(
        request, "signin.html", None, status_code=status,
        next=auth.safe_next(next_path), form_token=form_token, message=message,
    )  # fmt: skip


@router.get("/signin")
async def signin_form(request: Request, next: str = "/") -> Response:
    if auth.current_session(request) is not None:
        return RedirectResponse(auth.safe_next(next), status_code=303)
    return _form(request, next, None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await auth.form_data(request)
    next_path = form.get("next", "/")
    # The form carries a signed token of its own: a sign-in cannot be forged from another site.
    if signing.verify(auth.studio_key(request), "signin-form", form.get(auth.CSRF_FIELD)) is None:
        return _form(request, next_path, "The form expired: please sign in again.", 403)
    given = form.get("token", "").strip()
    if not given:
        return _form(request, next_path, "Paste the workspace token.", 401)
    # The API itself checks the token: its failed-authentication limit (429) covers sign-in too.
    async with Api(request, token=given) as api:
        try:
            await api.get("/workspaces", limit=1)
        except AuthenticationError:
            return _form(request, next_path, "Wrong workspace token.", 401)
        except ModelportError as exc:
            return _form(request, next_path, exc.message, exc.status_code)
    return _signed_in(request, next_path)


@router.get(signing.LINK_PATH)
async def signin_link(request: Request, t: str = "", next: str = "/") -> Response:
    claims = signing.verify(auth.studio_key(request), "link", t)
    if claims is None:
        return _form(request, next, "This sign-in link is invalid or has expired.", 401)
    if not auth.used_nonces(request).spend(str(claims["n"]), float(claims["e"])):
        return _form(request, next, "This sign-in link was already used.", 401)
    return _signed_in(request, next)


@router.post("/signout")
async def signout(request: Request, session: SignedIn) -> Response:
    # The cookie is signed, so a copy of it stays valid until it expires unless its nonce is
    # spent here (in this process's memory: see docs/studio.md).
    auth.used_nonces(request).spend(session.nonce, float(session.expires))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def _workspaces(request: Request) -> list[str]:
    async with Api(request) as api:
        return [w["name"] for w in (await api.get("/workspaces", limit=1000))["value"]]


@router.get("/")
async def home(request: Request, session: SignedIn) -> Response:
    names = await _workspaces(request)
    if len(names) == 1 or "default" in names:
        target = "default" if "default" in names else names[0]
        return RedirectResponse(f"/w/{target}/models", status_code=303)
    return render.page(request, "workspaces.html", session, workspaces=names)


@router.get("/workspaces")
async def workspaces(request: Request, session: SignedIn) -> Response:
    return render.page(request, "workspaces.html", session, workspaces=await _workspaces(request))
