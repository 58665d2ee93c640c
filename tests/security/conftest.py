from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.support import leftover_guard


@pytest.fixture(scope="module", autouse=True)
def _no_leftover_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield from leftover_guard(tmp_path_factory.getbasetemp())
