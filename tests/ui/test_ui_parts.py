"""The UI's parts on their own: the timeline, the run graph, artifact views, filters and the
token checks, on the rows a real history gives back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ui_support import History

from headwater.ui._filters import FilterError, moment, run_filters
from headwater.ui._gantt import MAX_ROWS, gantt_svg
from headwater.ui._run_pages import artifact_view, compare_rows, graph_svg
from headwater.ui._security import Guard, is_loopback


def _task_runs(history: History, key: str) -> list[dict[str, Any]]:
    with history.store() as store:
        return store.list_task_runs(history.runs[key])  # type: ignore[no-any-return]


def test_timeline_has_a_bar_per_task_run_on_one_axis(history: History) -> None:
    rows = _task_runs(history, "etl-3")
    svg = gantt_svg(rows)
    assert svg.count('class="gantt-row"') == len(rows) == 7
    assert svg.count('href="/task-runs/') == 7 and "+0 s" in svg


def test_a_task_run_still_going_is_drawn_up_to_now() -> None:
    now = datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)
    rows = [
        {
            "id": 1,
            "task_name": "done",
            "state": "Success",
            "started_at": "2026-01-01T00:00:00Z",
            "ended_at": "2026-01-01T00:00:02Z",
            "duration_seconds": 2.0,
        },
        {
            "id": 2,
            "task_name": "going",
            "state": "Running",
            "started_at": "2026-01-01T00:00:05Z",
            "ended_at": None,
            "duration_seconds": None,
        },
    ]
    svg = gantt_svg(rows, start="2026-01-01T00:00:00Z", end=None, now=now)
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(640 * 2 / 10) and widths[1] == pytest.approx(640 * 5 / 10)
    assert "+10.00 s" in svg


def test_timeline_draws_at_most_max_rows_and_says_so() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "id": i,
            "task_name": f"t{i}",
            "state": "Success",
            "started_at": (start + timedelta(seconds=i)).isoformat(),
            "ended_at": (start + timedelta(seconds=i + 1)).isoformat(),
            "duration_seconds": 1.0,
        }
        for i in range(MAX_ROWS + 5)
    ]
    svg = gantt_svg(rows)
    assert svg.count('class="gantt-row"') == MAX_ROWS and "and 5 more task runs" in svg


def test_graph_colours_tasks_by_state_and_counts_mapped_children(history: History) -> None:
    with history.store() as store:
        run = store.get_flow_run(history.runs["etl-3"])
        flow = store.get_flow(run["flow_id"])
    svg = graph_svg(flow, run, _task_runs(history, "etl-3"))
    assert "3 Success" in svg and 'fill="#28a745"' in svg and ">load</tspan>" in svg


def test_graph_without_a_recorded_graph_draws_the_task_runs(history: History) -> None:
    rows = _task_runs(history, "evil")
    svg = graph_svg(None, {"flow_name": "modern"}, rows)
    assert svg.count("<rect x=") == 2 and 'fill="#eb0000"' in svg and ">modern</text>" in svg


def test_compare_matches_task_runs_by_task_and_map_index(history: History) -> None:
    rows = compare_rows(_task_runs(history, "etl-3"), _task_runs(history, "etl-2"))
    only_a = [r for r in rows if r["b"] is None]
    assert [r["label"] for r in only_a] == ["transform[2]"] and only_a[0]["differs"]
    assert all(not r["differs"] for r in rows if r["a"] and r["b"])


@pytest.mark.parametrize(
    ("artifact", "kind"),
    [
        ({"type": "link", "data": "https://example.org"}, "link"),
        ({"type": "link", "data": "javascript:alert(1)"}, "text"),
        ({"type": "image", "data": "data:text/html,<script>"}, "text"),
        ({"type": "table", "data": [{"a": 1}, {"b": 2}]}, "table"),
        ({"type": "table", "data": [[1, 2], [3, 4]]}, "table"),
        ({"type": "table", "data": "not rows"}, "text"),
        ({"type": "progress", "data": 140}, "progress"),
        ({"type": "markdown", "data": "# <b>title</b>"}, "text"),
    ],
)
def test_artifact_views_link_only_web_addresses(artifact: dict[str, Any], kind: str) -> None:
    view = artifact_view(artifact)
    assert view["kind"] == kind
    if kind == "progress":
        assert view["value"] == 100.0
    if kind == "table" and isinstance(artifact["data"][0], dict):
        assert view["columns"] == ["a", "b"] and view["rows"] == [["1", ""], ["", "2"]]


def test_filters_read_spans_and_times_and_name_a_bad_value() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert moment("24h", "since", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert moment("2026-01-01T05:00:00", "until") == datetime(2026, 1, 1, 5, tzinfo=UTC)
    with pytest.raises(FilterError, match="until must be"):
        run_filters({"until": "soon"})
    filters = run_filters({"flow": "etl", "offset": "50"})
    assert filters.query(offset=None) == {"flow": "etl"}


def test_the_guard_accepts_only_the_token() -> None:
    guard = Guard("s3cret")
    assert guard.header_ok({"authorization": "Bearer s3cret"})
    assert guard.header_ok({"x-headwater-token": "s3cret"})
    assert not guard.header_ok({"authorization": "Basic s3cret"})
    assert not guard.header_ok({"authorization": "Bearer s3cret2"})
    assert guard.form_ok({"token": "s3cret"}, {})
    assert not guard.form_ok({"form_key": guard.form_key}, {})  # the key needs the cookie too
    assert guard.form_ok({"form_key": guard.form_key}, {guard.cookie: "s3cret"})
    assert not guard.form_ok({"form_key": guard.form_key}, {Guard("other").cookie: "s3cret"})


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.1.2.3", True),
        ("0.0.0.0", False),
        ("192.168.0.1", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_package_data_ships_every_template_and_static_file() -> None:
    import fnmatch
    import tomllib
    from pathlib import Path

    import headwater.ui

    root = Path(headwater.ui.__file__).parent
    pyproject = root.parents[2] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]
    files = [p for d in ("templates", "static") for p in (root / d).iterdir() if p.is_file()]
    assert len(files) >= 10
    for path in files:
        relative = path.relative_to(root.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns["headwater"]), relative
