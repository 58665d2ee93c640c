"""Environments (list, spec, lock) and runs (experiments, runs, metrics as charts, files,
registered models)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from modelport.server.studio import charts, render
from modelport.server.studio.api import Api
from modelport.server.studio.auth import SignedIn
from modelport.server.studio.routing import StudioRoute

router = APIRouter(route_class=StudioRoute)


@router.get("/w/{ws}/environments")
async def environments_page(
    request: Request, ws: str, session: SignedIn, after: str = ""
) -> Response:
    async with Api(request) as api:
        found = await api.get(f"/workspaces/{ws}/environments", limit=100, after=after)
    next_url = f"/w/{ws}/environments?after={found['next']}" if found["next"] else None
    return render.page(
        request, "environments.html", session, environments=found["value"], next_url=next_url
    )


@router.get("/w/{ws}/environments/{name}/{version}")
async def environment_page(
    request: Request, ws: str, name: str, version: str, session: SignedIn
) -> Response:
    async with Api(request) as api:
        env = await api.get(f"/workspaces/{ws}/environments/{name}/versions/{version}")
    return render.page(
        request, "environment.html", session, env=env,
        spec_json=json.dumps(env["environment"], indent=2),
    )  # fmt: skip


@router.get("/w/{ws}/runs")
async def runs_page(
    request: Request, ws: str, session: SignedIn, experiment: str = "", after: str = ""
) -> Response:
    async with Api(request) as api:
        experiments = (await api.get(f"/workspaces/{ws}/experiments", limit=200))["value"]
        found = await api.get(
            f"/workspaces/{ws}/runs", experiment=experiment, expand="metrics", limit=50, after=after
        )
    next_url = None
    if found["next"]:
        next_url = f"/w/{ws}/runs?" + render.urlencode(
            {"experiment": experiment, "after": found["next"]}
        )
    return render.page(
        request, "runs.html", session, experiments=experiments, runs=found["value"],
        experiment=experiment, next_url=next_url,
    )  # fmt: skip


def _metric_charts(metrics: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Series (lists of numbers) become charts; single values stay in the table."""
    drawn, scalars = [], {}
    for name, value in sorted(metrics.items()):
        numbers = (
            [float(v) for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
            if isinstance(value, list)
            else []
        )
        if len(numbers) >= 2:
            drawn.append(charts.sparkline(name, "", list(numbers), "#2563eb"))
        else:
            scalars[name] = value
    return drawn, scalars


@router.get("/w/{ws}/runs/{run_id}")
async def run_page(request: Request, ws: str, run_id: str, session: SignedIn) -> Response:
    async with Api(request) as api:
        run = await api.get(f"/workspaces/{ws}/runs/{run_id}")
        metrics = await api.get(f"/workspaces/{ws}/runs/{run_id}/metrics")
        files = (await api.get(f"/workspaces/{ws}/runs/{run_id}/files"))["value"]
        models = (await api.get(f"/workspaces/{ws}/models", runId=run_id))["value"]
    drawn, scalars = _metric_charts(metrics)
    return render.page(
        request, "run.html", session, run=run, charts=drawn, scalars=scalars,
        files=files, models=models,
    )  # fmt: skip
