"""The busy-poll A/B of one sweep: modelport with its defaults against ``--busy-poll-us 0``.

``modelport_nopoll`` (one worker, pinned like modelport, c=1/8/64) and ``modelport_w2_nopoll``
(two workers, c=64) run in the same sweep as ``modelport`` and ``modelport_w2``; this module turns
their levels into the figures and the lines report.py prints.
"""

# ruff: noqa: RUF001  (the times and minus signs are meant: the output is markdown for people)
from __future__ import annotations

from collections.abc import Callable
from typing import Any

R = dict[str, Any]
PAIRS = (("modelport", "modelport_nopoll"), ("modelport_w2", "modelport_w2_nopoll"))


def figures(concs: list[int], rps: Callable[[str, int], float | None],
            cpu_us: Callable[[str, int], float | None]) -> R:  # fmt: skip
    """{"modelport@8": {"on_rps", "off_rps", "on_cpu_us", "off_cpu_us"}, ...} where both ran."""
    out: R = {}
    for on, off in PAIRS:
        for c in concs:
            if rps(on, c) and rps(off, c):
                out[f"{on}@{c}"] = {"on_rps": rps(on, c), "off_rps": rps(off, c),
                                    "on_cpu_us": cpu_us(on, c), "off_cpu_us": cpu_us(off, c)}  # fmt: skip
    return out


def lines(figs: R) -> list[str]:
    if not figs:
        return []
    out = ["", "Busy-poll on (the default, --busy-poll-us 200) against off (--busy-poll-us 0), same sweep:", "",
           "| server @ connections | req/s on · off (on/off) | server CPU µs/req on · off |", "|---|---|---|"]  # fmt: skip
    for key, v in figs.items():
        cpu_on, cpu_off = v["on_cpu_us"], v["off_cpu_us"]
        cpu = f"{cpu_on:.0f} · {cpu_off:.0f}" if cpu_on and cpu_off else "-"
        out.append(f"| {key} | {v['on_rps']:.0f} · {v['off_rps']:.0f} "
                   f"({v['on_rps'] / v['off_rps']:.2f}×) | {cpu} |")  # fmt: skip
    return out
