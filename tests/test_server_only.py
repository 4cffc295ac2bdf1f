"""Entry points of Prefect's server and Cloud: they exist and raise a clear error naming the
local way to do the same thing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import headwater
from headwater import Flow, Task
from headwater.exceptions import HeadwaterError, ServerNotAvailableError


def _flow() -> Flow:
    return Flow("f", tasks=[Task(name="t")])


def _backend(name: str) -> Callable[[], Any]:
    def call() -> Any:
        from headwater import backend

        obj = getattr(backend, name)
        return obj("x")

    return call


def _agent(name: str) -> Callable[[], Any]:
    def call() -> Any:
        from headwater import agent

        return getattr(agent, name)(labels=["x"])

    return call


def _cloud(name: str) -> Callable[[], Any]:
    def call() -> Any:
        from headwater.engine import cloud

        return getattr(cloud, name)(_flow())

    return call


ENTRY_POINTS: dict[str, tuple[Callable[[], Any], str]] = {
    "Client()": (lambda: headwater.Client(), "flow.run()"),
    "client.Client()": (lambda: __import__("headwater.client").client.Client(), "Secret"),
    "flow.run_agent()": (lambda: _flow().run_agent(), "flow.run()"),
    **{f"agent.{n}()": (_agent(n), "flow.run()") for n in ("Agent", "LocalAgent", "DockerAgent")},
    **{f"engine.cloud.{n}()": (_cloud(n), "flow.run()") for n in ("CloudFlowRunner",)},
    "engine.cloud.CloudTaskRunner()": (_cloud("CloudTaskRunner"), "TaskRunner"),
    **{
        f"backend.{n}": (_backend(n), hint)
        for n, hint in (
            ("FlowRunView", "flow.run()"),
            ("FlowView", "flow.save()"),
            ("set_key_value", "file"),
            ("create_link_artifact", "logger"),
        )
    },
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_server_entry_point_raises_naming_the_local_way(name: str) -> None:
    call, hint = ENTRY_POINTS[name]
    with pytest.raises(ServerNotAvailableError) as info:
        call()
    message = str(info.value)
    assert "headwater has no server" in message
    assert hint in message
    assert isinstance(info.value, HeadwaterError)


def test_register_prepares_the_flow_like_prefect_then_registers_it_locally(
    headwater_home: Any,
) -> None:
    flow = _flow()
    flow_id = flow.register(labels=["extra"], no_url=True)
    from headwater.history import open_store
    from headwater.run_configs import UniversalRun
    from headwater.storage import Local

    assert isinstance(flow.storage, Local)
    assert isinstance(flow.run_config, UniversalRun)
    assert "extra" in flow.run_config.labels
    assert flow.result is flow.storage.result
    with open_store() as store:
        registered = store.get_registered_flow("f")
    assert registered is not None and str(registered["id"]) == flow_id
    assert "extra" in registered["labels"]


def test_register_calls_a_client_that_headwater_client_gives(monkeypatch: Any) -> None:
    calls = []

    class Client:
        def register(self, **kwargs: Any) -> str:
            calls.append(kwargs)
            return "flow-id"

    monkeypatch.setattr(headwater, "Client", Client)
    flow = _flow()
    assert flow.register("project", idempotency_key="k") == "flow-id"
    assert calls == [
        {
            "flow": flow,
            "build": True,
            "project_name": "project",
            "set_schedule_active": True,
            "version_group_id": None,
            "no_url": False,
            "idempotency_key": "k",
        }
    ]


def test_register_inside_the_flow_block_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="from within a `Flow` context manager"):
        with Flow("f") as flow:
            flow.register()


def test_server_tasks_build_and_fail_when_run() -> None:
    from headwater.tasks.prefect import StartFlowRun, create_flow_run

    with Flow("parent") as flow:
        started = StartFlowRun(flow_name="child", name="start")()
        created = create_flow_run(flow_name="child")
    state = flow.run()
    for t in (started, created):
        task_state = state.result[t]
        assert task_state.is_failed()
        assert isinstance(task_state.result, ServerNotAvailableError)
        assert "other_flow.run(parameters=...)" in str(task_state.result)
