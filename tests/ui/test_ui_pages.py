"""The HTML pages over a real history: what each shows, escaping of everything a user wrote,
the security headers, loopback host names, and starting a run from the form with the token."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from ui_support import TOKEN, History

from headwater.ui._security import Guard


def _ok(client: Any, path: str, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return str(response.text)


def test_runs_list_shows_runs_and_filters_them(client: Any, history: History) -> None:
    page = _ok(client, "/runs")
    ids = [int(i) for i in re.findall(r'data-run-id="(\d+)"', page)]
    assert ids == sorted(history.runs.values(), reverse=True)
    failed = _ok(client, "/runs", params={"state": "Failed"})
    assert re.findall(r'data-run-id="(\d+)"', failed) == [str(history.runs["evil"])]
    etl = _ok(client, "/runs", params={"flow": "etl", "since": "24h"})
    assert sorted(map(int, re.findall(r'data-run-id="(\d+)"', etl))) == sorted(
        [history.runs["etl-3"], history.runs["etl-2"]]
    )
    assert '<option value="etl" selected>' in etl
    none = _ok(client, "/runs", params={"since": "2999-01-01T00:00:00Z"})
    assert "data-run-id" not in none and "No runs." in none


def test_runs_list_pages_through_runs(client: Any, history: History) -> None:
    first = _ok(client, "/runs", params={"limit": 2})
    assert len(re.findall(r'data-run-id="', first)) == 2 and "older" in first
    second = _ok(client, "/runs", params={"limit": 2, "offset": 2})
    assert len(re.findall(r'data-run-id="', second)) == 1 and "newer" in second


def test_a_bad_filter_is_a_400_page_naming_it(client: Any) -> None:
    response = client.get("/runs", params={"since": "last tuesday"})
    assert response.status_code == 400 and "since must be" in response.text


def test_runs_list_polls_slowly_without_live_runs(client: Any) -> None:
    page = _ok(client, "/runs")
    assert 'hx-trigger="every 5.0s"' in page and 'data-live="no"' in page


def test_flows_and_flow_page(client: Any, history: History) -> None:
    flows = _ok(client, "/flows")
    assert f'href="/flows/{history.flows["etl"]}"' in flows
    page = _ok(client, f"/flows/{history.flows['etl']}")
    assert re.search(r'id="stat-runs">2<', page)
    assert re.search(r'id="stat-success">100.0 %<', page)
    assert re.search(r'id="stat-p50">\d', page) and re.search(r'id="stat-p95">\d', page)
    assert "<svg" in page and ">extract</tspan>" in page
    assert 'href="/start/etl"' in page  # etl is registered with this UI
    assert client.get("/flows/999999").status_code == 404


def test_run_page_shows_graph_timeline_logs_parameters_and_artifacts(
    client: Any, history: History
) -> None:
    page = _ok(client, f"/runs/{history.runs['etl-3']}")
    graph = page[page.index('id="graph"') : page.index('id="timeline"')]
    assert ">extract</tspan>" in graph and "3 Success" in graph and 'fill="#28a745"' in graph
    timeline = page[page.index('id="timeline"') : page.index('id="task-runs"')]
    assert timeline.count('class="gantt-row"') == 7 and ">transform[2]</text>" in timeline
    assert "loaded 3 rows for daily" in page
    assert re.search(r"<td>n</td><td><code>3</code>", page)
    assert "# Loaded" in page and "<td>20</td>" in page
    assert 'href="https://example.org/etl"' in page
    assert f'name="a" value="{history.runs["etl-3"]}"' in page  # the compare form
    assert client.get("/runs/999999").status_code == 404


def test_run_page_shows_the_failing_task_and_its_traceback(client: Any, history: History) -> None:
    page = _ok(client, f"/runs/{history.runs['evil']}")
    failures = page[page.index('id="failures"') : page.index('id="task-runs"')]
    assert "ValueError" in failures and "raise ValueError(evil(&#34;error&#34;))" in failures
    assert 'fill="#eb0000"' in page  # the failed task's box in the graph


def test_task_run_page(client: Any, history: History) -> None:
    store = history.store()
    try:
        task_runs = store.list_task_runs(history.runs["evil"])
    finally:
        store.close()
    failed = next(t for t in task_runs if t["state"] == "Failed")
    page = _ok(client, f"/task-runs/{failed['id']}")
    assert "Traceback (most recent call last)" in page and "ValueError" in page
    assert f'href="/runs/{history.runs["evil"]}"' in page
    assert "&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;" in page  # its own log line
    assert client.get("/task-runs/999999").status_code == 404


def test_compare_two_runs(client: Any, history: History) -> None:
    a, b = history.runs["etl-3"], history.runs["etl-2"]
    page = _ok(client, "/compare", params={"a": a, "b": b})
    params = page[page.index('id="compare-parameters"') : page.index('id="compare-tasks"')]
    assert re.search(
        r'<tr class="differs"><td>n</td><td><code>3</code></td><td><code>2</code>', params
    )
    assert re.search(r"<tr><td>label</td>", params)  # the same in both: not marked
    tasks = page[page.index('id="compare-tasks"') :]
    assert "transform[2]" in tasks and '<tr class="differs">' in tasks  # only run a has [2]
    assert client.get("/compare", params={"a": a}).status_code == 400
    assert client.get("/compare", params={"a": a, "b": 999999}).status_code == 404


PAGES = ["/runs", "/flows", "/flow", "/run", "/task", "/compare"]


def _page(client: Any, history: History, which: str) -> str:
    store = history.store()
    try:
        task_id = store.list_task_runs(history.runs["evil"])[-1]["id"]
    finally:
        store.close()
    path = {
        "/runs": "/runs",
        "/flows": "/flows",
        "/flow": f"/flows/{history.flows['evil']}",
        "/run": f"/runs/{history.runs['evil']}",
        "/task": f"/task-runs/{task_id}",
        "/compare": f"/compare?a={history.runs['evil']}&b={history.runs['etl-3']}",
    }[which]
    return _ok(client, path)


@pytest.mark.parametrize("which", PAGES)
def test_user_strings_are_escaped_on_every_page(client: Any, history: History, which: str) -> None:
    page = _page(client, history, which)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;" in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script src="/static/htmx.min.js" defer>']


def test_everything_a_user_wrote_is_escaped_on_the_run_page(client: Any, history: History) -> None:
    page = _ok(client, f"/runs/{history.runs['evil']}")
    for where in ("flow", "task", "param", "error", "log", "artifact", "table"):
        assert f"&lt;script&gt;alert(&#39;{where}&#39;)&lt;/script&gt;" in page, where
    assert 'href="javascript:' not in page and "javascript:alert" in page  # shown, not linked


def test_every_response_sets_a_restrictive_content_security_policy(client: Any) -> None:
    for path in ("/runs", "/api/runs", "/static/htmx.min.js", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_vendored_htmx_is_served_with_its_licence(client: Any) -> None:
    response = client.get("/static/htmx.min.js")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert response.text.startswith("/*! htmx 2.") and "Zero-Clause BSD" in response.text[:600]


@pytest.mark.parametrize("host", ["evil.example", "192.168.1.10:8080", "127.0.0.1.evil.example"])
def test_requests_for_other_host_names_are_refused(client: Any, host: str) -> None:
    response = client.get("/runs", headers={"host": host})
    assert response.status_code == 400 and "127.0.0.1" in response.text


def test_the_token_in_the_url_becomes_a_cookie(client: Any) -> None:
    response = client.get(
        "/runs", params={"token": TOKEN, "state": "Failed"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/runs?state=Failed"
    cookie = response.headers["set-cookie"]
    assert (
        f"{Guard(TOKEN).cookie}={TOKEN}" in cookie
        and "HttpOnly" in cookie
        and "SameSite=strict" in cookie
    )
    wrong = client.get("/runs", params={"token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 403 and "set-cookie" not in wrong.headers


def _wait_done(client: Any, path: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page = _ok(client, path)
        if 'data-live="no"' in page:
            return page
        time.sleep(0.05)
    raise AssertionError(f"{path} still live")


def test_starting_a_run_from_the_form_needs_the_token(client: Any) -> None:
    form = _ok(client, "/start/etl")
    assert 'name="token"' in form and 'name="param:n" value="3"' in form
    denied = client.post("/start/etl", data={"param:n": "5"}, follow_redirects=False)
    assert denied.status_code == 403 and "needs the token" in denied.text
    wrong = client.post("/start/etl", data={"param:n": "5", "token": "x"}, follow_redirects=False)
    assert wrong.status_code == 403
    started = client.post(
        "/start/etl",
        data={"param:n": "5", "param:label": "form", "token": TOKEN},
        follow_redirects=False,
    )
    assert started.status_code == 303 and started.headers["location"].startswith("/runs/")
    page = _wait_done(client, started.headers["location"])
    assert re.search(r"<td>n</td><td><code>5</code>", page)
    assert re.search(r"<td>label</td><td><code>&#34;form&#34;</code>", page)


def test_with_the_cookie_the_form_carries_a_key_and_the_cookie_alone_is_not_enough(
    client: Any,
) -> None:
    client.get("/runs", params={"token": TOKEN})
    form = _ok(client, "/start/etl")
    key = re.search(r'name="form_key" value="([0-9a-f]+)"', form)
    assert key and 'name="token"' not in form
    forged = client.post("/start/etl", data={"param:n": "1"}, follow_redirects=False)
    assert forged.status_code == 403
    started = client.post(
        "/start/etl", data={"param:n": "1", "form_key": key.group(1)}, follow_redirects=False
    )
    assert started.status_code == 303
    _wait_done(client, started.headers["location"])


def test_the_form_says_what_is_wrong_with_the_parameters(client: Any) -> None:
    response = client.post("/start/greet", data={"param:who": " ", "token": TOKEN})
    assert response.status_code == 422 and "needs a value for &#39;who&#39;" in response.text
    missing = client.post("/start/nope", data={"token": TOKEN})
    assert missing.status_code == 404 and "nope" in missing.text
