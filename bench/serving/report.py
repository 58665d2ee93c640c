#!/usr/bin/env python3
"""Markdown tables for RESULTS.md from harness result dirs.

usage: report.py RUN_DIR [BATCH_RUN_DIR] [--python VENV_PYTHON --model MODEL.joblib]
Prints, per concurrency: req/s, p50, p99 of every server, modelport's ratio to the best peer;
cold start and peak RSS; and, with a batch run dir, @batch against unbatched at 64 connections.
With --python/--model, also the model's own floor (fresh interpreter: import + load time and RSS),
so cold start and RSS can be read as "beyond the model".
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess

OURS = ("modelport", "modelport_batch")


def load(run: str) -> dict[str, dict]:
    out = {}
    for p in sorted(glob.glob(os.path.join(run, "*.json"))):
        with open(p) as f:
            r = json.load(f)
        if "sweep" in r:
            out[r["name"]] = r
    return out


def level(r: dict, c: int) -> dict | None:
    return next((x for x in r["sweep"] if x["conc"] == c), None)


def model_floor(python: str, model: str) -> tuple[float, float]:
    code = (
        "import time,resource;t=time.perf_counter();import joblib,numpy,sklearn;"
        f"m=joblib.load({model!r});"
        "print(time.perf_counter()-t, open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"
    )
    out = subprocess.run(
        ["taskset", "-c", "0", python, "-c", code], capture_output=True, text=True, check=True
    )
    secs, kb = out.stdout.split()
    return float(secs), int(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("batch_run", nargs="?")
    ap.add_argument("--python")
    ap.add_argument("--model")
    a = ap.parse_args()
    res = load(a.run)
    concs = sorted({x["conc"] for r in res.values() for x in r["sweep"]})
    peers = [n for n in res if n not in OURS]
    info_path = os.path.join(a.run, "run-info.txt")
    info = ""
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = f.read().strip()
    print(f"Run `{os.path.basename(os.path.normpath(a.run))}`:\n\n```\n{info}\n```\n")
    hdr = (
        ["server"]
        + [f"c={c} req/s · p50 · p99 ms" for c in concs]
        + ["cold start s", "peak RSS MB", "errors"]
    )
    print("| " + " | ".join(hdr) + " |\n|" + "---|" * len(hdr))
    for n, r in res.items():
        cells = [f"**{n}**" if n in OURS else n]
        errs = 0
        for c in concs:
            x = level(r, c)
            if x is None:
                cells.append("-")
                continue
            errs += x["errors"]
            cells.append(f"{x['rps']:.0f} · {x['p50_us'] / 1e3:.2f} · {x['p99_us'] / 1e3:.2f}")
        cells += [f"{r['cold_start_median_s']:.2f}", f"{r['peak_rss_mb']:.0f}", str(errs)]
        print("| " + " | ".join(cells) + " |")
    if "modelport" in res and peers:
        print(
            "\n| modelport vs best peer | "
            + " | ".join(f"c={c}" for c in concs)
            + " |\n|---|"
            + "---|" * len(concs)
        )
        ratio, p99 = ["req/s ratio"], ["p99 modelport / best peer's p99"]
        for c in concs:
            ours = level(res["modelport"], c)
            best_name = max(peers, key=lambda n: level(res[n], c)["rps"] if level(res[n], c) else 0)
            best = level(res[best_name], c)
            if ours and best:
                ratio.append(f"{ours['rps'] / best['rps']:.2f}x ({best_name} {best['rps']:.0f})")
                p99.append(f"{ours['p99_us'] / 1e3:.2f} / {best['p99_us'] / 1e3:.2f} ms")
        print("| " + " | ".join(ratio) + " |")
        print("| " + " | ".join(p99) + " |")
    if a.python and a.model:
        secs, mb = model_floor(a.python, a.model)
        ours = res.get("modelport")
        print(
            f"\nModel floor (fresh interpreter on CPU 0: import numpy+sklearn+joblib and load the model): "
            f"{secs:.2f} s, {mb:.0f} MB RSS."
        )
        if ours:
            print(
                f"modelport beyond the model: cold start {ours['cold_start_median_s'] - secs:.2f} s, "
                f"peak RSS {ours['peak_rss_mb'] - mb:.0f} MB (idle {ours['idle_rss_mb'] - mb:.0f} MB)."
            )
    if a.batch_run:
        b = load(a.batch_run)
        print(
            f"\n@modelport.batch at 64 connections (run `{os.path.basename(os.path.normpath(a.batch_run))}`):\n"
        )
        print("| server | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|")
        for n, r in b.items():
            x = level(r, 64)
            if x:
                print(
                    f"| {n} | {x['rps']:.0f} | {x['p50_us'] / 1e3:.2f} | {x['p99_us'] / 1e3:.2f} | {x['errors']} |"
                )
        if "modelport_batch" in b and "modelport" in b:
            rb, ru = level(b["modelport_batch"], 64), level(b["modelport"], 64)
            print(f"\n@batch / unbatched modelport at c=64: {rb['rps'] / ru['rps']:.2f}x", end="")
            peers64 = [n for n in peers if level(res[n], 64)]
            if peers64:
                best = max(peers64, key=lambda n: level(res[n], 64)["rps"])
                print(
                    f"; @batch / best unbatched peer ({best}) at c=64: {rb['rps'] / level(res[best], 64)['rps']:.2f}x"
                )
            else:
                print()


if __name__ == "__main__":
    main()
