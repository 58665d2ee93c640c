"""Run one workspace server process: migrate, bind, serve, write ``server.json`` once listening."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import ssl
import sys
from collections.abc import Sequence

import uvicorn

from modelport.errors import ModelportError
from modelport.server import home as home_files
from modelport.server.app import create_app
from modelport.server.artifacts import ArtifactStore
from modelport.server.context import ServerContext
from modelport.server.http_protocol import guarded_protocol
from modelport.server.settings import SETTINGS, ServerSettings, resolve
from modelport.server.store import migrate
from modelport.server.store.db import Store
from modelport.targets.local import isolation

log = logging.getLogger("modelport.server")


class _Server(uvicorn.Server):
    """A uvicorn server that announces itself in ``server.json`` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, settings: ServerSettings, port: int) -> None:
        super().__init__(config)
        self._settings = settings
        self._port = port

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            home_files.write_info(
                self._settings.home,
                host=self._settings.host,
                port=self._port,
                pid=os.getpid(),
                tls_cert=self._settings.tls_cert,
            )
            url = home_files.url_for(self._settings.host, self._port, self._settings.scheme)
            log.info("listening on %s", url)


def build_context(settings: ServerSettings) -> ServerContext:
    """Open the stores, migrate the schema and clean leftovers: everything before listening."""
    home_files.make_private(settings.home, traverse=isolation.enabled())
    if (why := isolation.home_problem(settings.home)) is not None:
        log.warning(why)  # e.g. root's older default /root/.modelport: say how to move
    token = home_files.ensure_token(settings.home)
    store = Store(settings.resolved_database_url)
    migrate.upgrade(store)
    artifacts = ArtifactStore(settings.artifacts_dir)
    removed = artifacts.clean_temp()
    if removed:
        log.info("removed %d unfinished upload(s) from %s", removed, artifacts.tmp)
    return ServerContext(settings=settings, store=store, artifacts=artifacts, token=token)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ModelportError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _load_tls(config: uvicorn.Config, settings: ServerSettings) -> None:
    """Load the certificate before listening, so a bad one is one clear line, not a traceback."""
    try:
        config.load()
    except (ssl.SSLError, OSError) as exc:
        raise ModelportError(
            f"cannot use --tls-cert {settings.tls_cert} / --tls-key {settings.tls_key}: {exc}"
        ) from exc
    assert config.ssl is not None
    config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2  # TLS 1.0/1.1 are refused


def serve(settings: ServerSettings) -> None:
    """Serve until SIGTERM/SIGINT; remove ``server.json`` on the way out."""
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ModelportError("HTTPS needs both --tls-cert and --tls-key")
    ctx = build_context(settings)
    config = uvicorn.Config(
        create_app(ctx),
        http=guarded_protocol(settings.max_connections, settings.body_timeout),
        timeout_keep_alive=5,  # also the deadline of a request head (http_protocol.py)
        log_level="info",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
    )
    if settings.tls_cert:
        try:
            _load_tls(config, settings)
        except ModelportError:
            ctx.store.dispose()
            raise
    sock = _bind(settings.host, settings.port)
    port = int(sock.getsockname()[1])
    try:
        _Server(config, settings, port).run(sockets=[sock])
    finally:
        home_files.remove_info(settings.home, os.getpid())
        ctx.store.dispose()


def parse_args(argv: Sequence[str] | None = None) -> ServerSettings:
    """Flags, then environment variables, then ``HOME/deploy.json``, then defaults (settings.py)."""
    parser = argparse.ArgumentParser(
        prog="python -m modelport.server", description="Run the modelport workspace server."
    )
    for s in SETTINGS:
        default = f"; default {s.default}" if s.default is not None else ""
        parser.add_argument(s.flag, dest=s.name, default=None, help=f"{s.help} (${s.env}{default})")
    args = parser.parse_args(argv)
    try:
        return resolve(vars(args))
    except ModelportError as exc:
        parser.error(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = parse_args(argv)
    try:
        serve(settings)
    except ModelportError as exc:
        print(f"modelport server: {exc}", file=sys.stderr)
        return 1
    return 0
