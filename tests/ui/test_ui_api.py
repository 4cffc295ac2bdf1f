"""The JSON API over a real history: every endpoint, its errors, starting a registered flow with
the token, and the OpenAPI schema (valid, and describing every route served)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from ui_support import TOKEN, History, evil

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_flows_list_and_detail(client: Any, history: History) -> None:
    flows = client.get("/api/flows").json()["flows"]
    by_name = {f["name"]: f for f in flows}
    assert by_name["etl"]["run_count"] == 2 and by_name["etl"]["last_state"] == "Success"
    detail = client.get(f"/api/flows/{history.flows['etl']}").json()
    assert detail["stats"]["runs"] == 2 and detail["stats"]["success_rate"] == 1.0
    assert detail["stats"]["p50_seconds"] is not None
    assert {t["name"] for t in detail["graph"]["tasks"]} >= {"extract", "transform", "load"}
    missing = client.get("/api/flows/999999")
    assert missing.status_code == 404 and "999999" in missing.json()["error"]


def test_runs_are_listed_newest_first_and_filtered(client: Any, history: History) -> None:
    body = client.get("/api/runs").json()
    ids = [r["id"] for r in body["runs"]]
    assert ids == sorted(ids, reverse=True) and body["total"] == 3
    etl = client.get("/api/runs", params={"flow": "etl"}).json()
    assert {r["id"] for r in etl["runs"]} == {history.runs["etl-3"], history.runs["etl-2"]}
    failed = client.get("/api/runs", params={"state": "Failed"}).json()
    assert [r["id"] for r in failed["runs"]] == [history.runs["evil"]]
    by_id = client.get("/api/runs", params={"flow_id": history.flows["etl"], "limit": 1}).json()
    assert len(by_id["runs"]) == 1 and by_id["total"] == 2
    assert client.get("/api/runs", params={"since": "1h"}).json()["total"] == 3
    future = client.get("/api/runs", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future["total"] == 0 and future["runs"] == []


@pytest.mark.parametrize(
    ("query", "named"),
    [({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"since": "yesterday"}, "since")],
)
def test_bad_filters_are_named(client: Any, query: dict[str, str], named: str) -> None:
    response = client.get("/api/runs", params=query)
    assert response.status_code == 400 and named in response.json()["error"]


def test_run_task_runs_logs_and_artifacts(client: Any, history: History) -> None:
    run_id = history.runs["etl-3"]
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["parameters"] == {"n": 3, "label": "daily"} and run["state"] == "Success"
    task_runs = client.get(f"/api/runs/{run_id}/task-runs").json()["task_runs"]
    mapped = sorted(t["map_index"] for t in task_runs if t["task_slug"] == "transform-1")
    assert mapped == [0, 1, 2]
    one = client.get(f"/api/task-runs/{task_runs[0]['id']}").json()
    assert one["id"] == task_runs[0]["id"] and one["flow_run_id"] == run_id
    logs = client.get(f"/api/runs/{run_id}/logs").json()["logs"]
    assert any("loaded 3 rows for daily" in log["message"] for log in logs)
    load_id = next(t["id"] for t in task_runs if t["task_name"] == "load")
    only = client.get(f"/api/runs/{run_id}/logs", params={"task_run_id": load_id}).json()["logs"]
    assert only and all(log["task_run_id"] == load_id for log in only)
    artifacts = client.get(f"/api/runs/{run_id}/artifacts").json()["artifacts"]
    assert {a["key"]: a["type"] for a in artifacts} == {
        "summary": "markdown",
        "rows": "table",
        "docs": "link",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/999999",
        "/api/runs/999999/task-runs",
        "/api/runs/999999/logs",
        "/api/runs/999999/artifacts",
        "/api/task-runs/999999",
        "/api/no-such-endpoint",
    ],
)
def test_unknown_ids_are_404_with_a_message(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and response.json()["error"]


def test_the_failing_task_keeps_its_traceback(client: Any, history: History) -> None:
    task_runs = client.get(f"/api/runs/{history.runs['evil']}/task-runs").json()["task_runs"]
    failed = next(t for t in task_runs if t["task_name"] == evil("task"))
    assert failed["state"] == "Failed" and failed["error_type"] == "ValueError"
    assert "raise ValueError" in failed["traceback"]


def test_registered_flows_list_their_parameters(client: Any) -> None:
    flows = {f["name"]: f for f in client.get("/api/registered").json()["flows"]}
    assert set(flows) == {"etl", "gated", "greet"}
    assert flows["etl"]["parameters"] == [
        {"name": "label", "required": False, "default": "daily"},
        {"name": "n", "required": False, "default": 3},
    ]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-Headwater-Token": "wrong"}, {"Cookie": "x=1"}],
)
def test_starting_a_run_without_the_token_is_forbidden(
    client: Any, headers: dict[str, str]
) -> None:
    before = client.get("/api/runs").json()["total"]
    response = client.post("/api/registered/etl/runs", json={"parameters": {}}, headers=headers)
    assert response.status_code == 403 and "token" in response.json()["error"]
    assert client.get("/api/runs").json()["total"] == before


def _wait_for_state(client: Any, run_id: int, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["state"] == wanted:
            return run  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {wanted}: {run}")


@pytest.mark.parametrize("headers", [AUTH, {"X-Headwater-Token": TOKEN}])
def test_starting_a_registered_flow_with_the_token(client: Any, headers: dict[str, str]) -> None:
    response = client.post(
        "/api/registered/etl/runs", json={"parameters": {"n": 4, "label": "api"}}, headers=headers
    )
    assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    assert response.json()["api_url"] == f"/api/runs/{run_id}"
    run = _wait_for_state(client, run_id, "Success")
    assert run["parameters"] == {"n": 4, "label": "api"} and run["flow_name"] == "etl"


@pytest.mark.parametrize(
    ("name", "body", "status", "named"),
    [
        ("nope", {}, 404, "nope"),
        ("etl", {"parameters": {"m": 1}}, 422, "'m'"),
        ("etl", {"parameters": [1]}, 400, "parameters"),
        ("etl", "not json", 400, "JSON"),
    ],
)
def test_bad_start_requests_say_what_is_wrong(
    client: Any, name: str, body: Any, status: int, named: str
) -> None:
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    response = client.post(f"/api/registered/{name}/runs", headers=AUTH, **kwargs)
    assert response.status_code == status and named in response.json()["error"]


def test_openapi_schema_is_valid_and_describes_every_route(client: Any) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    schema = client.get("/api/openapi.json").json()
    validator.validate(schema)
    served = {
        (method, route.path)
        for route in client.app.routes
        if route.path.startswith("/api/")
        for method in (route.methods or ()) - {"HEAD"}
    }
    described = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert served == described
    start = schema["paths"]["/api/registered/{name}/runs"]["post"]
    assert start["security"] and "403" in start["responses"]
