"""The in-process API tier: the real workspace server app on real SQLite, no process, no socket.

``api`` is a plain ``httpx.Client`` whose transport hands each request to the FastAPI app through
``httpx.ASGITransport`` on one event loop, so the tests (and the helpers in tests/server) read as
against a running server while a request costs about a millisecond. The app is built as the
server builds it (``build_context`` migrates the schema, ``create_app`` assembles the routers,
middlewares and deploy context); the lifespan is not run, so the reconciler does not deploy:
this tier is for the API's contract, the process tiers for deployments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


class SyncASGITransport(httpx.BaseTransport):
    """httpx.ASGITransport for a synchronous client: each request runs on one private loop."""

    def __init__(self, app: object) -> None:
        self.loop = asyncio.new_event_loop()
        self.inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )

        async def send() -> httpx.Response:
            response = await self.inner.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self.loop.run_until_complete(send())

    def close(self) -> None:
        pass  # each test's client closes it; the package fixture shuts the loop down

    def shutdown(self) -> None:
        self.loop.close()


@pytest.fixture(scope="package")
def app_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inprocess") / "home"


@pytest.fixture(scope="package")
def api_token(app_home: Path) -> Iterator[tuple[httpx.BaseTransport, str]]:
    from modelport.server.app import create_app
    from modelport.server.main import build_context
    from modelport.server.settings import ServerSettings

    ctx = build_context(ServerSettings(home=app_home))
    transport = SyncASGITransport(create_app(ctx))
    yield transport, ctx.token
    transport.shutdown()
    ctx.store.dispose()


def client_for(transport: httpx.BaseTransport, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        transport=transport, base_url="http://127.0.0.1/api/v1", headers=headers, timeout=30
    )


@pytest.fixture
def api(api_token: tuple[httpx.BaseTransport, str]) -> Iterator[httpx.Client]:
    """A client of the in-process server, with its token."""
    with client_for(*api_token) as client:
        yield client
