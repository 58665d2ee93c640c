"""The failed-auth table stays bounded and forgets failures older than the window."""

from __future__ import annotations

from typing import Any

from modelport.server.security import authlimit
from modelport.server.security.authlimit import FailedAuthLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _app(scope: Any, receive: Any, send: Any) -> None:  # never called here
    raise AssertionError


def test_block_starts_at_the_limit_and_ends_with_the_window() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(_app, max_failures=3, window_seconds=60, clock=clock)
    for _ in range(2):
        limiter.record_failure("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") is None
    limiter.record_failure("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 60
    clock.now += 59.5
    assert limiter.retry_after("10.0.0.1") == 1
    clock.now += 1
    assert limiter.retry_after("10.0.0.1") is None
    assert limiter.retry_after("10.0.0.2") is None


def test_a_flood_from_many_addresses_keeps_the_table_bounded() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(_app, max_failures=3, window_seconds=60, clock=clock)
    for i in range(authlimit._MAX_ADDRESSES * 2):
        limiter.record_failure(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
    assert len(limiter._failures) <= authlimit._MAX_ADDRESSES
    # the newest addresses are still counted: eviction takes the oldest
    last = authlimit._MAX_ADDRESSES * 2 - 1
    assert f"10.{last >> 16 & 255}.{last >> 8 & 255}.{last & 255}" in limiter._failures


def test_a_client_is_counted_once_whatever_alias_or_ipv6_address_it_uses() -> None:
    key = authlimit.client_key
    assert key("127.0.0.1") == key("127.0.0.22") == key("::1") == key("::ffff:127.0.0.5")
    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9")  # one host owns its /64
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")
    assert key("::ffff:10.0.0.1") == key("10.0.0.1") != key("10.0.0.2")
