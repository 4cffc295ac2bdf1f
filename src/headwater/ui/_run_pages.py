"""The UI's pages of one run: the run (graph coloured by state, timeline, task runs, the failing
tasks' tracebacks, logs, parameters, artifacts), a task run, and two runs side by side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from headwater.ui._api import state_of
from headwater.ui._app import render
from headwater.ui._format import state_color, task_label

__all__ = ["ROUTES", "artifact_view", "compare_rows", "graph_svg"]

FAILED = {"Failed", "TimedOut", "TriggerFailed", "ValidationFailed", "Crashed", "ClientFailed"}


def _not_found(request: Request, message: str) -> Response:
    return render(request, "error.html", 404, title="Not found", message=message)


def graph_svg(
    flow: Mapping[str, Any] | None, run: Mapping[str, Any], task_runs: Sequence[Any]
) -> str:
    """The run's graph, each task coloured by its state (a failed child colours its map)."""
    from headwater.utilities._svg_graph import draw_serialized_flow

    by_slug: dict[str, list[Mapping[str, Any]]] = {}
    names: dict[str, str] = {}
    for tr in task_runs:
        slug = str(tr.get("task_slug") or tr.get("task_name"))
        by_slug.setdefault(slug, []).append(tr)
        names.setdefault(slug, str(tr.get("task_name")))
    colors, notes = {}, {}
    for slug, rows in by_slug.items():
        failed = [r for r in rows if r.get("state") in FAILED]
        colors[slug] = state_color((failed or rows)[-1].get("state"))
        children = [r for r in rows if r.get("map_index") is not None]
        if children:
            counts = Counter(str(r.get("state")) for r in children)
            notes[slug] = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    graph = (flow or {}).get("graph")
    if not graph:
        tasks = [{"slug": s, "name": names[s]} for s in by_slug]
        graph = {"name": run.get("flow_name") or "flow", "tasks": tasks, "edges": []}
    return draw_serialized_flow(graph, colors, notes)


def _safe_url(value: Any) -> str | None:
    text = str(value or "")
    return text if urlparse(text).scheme in ("http", "https") else None


def artifact_view(artifact: Mapping[str, Any]) -> dict[str, Any]:
    """What the run page shows of an artifact; every value stays text for the template to escape.

    Markdown is shown as its text; a table as rows and columns; a link or an image as a link,
    only for ``http``/``https`` addresses; a progress as a bar.
    """
    kind, data = artifact.get("type"), artifact.get("data")
    view: dict[str, Any] | None = None
    if kind == "table":
        view = _table_view(data)
    elif kind in ("link", "image"):
        view = _link_view(data)
    elif kind == "progress" and isinstance(data, (int, float)):
        view = {"kind": "progress", "value": max(0.0, min(float(data), 100.0))}
    return view or {"kind": "text", "text": _text_of(data)}


def _table_view(data: Any) -> dict[str, Any] | None:
    rows = data.get("rows", data) if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows:
        return None
    if all(isinstance(r, dict) for r in rows):
        columns = list(dict.fromkeys(k for r in rows for k in r))
        body = [[_text_of(r.get(c)) for c in columns] for r in rows]
        return {"kind": "table", "columns": columns, "rows": body}
    if all(isinstance(r, (list, tuple)) for r in rows):
        return {"kind": "table", "columns": [], "rows": [[_text_of(c) for c in r] for r in rows]}
    return None


def _link_view(data: Any) -> dict[str, Any] | None:
    target = data.get("url", data.get("link")) if isinstance(data, dict) else data
    href = _safe_url(target)
    return {"kind": "link", "href": href, "text": _text_of(target)} if href else None


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    from headwater.ui._format import pretty

    return pretty(value)


async def run_page(request: Request) -> Response:
    """A flow run: its state, graph, timeline, task runs, tracebacks, logs and artifacts."""
    from headwater.ui._gantt import gantt_svg

    run_id = int(request.path_params["run_id"])
    data = state_of(request).data
    run = await data.acall("get_flow_run", run_id)
    if run is None:
        return _not_found(request, f"No flow run has id {run_id}.")
    task_runs = await data.acall("list_task_runs", run_id)
    flow = await data.acall("get_flow", run["flow_id"]) if run.get("flow_id") is not None else None
    logs = await data.acall("list_logs", run_id)
    artifacts = await data.acall("list_artifacts", run_id)
    others = await data.acall("list_flow_runs", flow_id=run.get("flow_id"), limit=20)
    end = None if run.get("is_live") else run.get("ended_at")
    return render(
        request,
        "run.html",
        title=f"Run #{run_id} of {run.get('flow_name')}",
        run=run,
        task_runs=task_runs,
        failures=[t for t in task_runs if t.get("traceback") or t.get("state") in FAILED],
        logs=logs,
        artifacts=[(a, artifact_view(a)) for a in artifacts],
        graph_svg=Markup(graph_svg(flow, run, task_runs)),
        gantt_svg=Markup(gantt_svg(task_runs, start=run.get("started_at"), end=end)),
        others=[o for o in others if o["id"] != run_id],
        live=bool(run.get("is_live")),
        poll_url=request.url.path,
    )


async def task_run_page(request: Request) -> Response:
    """A task run: its state, times, error and traceback, and its log records."""
    ident = int(request.path_params["task_run_id"])
    data = state_of(request).data
    task_run = await data.acall("get_task_run", ident)
    if task_run is None:
        return _not_found(request, f"No task run has id {ident}.")
    run = await data.acall("get_flow_run", task_run["flow_run_id"])
    logs = await data.acall("list_logs", task_run["flow_run_id"], task_run_id=ident)
    label = task_label(task_run)
    return render(
        request,
        "task_run.html",
        title=f"Task run {label}",
        task_run=task_run,
        run=run,
        label=label,
        logs=logs,
    )


def _key(tr: Mapping[str, Any]) -> tuple[str, int]:
    index = tr.get("map_index")
    return str(tr.get("task_slug") or tr.get("task_name")), -1 if index is None else int(index)


def compare_rows(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The task runs of two runs side by side, matched by task and map index (last attempt)."""
    left = {_key(t): t for t in a}
    right = {_key(t): t for t in b}
    rows = []
    for key in dict.fromkeys([*left, *right]):
        x, y = left.get(key), right.get(key)
        label = task_label(x or y or {})
        rows.append(
            {
                "label": label,
                "a": x,
                "b": y,
                "differs": (x or {}).get("state") != (y or {}).get("state"),
            }
        )
    return rows


def _parameter_rows(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    from headwater.ui._format import pretty

    keys = sorted(set(a) | set(b))
    return [
        {
            "name": k,
            "a": pretty(a[k]) if k in a else "—",
            "b": pretty(b[k]) if k in b else "—",
            "differs": a.get(k, object()) != b.get(k, object()),
        }
        for k in keys
    ]


async def compare_page(request: Request) -> Response:
    """Two runs side by side: parameters, the state and duration of each task run."""
    query = request.query_params
    raw = [query.get("a", ""), query.get("b", "")]
    if not all(r.strip().isdigit() for r in raw):
        return render(
            request,
            "error.html",
            400,
            title="Compare runs",
            message="Compare takes two run ids: /compare?a=RUN_ID&b=RUN_ID.",
        )
    data = state_of(request).data
    runs = [await data.acall("get_flow_run", int(r)) for r in raw]
    for r, run in zip(raw, runs):
        if run is None:
            return _not_found(request, f"No flow run has id {int(r)}.")
    a, b = runs
    tasks = [await data.acall("list_task_runs", run["id"]) for run in runs]
    return render(
        request,
        "compare.html",
        title=f"Compare runs {a['id']} and {b['id']}",
        a=a,
        b=b,
        parameters=_parameter_rows(a.get("parameters") or {}, b.get("parameters") or {}),
        rows=compare_rows(*tasks),
    )


ROUTES: list[BaseRoute] = [
    Route("/runs/{run_id:int}", run_page, methods=["GET"]),
    Route("/task-runs/{task_run_id:int}", task_run_page, methods=["GET"]),
    Route("/compare", compare_page, methods=["GET"]),
]
"""The routes of these pages."""
