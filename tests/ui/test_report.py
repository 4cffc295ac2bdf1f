"""``headwater report`` and ``headwater.ui.render_report``: one self-contained HTML file of a
recorded run (graph, timeline, task runs, logs, parameters, tracebacks), escaped, loading
nothing from elsewhere."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from ui_support import EVIL, History, evil

from headwater.cli import main
from headwater.ui import render_report


class Page(HTMLParser):
    """The tags of a page (with their attributes), the text inside each ``id``'d element."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[tuple[str, str | None]] = []
        self.text_of: dict[str, str] = {}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag not in ("meta", "link", "br", "img", "input", "rect", "line", "path", "circle"):
            self.open.append((tag, found.get("id")))
            if found.get("id"):
                self.text_of.setdefault(str(found["id"]), "")

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        """The attributes of the ``tag`` elements whose attributes start with ``attrs``."""
        return [
            a
            for t, a in self.tags
            if t == tag and all(str(a.get(k) or "").startswith(v) for k, v in attrs.items())
        ]

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                del self.open[i:]
                break

    def handle_data(self, data: str) -> None:
        for _, ident in self.open:
            if ident:
                self.text_of[ident] += data


def _report(history: History, key: str) -> str:
    with history.store() as store:
        return render_report(store, history.runs[key])


def _no_external_resources(text: str) -> None:
    lowered = text.lower()
    for attribute in ("src=", "href="):
        for quote in ('"', "'"):
            assert f"{attribute}{quote}http" not in lowered
            assert f"{attribute}{quote}//" not in lowered
    assert "<script" not in lowered
    assert "<link" not in lowered and "@import" not in lowered and "url(" not in lowered


def test_the_report_draws_the_graph_and_the_timeline(history: History) -> None:
    text = _report(history, "etl-3")
    page = Page(text)
    assert text.startswith("<!doctype html>")
    assert len(page.find("svg")) == 2 and len(page.find("svg", **{"class": "gantt"})) == 1
    assert "load" in page.text_of["graph"] and "3 Success" in page.text_of["graph"]
    assert 'fill="#28a745"' in text  # the tasks' Success colour
    bars = page.find("g", **{"class": "gantt-row"})
    rows = page.find("tr", id="task-run-")
    with history.store() as store:
        recorded = store.list_task_runs(history.runs["etl-3"])
    assert len(rows) == len(recorded) >= 6  # parameters, extract, 3 children, load...
    assert len(bars) == len([r for r in recorded if r["started_at"]]) >= 5
    links = {a["href"] for a in page.find("a", href="")}
    assert len(links) == len(bars)  # every bar links into the file itself
    assert links <= {f"#{r['id']}" for r in rows}
    _no_external_resources(text)


def test_the_report_shows_logs_parameters_and_artifacts(history: History) -> None:
    text = _report(history, "etl-3")
    page = Page(text)
    assert "extracting 3 rows" in page.text_of["logs"]
    assert "loaded 3 rows for daily" in page.text_of["logs"]
    assert '"daily"' in page.text_of["parameters"] and "3" in page.text_of["parameters"]
    assert "Success" in page.text_of["run-state"]
    assert "rows" in page.text_of["artifacts"] and "https://example.org/etl" in text
    assert "<style>" in text and ".state-Failed" in text  # the style sheet, inline
    _no_external_resources(text)


def test_the_report_escapes_what_users_wrote_and_shows_the_traceback(history: History) -> None:
    text = _report(history, "evil")
    _no_external_resources(text)  # no <script> survived: every one is text
    page = Page(text)
    shown = "".join(page.text_of.values())
    for where in ("flow", "task", "param", "log", "error", "artifact", "table"):
        assert evil(where) in shown, where  # shown as text
    assert EVIL.format("task") not in text
    assert "&lt;script&gt;alert(&#39;task&#39;)&lt;/script&gt;" in text
    failures = page.text_of["failures"]
    assert "Traceback (most recent call last)" in failures
    assert f"ValueError: {evil('error')}" in failures
    assert "javascript:" not in [a.get("href") for t, a in page.tags if t == "a"]


def test_an_unknown_run_is_a_lookup_error(history: History) -> None:
    with history.store() as store, pytest.raises(LookupError, match="No flow run has id 999"):
        render_report(store, 999)


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), env={}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_command_writes_the_file(history: History, tmp_path: Path) -> None:
    target = tmp_path / "run.html"
    run = history.runs["etl-2"]
    code, out, err = _cli("report", str(run), "-o", str(target), "--db", str(history.db))
    assert code == 0, err
    assert f"report of run #{run} (etl, Success)" in out and str(target) in out
    text = target.read_text("utf-8")
    made = re.compile(r"made [0-9: -]+ UTC")
    assert made.sub("", text) == made.sub("", _report(history, "etl-2"))
    _no_external_resources(text)


@pytest.mark.parametrize("dash", [True, False])
def test_the_command_writes_to_standard_output(history: History, dash: bool) -> None:
    run = history.runs["evil"]
    args = ["report", str(run), "--db", str(history.db)] + (["-o", "-"] if dash else [])
    code, out, err = _cli(*args)
    assert code == 0 and err == ""
    assert out.startswith("<!doctype html>") and "Traceback" in out


def test_an_unknown_run_id_is_one_line_and_status_1(history: History) -> None:
    code, out, err = _cli("report", "999", "--db", str(history.db))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "no flow run 999" in err and "headwater runs" in err


def test_a_run_id_that_is_not_a_number_is_a_usage_error(history: History) -> None:
    code, _, err = _cli("report", "latest", "--db", str(history.db))
    assert code == 2 and "'latest' is not a valid integer" in err


def test_the_console_command_in_a_subprocess(history: History, tmp_path: Path) -> None:
    target = tmp_path / "out" / "run.html"
    target.parent.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "headwater", "report", str(history.runs["etl-3"])]
        + ["--db", str(history.db), "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'class="gantt"' in target.read_text("utf-8")
    unwritable = subprocess.run(
        [sys.executable, "-m", "headwater", "report", str(history.runs["etl-3"])]
        + ["--db", str(history.db), "-o", str(tmp_path / "missing" / "run.html")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unwritable.returncode == 1
    assert "could not write the report to" in unwritable.stderr
