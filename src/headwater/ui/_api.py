"""The UI's JSON API under ``/api/``: the run history to read, and registered flows to start.

Each endpoint is an :class:`Endpoint`: its route, handler and the metadata the OpenAPI schema
(``/api/openapi.json``, :mod:`headwater.ui._openapi`) is made from, so the schema describes
exactly the routes served. Errors are ``{"error": "what was wrong and what to do"}`` with
status 400 (a bad filter), 403 (an action without the token), 404 or 422 (bad parameters).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from headwater.ui._filters import FilterError, run_filters
from headwater.ui._launch import LaunchError

if TYPE_CHECKING:
    from headwater.ui._app import UIState

__all__ = ["ENDPOINTS", "Endpoint", "Param", "error", "state_of"]

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Param:
    """A path or query parameter of an endpoint."""

    name: str
    where: str  # "path" or "query"
    type: str  # "integer" or "string"
    description: str


@dataclass(frozen=True)
class Endpoint:
    """One route of the API and what the OpenAPI schema says of it."""

    method: str
    path: str
    operation: str
    summary: str
    handler: Handler
    response: str  # the name of the response's schema
    params: tuple[Param, ...] = ()
    body: str | None = None  # the name of the request body's schema
    status: int = 200
    token: bool = False
    errors: tuple[int, ...] = (404,)


def state_of(request: Request) -> UIState:
    """The UI's state, kept on the application."""
    state: UIState = request.app.state.ui
    return state


def error(status: int, message: str) -> JSONResponse:
    """An error response: ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=status)


def _id(request: Request, name: str) -> int:
    return int(request.path_params[name])


def _missing(what: str, ident: object) -> JSONResponse:
    return error(404, f"no {what} has id {ident}; list them at /api/{what.replace(' ', '-')}s")


# -- the history -------------------------------------------------------------------------------
async def list_flows(request: Request) -> Response:
    flows = await state_of(request).data.acall("list_flows")
    return JSONResponse({"flows": flows})


async def get_flow(request: Request) -> Response:
    flow = await state_of(request).data.acall("get_flow", _id(request, "flow_id"))
    return JSONResponse(flow) if flow else _missing("flow", _id(request, "flow_id"))


async def list_runs(request: Request) -> Response:
    try:
        filters = run_filters(request.query_params)
        kwargs = filters.store_kwargs()
    except FilterError as exc:
        return error(400, str(exc))
    data = state_of(request).data
    runs = await data.acall("list_flow_runs", limit=filters.limit, offset=filters.offset, **kwargs)
    total = await data.acall("count_flow_runs", **kwargs)
    return JSONResponse(
        {"runs": runs, "total": total, "limit": filters.limit, "offset": filters.offset}
    )


async def get_run(request: Request) -> Response:
    run = await state_of(request).data.acall("get_flow_run", _id(request, "run_id"))
    return JSONResponse(run) if run else _missing("run", _id(request, "run_id"))


async def _with_run(request: Request, method: str, key: str, **kwargs: Any) -> Response:
    data = state_of(request).data
    run_id = _id(request, "run_id")
    if await data.acall("get_flow_run", run_id) is None:
        return _missing("run", run_id)
    return JSONResponse({key: await data.acall(method, run_id, **kwargs)})


async def list_task_runs(request: Request) -> Response:
    return await _with_run(request, "list_task_runs", "task_runs")


async def get_task_run(request: Request) -> Response:
    ident = _id(request, "task_run_id")
    task_run = await state_of(request).data.acall("get_task_run", ident)
    return JSONResponse(task_run) if task_run else _missing("task run", ident)


async def list_logs(request: Request) -> Response:
    query = request.query_params
    kwargs: dict[str, Any] = {}
    for name, low in (("task_run_id", 0), ("limit", 1)):
        raw = query.get(name)
        if raw:
            if not raw.isdigit() or int(raw) < low:
                return error(400, f"{name} must be a whole number of at least {low}, got {raw!r}")
            kwargs[name] = int(raw)
    return await _with_run(request, "list_logs", "logs", **kwargs)


async def list_artifacts(request: Request) -> Response:
    return await _with_run(request, "list_artifacts", "artifacts")


# -- registered flows --------------------------------------------------------------------------
async def list_registered(request: Request) -> Response:
    launcher = state_of(request).launcher
    flows = [
        {"name": name, "flow_name": entry.flow.name, "parameters": entry.parameters()}
        for name, entry in sorted(launcher.flows.items())
    ]
    return JSONResponse({"flows": flows})


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise LaunchError(f"the request body must be JSON: {exc}", status=400) from None
    if not isinstance(body, dict):
        raise LaunchError('the request body must be a JSON object: {"parameters": {...}}', 400)
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise LaunchError('"parameters" must be an object of parameter values by name', 400)
    return parameters


async def start_run(request: Request) -> Response:
    state = state_of(request)
    if not state.guard.header_ok(request.headers):
        return error(
            403,
            "starting a run needs the token printed when the UI started: send it as "
            "'Authorization: Bearer TOKEN' or an 'X-Headwater-Token' header",
        )
    name = request.path_params["name"]
    try:
        state.launcher.get(name)
        parameters = await _body(request)
        run_id = await asyncio.to_thread(state.launcher.start, name, parameters)
    except LaunchError as exc:
        return error(exc.status, str(exc))
    return JSONResponse(
        {"run_id": run_id, "url": f"/runs/{run_id}", "api_url": f"/api/runs/{run_id}"},
        status_code=201,
    )


_RUN = Param("run_id", "path", "integer", "The flow run's id.")
_FILTERS = (
    Param("flow", "query", "string", "Only the runs of the flow of this name."),
    Param("flow_id", "query", "integer", "Only the runs of the flow of this id."),
    Param("state", "query", "string", "Only runs in this state (Success, Failed, Running...)."),
    Param("since", "query", "string", "Started at or after: ISO-8601, or 15m, 1h, 24h, 7d ago."),
    Param("until", "query", "string", "Started at or before this ISO-8601 time."),
    Param("limit", "query", "integer", "At most this many runs (1 to 500; default 50)."),
    Param("offset", "query", "integer", "Skip this many runs first (newest first)."),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/flows", "listFlows", "The flows in the history", list_flows, "FlowList"),
    Endpoint(
        "GET",
        "/api/flows/{flow_id}",
        "getFlow",
        "A flow, its graph and run statistics",
        get_flow,
        "FlowDetail",
        (Param("flow_id", "path", "integer", "The flow's id."),),
    ),
    Endpoint(
        "GET",
        "/api/runs",
        "listRuns",
        "Flow runs, newest first",
        list_runs,
        "RunList",
        _FILTERS,
        errors=(400,),
    ),
    Endpoint("GET", "/api/runs/{run_id}", "getRun", "A flow run", get_run, "FlowRun", (_RUN,)),
    Endpoint(
        "GET",
        "/api/runs/{run_id}/task-runs",
        "listTaskRuns",
        "The task runs of a flow run, in start order",
        list_task_runs,
        "TaskRunList",
        (_RUN,),
    ),
    Endpoint(
        "GET",
        "/api/task-runs/{task_run_id}",
        "getTaskRun",
        "A task run",
        get_task_run,
        "TaskRun",
        (Param("task_run_id", "path", "integer", "The task run's id."),),
    ),
    Endpoint(
        "GET",
        "/api/runs/{run_id}/logs",
        "listLogs",
        "The log records of a flow run",
        list_logs,
        "LogList",
        (
            _RUN,
            Param("task_run_id", "query", "integer", "Only the records of this task run."),
            Param("limit", "query", "integer", "At most this many records (default 1000)."),
        ),
        errors=(400, 404),
    ),
    Endpoint(
        "GET",
        "/api/runs/{run_id}/artifacts",
        "listArtifacts",
        "The artifacts of a flow run",
        list_artifacts,
        "ArtifactList",
        (_RUN,),
    ),
    Endpoint(
        "GET",
        "/api/registered",
        "listRegisteredFlows",
        "The flows this UI can start, with their parameters",
        list_registered,
        "RegisteredList",
        errors=(),
    ),
    Endpoint(
        "POST",
        "/api/registered/{name}/runs",
        "startRun",
        "Start a run of a registered flow (needs the token)",
        start_run,
        "StartedRun",
        (Param("name", "path", "string", "The registered flow's name."),),
        body="StartRequest",
        status=201,
        token=True,
        errors=(400, 403, 404, 422, 500),
    ),
)
"""Every endpoint of the API (``/api/openapi.json`` is served beside them)."""
