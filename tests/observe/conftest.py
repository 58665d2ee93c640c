"""One workspace server for the observe tests, exporting over OTLP to a receiver on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServerProcess, start_server
from tests.e2e.deploy_support import kill_leftovers, start_deploy_server
from tests.observe.otlp_receiver import Received, otlp_receiver


@pytest.fixture(scope="package")
def otlp() -> Iterator[tuple[str, Received]]:
    with otlp_receiver() as pair:
        yield pair


@pytest.fixture(scope="package")
def server(
    tmp_path_factory: pytest.TempPathFactory, otlp: tuple[str, Received]
) -> Iterator[ServerProcess]:
    saved: dict[str, Any] = {k: os.environ.get(k) for k in ("OTEL_EXPORTER_OTLP_ENDPOINT",)}
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp[0]
    home = tmp_path_factory.mktemp("observe") / "home"
    home.mkdir()
    (home / "observe.json").write_text('{"metricsScrapeS": 0.5}')  # a quick history for the tests
    try:
        proc = start_deploy_server(start_server, home)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield proc
    proc.stop()
    kill_leftovers(proc.home)
