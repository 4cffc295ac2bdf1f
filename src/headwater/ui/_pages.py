"""The UI's list pages: the runs list (filtered, refreshing while runs are live), the flows, a
flow's page (its runs, success rate, p50/p95 durations, graph) and the start-a-run form.

A page asked for by htmx's polling (``HX-Request``) gets the same HTML as a browser; htmx keeps
the part it polls for (``hx-select``), so a page and its refresh cannot differ.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from headwater.ui._api import state_of
from headwater.ui._app import render, set_token_cookie
from headwater.ui._filters import SINCE_CHOICES, FilterError, RunFilters, run_filters
from headwater.ui._format import STATE_NAMES
from headwater.ui._launch import LaunchError, RegisteredFlow, parse_value

__all__ = ["ROUTES"]


def _bad_request(request: Request, message: str) -> Response:
    return render(request, "error.html", 400, title="Bad request", message=message)


def _not_found(request: Request, message: str) -> Response:
    return render(request, "error.html", 404, title="Not found", message=message)


def _page_links(filters: RunFilters, total: int) -> dict[str, Any]:
    from urllib.parse import urlencode

    links: dict[str, Any] = {"newer": None, "older": None}
    if filters.offset > 0:
        newer = max(filters.offset - filters.limit, 0)
        links["newer"] = "?" + urlencode(filters.query(offset=newer or None))
    if filters.offset + filters.limit < total:
        links["older"] = "?" + urlencode(filters.query(offset=filters.offset + filters.limit))
    return links


async def runs_page(request: Request) -> Response:
    """The runs list, filtered by flow, state and time."""
    try:
        filters = run_filters(request.query_params)
        kwargs = filters.store_kwargs()
    except FilterError as exc:
        return _bad_request(request, str(exc))
    data = state_of(request).data
    runs = await data.acall("list_flow_runs", limit=filters.limit, offset=filters.offset, **kwargs)
    total = await data.acall("count_flow_runs", **kwargs)
    flows = await data.acall("list_flows")
    return render(
        request,
        "runs.html",
        title="Runs",
        runs=runs,
        total=total,
        filters=filters,
        flows=sorted({f["name"] for f in flows}),
        states=STATE_NAMES,
        since_choices=SINCE_CHOICES,
        live=any(r.get("is_live") for r in runs),
        poll_url=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        **_page_links(filters, total),
    )


async def flows_page(request: Request) -> Response:
    """Every flow in the history, with its last run."""
    flows = await state_of(request).data.acall("list_flows")
    return render(request, "flows.html", title="Flows", flows=flows)


def _entries_for(request: Request, flow_name: str) -> list[RegisteredFlow]:
    flows = state_of(request).launcher.flows
    return [e for _, e in sorted(flows.items()) if e.flow.name == flow_name]


async def flow_page(request: Request) -> Response:
    """A flow: its statistics, graph and run history."""
    flow_id = int(request.path_params["flow_id"])
    data = state_of(request).data
    flow = await data.acall("get_flow", flow_id)
    if flow is None:
        return _not_found(request, f"No flow has id {flow_id}.")
    runs = await data.acall("list_flow_runs", flow_id=flow_id, limit=50)
    graph_svg = None
    if flow.get("graph"):
        from markupsafe import Markup

        from headwater.utilities._svg_graph import draw_serialized_flow

        graph_svg = Markup(draw_serialized_flow(flow["graph"]))
    return render(
        request,
        "flow.html",
        title=f"Flow {flow['name']}",
        flow=flow,
        stats=flow.get("stats") or {},
        runs=runs,
        graph_svg=graph_svg,
        entries=_entries_for(request, flow["name"]),
        live=any(r.get("is_live") for r in runs),
        poll_url=request.url.path,
    )


async def start_page(request: Request) -> Response:
    """The form that starts a run of a registered flow."""
    try:
        entry = state_of(request).launcher.get(request.path_params["name"])
    except LaunchError as exc:
        return _not_found(request, str(exc))
    return render(request, "start.html", title=f"Start {entry.name}", entry=entry, problem=None)


def _form_parameters(entry: RegisteredFlow, form: Any) -> dict[str, Any]:
    values = {}
    for p in entry.parameters():
        raw = form.get(f"param:{p['name']}")
        if isinstance(raw, str) and raw.strip() != "":
            values[p["name"]] = parse_value(raw)
    return values


MAX_FORM_BYTES = 1 << 20


async def _form(request: Request) -> dict[str, str]:
    """The fields of a posted URL-encoded form (the start form is one)."""
    from urllib.parse import parse_qsl

    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def start_action(request: Request) -> Response:
    """Start a run from the form (with the token); then show the run."""
    state = state_of(request)
    try:
        entry = state.launcher.get(request.path_params["name"])
    except LaunchError as exc:
        return _not_found(request, str(exc))
    form = await _form(request)
    if not state.guard.form_ok(form, request.cookies):
        return render(
            request,
            "start.html",
            403,
            title=f"Start {entry.name}",
            entry=entry,
            problem="Starting a run needs the token printed when the UI started.",
        )
    try:
        run_id = await asyncio.to_thread(
            state.launcher.start, entry.name, _form_parameters(entry, form)
        )
    except LaunchError as exc:
        return render(
            request,
            "start.html",
            exc.status,
            title=f"Start {entry.name}",
            entry=entry,
            problem=str(exc),
        )
    response = RedirectResponse(f"/runs/{run_id}", 303)
    set_token_cookie(response, state.guard)
    return response


ROUTES: list[BaseRoute] = [
    Route("/", runs_page, methods=["GET"]),
    Route("/runs", runs_page, methods=["GET"]),
    Route("/flows", flows_page, methods=["GET"]),
    Route("/flows/{flow_id:int}", flow_page, methods=["GET"]),
    Route("/start/{name}", start_page, methods=["GET"]),
    Route("/start/{name}", start_action, methods=["POST"]),
]
"""The routes of these pages."""
