"""A run as one self-contained HTML file: what ``headwater report RUN_ID`` writes.

The file holds the run page's content (its state, parameters, the graph coloured by state, the
timeline, the failing tasks' tracebacks, the task runs, logs and artifacts) with the UI's style
sheet inline. It loads nothing (no script, no style sheet, no image from elsewhere: its
Content-Security-Policy forbids it) and links only within itself, so it can be kept as a CI
artifact or sent by mail. Everything a user wrote is escaped, as on the UI's pages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Any

from markupsafe import Markup

__all__ = ["report_html"]


def _environment() -> Any:
    from headwater.ui._format import template_environment

    return template_environment()


def _style() -> str:
    """The UI's style sheet and its state colours, to put inline."""
    from headwater.ui._format import state_color, state_names

    sheet = resources.files("headwater.ui").joinpath("static", "ui.css").read_text("utf-8")
    rules = [f".state-{n} {{ background: {state_color(n)}; }}" for n in state_names()]
    return sheet + "\n" + "\n".join(rules) + "\n"


def _artifact_view(artifact: dict[str, Any]) -> dict[str, Any]:
    """The run page's view of an artifact, a link shown as its text (the file links nowhere)."""
    from headwater.ui._run_pages import artifact_view

    view = artifact_view(artifact)
    if view.get("kind") == "link":
        return {"kind": "text", "text": str(view.get("text") or "")}
    return view


def report_html(store: Any, run_id: int) -> str:
    """The report of flow run ``run_id`` from the history ``store``.

    Raises:
        LookupError: no flow run has that id.
    """
    from headwater.ui._gantt import gantt_svg
    from headwater.ui._run_pages import FAILED, graph_svg

    run = store.get_flow_run(run_id)
    if run is None:
        raise LookupError(f"No flow run has id {run_id}.")
    task_runs = store.list_task_runs(run_id)
    flow = store.get_flow(run["flow_id"]) if run.get("flow_id") is not None else None
    end = None if run.get("is_live") else run.get("ended_at")
    timeline = gantt_svg(task_runs, start=run.get("started_at"), end=end, link="#task-run-{id}")
    return str(
        _environment()
        .get_template("report.html")
        .render(
            title=f"Run #{run_id} of {run.get('flow_name')}",
            style=Markup(_style()),
            run=run,
            task_runs=task_runs,
            failures=[t for t in task_runs if t.get("traceback") or t.get("state") in FAILED],
            logs=store.list_logs(run_id),
            artifacts=[(a, _artifact_view(a)) for a in store.list_artifacts(run_id)],
            graph_svg=Markup(graph_svg(flow, run, task_runs)),
            gantt_svg=Markup(timeline),
            made_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        )
    )
