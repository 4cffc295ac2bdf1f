"""The UI in a real headless browser (Debian's Chromium driven by Playwright), over a real
socket: the runs list and its filters, a live run appearing and finishing without a reload,
the run page (graph, timeline, logs, traceback), the compare view, and starting a registered
flow from its form with the token. No page may log an error (a script the Content-Security-
Policy blocked would) or open a dialog (an ``alert`` that escaped escaping would).

A screenshot of each page is kept in ``$HEADWATER_TEST_ARTIFACTS/ui-screenshots`` (default: the
test session's temporary directory).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_support import TOKEN, History, etl_flow, gate_flow, run_into

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"the browser tests need Debian's chromium at {CHROMIUM} (bash .ci/chromium.sh installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright")
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = os.environ.get("HEADWATER_TEST_ARTIFACTS")
    where = Path(root) if root else tmp_path_factory.getbasetemp()
    (where / "ui-screenshots").mkdir(parents=True, exist_ok=True)
    return where / "ui-screenshots"


class Watched:
    """A page, and the errors and dialogs it produced."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.problems: list[str] = []
        self.expected: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


@pytest.fixture
def watched(browser: Any, shots: Path) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    watch = Watched(page, shots)
    yield watch
    context.close()
    assert [p for p in watch.problems if not any(e in p for e in watch.expected)] == []


def test_runs_list_shows_real_runs_and_filters_them(
    serve: Any, history: History, watched: Watched
) -> None:
    server = serve(history.db)
    page = watched.page
    page.goto(f"{server.url}/runs")
    expect(page.locator("tr.run-row")).to_have_count(3)
    expect(page.locator(f'tr[data-run-id="{history.runs["evil"]}"]')).to_contain_text(
        "<script>alert('flow')</script>"  # shown as text
    )
    watched.shot("runs")
    page.select_option('select[name="state"]', "Failed")
    page.click("form.filters button")
    expect(page).to_have_url(re.compile(r"state=Failed"))
    expect(page.locator("tr.run-row")).to_have_count(1)
    page.select_option('select[name="state"]', "")
    page.select_option('select[name="flow"]', "etl")
    page.click("form.filters button")
    expect(page.locator("tr.run-row")).to_have_count(2)


def test_a_live_run_appears_and_its_state_updates_without_a_reload(
    serve: Any, tmp_path: Path, watched: Watched
) -> None:
    db = tmp_path / "history.db"
    server = serve(db, refresh_seconds=(0.3, 0.3))
    page = watched.page
    page.goto(f"{server.url}/runs")
    expect(page.locator("td.empty")).to_have_text("No runs.")
    page.evaluate("window.headwaterTestMarker = 'same page'")
    gate = gate_flow()
    thread = threading.Thread(target=run_into, args=(db, gate.flow), daemon=True)
    thread.start()
    try:
        assert gate.started.wait(20)
        expect(page.locator('tr.run-row[data-state="Running"]')).to_have_count(1)
        expect(page.locator("#runs-table")).to_have_attribute("data-live", "yes")
        watched.shot("runs-live")
    finally:
        gate.release.set()
        thread.join(30)
    expect(page.locator('tr.run-row[data-state="Success"]')).to_have_count(1)
    expect(page.locator("#runs-table")).to_have_attribute("data-live", "no")
    assert page.evaluate("window.headwaterTestMarker") == "same page"


def test_a_live_run_page_follows_the_run_until_it_ends(
    serve: Any, tmp_path: Path, watched: Watched
) -> None:
    db = tmp_path / "history.db"
    server = serve(db, refresh_seconds=(0.3, 0.3))
    page = watched.page
    gate = gate_flow()
    thread = threading.Thread(target=run_into, args=(db, gate.flow), daemon=True)
    thread.start()
    try:
        assert gate.started.wait(20)
        page.goto(f"{server.url}/runs")
        page.locator("tr.run-row a").first.click()
        expect(page.locator("#run-state")).to_contain_text("Running")
        expect(page.locator("#run-live")).to_have_attribute("data-live", "yes")
        page.evaluate("window.headwaterTestMarker = 'same page'")
    finally:
        gate.release.set()
        thread.join(30)
    expect(page.locator("#run-state")).to_contain_text("Success")
    expect(page.locator("#run-live")).to_have_attribute("data-live", "no")
    expect(page.locator("#task-runs")).to_contain_text("Task run succeeded.")
    assert page.evaluate("window.headwaterTestMarker") == "same page"


def test_run_page_shows_graph_timeline_logs_and_traceback(
    serve: Any, history: History, watched: Watched
) -> None:
    server = serve(history.db)
    page = watched.page
    page.goto(f"{server.url}/runs/{history.runs['evil']}")
    expect(page.locator("#graph svg")).to_be_visible()
    expect(page.locator("#graph svg")).to_contain_text("<script>alert('task')</script>")
    expect(page.locator("#timeline svg .gantt-row")).to_have_count(2)
    expect(page.locator("#logs")).to_contain_text("<script>alert('log')</script>")
    expect(page.locator("#failures pre.traceback")).to_contain_text("ValueError")
    expect(page.locator("#artifacts")).to_contain_text("<script>alert('artifact')</script>")
    watched.shot("run-failed")
    page.goto(f"{server.url}/runs/{history.runs['etl-3']}")
    expect(page.locator("#timeline svg .gantt-row")).to_have_count(7)
    expect(page.locator("#parameters")).to_contain_text("daily")
    watched.shot("run")
    page.locator("#timeline svg a rect").nth(1).click()  # a bar
    expect(page).to_have_url(re.compile(r"/task-runs/\d+$"))
    expect(page.locator("#task-state")).to_contain_text("Success")
    watched.shot("task-run")


def test_compare_view(serve: Any, history: History, watched: Watched) -> None:
    server = serve(history.db)
    page = watched.page
    page.goto(f"{server.url}/runs/{history.runs['etl-3']}")
    page.select_option('select[name="b"]', str(history.runs["etl-2"]))
    page.click("#compare-button")
    expect(page).to_have_url(re.compile(r"/compare\?a=\d+&b=\d+"))
    expect(page.locator("#compare-parameters tr.differs")).to_have_count(1)
    expect(page.locator("#compare-parameters tr.differs")).to_contain_text("n")
    expect(page.locator("#compare-tasks")).to_contain_text("transform[2]")
    watched.shot("compare")


def test_starting_a_registered_flow_from_its_page_with_the_token(
    serve: Any, tmp_path: Path, watched: Watched
) -> None:
    server = serve(tmp_path / "history.db", flows=[etl_flow()])
    page = watched.page
    page.goto(f"{server.url}/start/etl")
    page.fill('input[name="param:n"]', "4")
    page.fill('input[name="token"]', "not the token")
    watched.expected.append("status of 403")  # the refused form's answer
    page.click("#start-run")
    expect(page.locator("#problem")).to_contain_text("needs the token")
    page.fill('input[name="param:n"]', "4")
    page.fill('input[name="token"]', TOKEN)
    watched.shot("start")
    page.click("#start-run")
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    expect(page.locator("#run-state")).to_contain_text("Success")
    expect(page.locator("#parameters")).to_contain_text("4")
    # the token is kept in a cookie: the next form needs no token field
    page.goto(f"{server.url}/start/etl")
    expect(page.locator('input[name="token"]')).to_have_count(0)
    page.click("#start-run")
    expect(page).to_have_url(re.compile(r"/runs/\d+$"))
    expect(page.locator("#run-state")).to_contain_text("Success")
