"""Registry benchmark: 10,000 versions across 100 names, then list-by-tag and get-latest latency.

Starts its own workspace server (tmp home; SQLite by default, ``--database-url`` for PostgreSQL),
registers through the HTTP API (one blob, deduplicated), then times a filtered page of 100
(``tags=team=…``) and ``versions/latest``, and reports p50/p99 and the server's peak RSS.

    .venv/bin/python bench/registry_bench.py [--database-url postgresql://…] [--versions 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from modelport.server import daemon

TEAMS = 10
STAGES = ("dev", "staging", "prod")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    r = client.get(url, params=params)
    elapsed = (time.perf_counter() - start) * 1000
    r.raise_for_status()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="modelport-bench-"))
    info = daemon.start(home, database_url=args.database_url)
    headers = {"Authorization": f"Bearer {info.token}"}
    base = f"{info.url}/api/v1/workspaces/default"
    try:
        setup = httpx.Client(headers=headers, timeout=60)
        data = b"bench model weights"
        sha = hashlib.sha256(data).hexdigest()
        setup.put(f"{base}/blobs/{sha}", content=data).raise_for_status()
        entry = {"path": "model.pkl", "sha256": sha, "size": len(data)}

        def register(chunk: range) -> None:
            with httpx.Client(headers=headers, timeout=60) as c:
                for i in chunk:
                    body = {
                        "name": f"model-{i % args.names:03d}",
                        "files": [entry],
                        "tags": {
                            "team": f"team{i % TEAMS}",
                            "stage": STAGES[i % len(STAGES)],
                            "run": str(i),
                        },
                        "framework": "ScikitLearn",
                    }
                    c.post(f"{base}/models", json=body).raise_for_status()

        start = time.perf_counter()
        step = args.writers
        with ThreadPoolExecutor(args.writers) as pool:
            list(pool.map(register, [range(w, args.versions, step) for w in range(step)]))
        register_s = time.perf_counter() - start

        list_ms, latest_ms, latest_list_ms = [], [], []
        client = httpx.Client(headers=headers, timeout=60)
        for i in range(args.samples):
            params = {"tags": f"team=team{i % TEAMS}", "limit": "100"}
            list_ms.append(timed(client, f"{base}/models", params))
            latest_ms.append(
                timed(client, f"{base}/models/model-{i % args.names:03d}/versions/latest")
            )
        for i in range(args.samples // 5):
            params = {"tags": f"team=team{i % TEAMS}", "latest": "true", "limit": "100"}
            latest_list_ms.append(timed(client, f"{base}/models", params))
        page = client.get(f"{base}/models", params={"tags": "team=team3", "limit": "100"}).json()
        assert len(page["value"]) == 100 and page["next"]

        result = {
            "database": "postgresql" if args.database_url else "sqlite",
            "versions": args.versions,
            "names": args.names,
            "register_per_s": round(args.versions / register_s, 1),
            "list_by_tag_page_100_ms": {
                "p50": round(statistics.median(list_ms), 2),
                "p99": round(percentile(list_ms, 99), 2),
            },
            "get_latest_ms": {
                "p50": round(statistics.median(latest_ms), 2),
                "p99": round(percentile(latest_ms, 99), 2),
            },
            "list_by_tag_latest_only_ms": {
                "p50": round(statistics.median(latest_list_ms), 2),
                "p99": round(percentile(latest_list_ms, 99), 2),
            },
            "server_peak_rss_mb": round(peak_rss_mb(info.pid), 1),
        }
    finally:
        daemon.stop(home)
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"registry_{result['database']}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
