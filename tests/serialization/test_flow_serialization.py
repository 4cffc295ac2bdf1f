"""``flow.serialize()``: Prefect 1's FlowSchema shape as plain JSON, and a stable hash."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pendulum
import pytest

from headwater import Flow, Parameter, Task, task
from headwater.engine import state as st
from headwater.exceptions import SerializationError
from headwater.run_configs import LocalRun
from headwater.schedules import Schedule, clocks, filters
from headwater.serialization.flow import FlowSchema
from headwater.serialization.schedule import ClockSchema, ScheduleSchema
from headwater.serialization.state import StateSchema
from headwater.serialization.task import ParameterSchema, TaskSchema
from headwater.storage import Local
from headwater.triggers import some_successful

FLOW_KEYS = {
    "name", "type", "schedule", "parameters", "tasks", "edges", "reference_tasks",
    "run_config", "storage", "__version__",
}  # fmt: skip


@task
def add(x: int, y: int = 1) -> int:
    return x + y


def build() -> Flow:
    with Flow(
        "example",
        run_config=LocalRun(labels=["dev"]),
        schedule=Schedule(
            clocks=[clocks.IntervalClock(datetime.timedelta(hours=1))],
            filters=[filters.is_weekday],
        ),
    ) as flow:
        n = Parameter("n", default=2)
        total = add(n, y=add(n))
        total.name = "total"
    flow.set_reference_tasks([total])
    return flow


def test_dump_round_trips_through_json() -> None:
    flow = build()
    data = flow.serialize()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == FLOW_KEYS
    assert data["type"] == "headwater.core.flow.Flow"
    assert [p["name"] for p in data["parameters"]] == ["n"]
    assert len(data["tasks"]) == len(flow.tasks) == 3
    assert {e["key"] for e in data["edges"]} == {"x", "y"}
    assert data["run_config"]["type"] == "LocalRun"
    assert data["schedule"]["clocks"][0]["type"] == "IntervalClock"
    assert data["schedule"]["filters"] == [
        {"fn": "headwater.schedules.filters.is_weekday", "kwargs": {}}
    ]
    [add_dump] = [t for t in data["tasks"] if t["name"] == "add"]
    assert add_dump["inputs"] == {
        "x": {"required": True, "type": "int"},
        "y": {"required": False, "type": "int"},
    }
    assert add_dump["trigger"] == {"fn": "headwater.triggers.all_successful", "kwargs": {}}


def test_load_rebuilds_the_graph() -> None:
    flow = build()
    loaded = FlowSchema().load(json.loads(json.dumps(flow.serialize())))
    assert loaded.name == "example"
    assert sorted(t.name for t in loaded.tasks) == ["add", "n", "total"]
    assert len(loaded.edges) == 3
    assert [t.name for t in loaded.reference_tasks()] == ["total"]
    assert isinstance(loaded.run_config, LocalRun)
    assert loaded.run_config.labels == {"dev"}
    assert isinstance(loaded.schedule.clocks[0], clocks.IntervalClock)
    assert loaded.schedule.filters == [filters.is_weekday]


def test_hash_is_the_same_for_copies_and_differs_for_changes() -> None:
    flow = build()
    assert flow.serialized_hash() == build().serialized_hash() == flow.copy().serialized_hash()
    other = flow.copy()
    other.name = "renamed"
    assert other.serialized_hash() != flow.serialized_hash()


def test_hash_does_not_depend_on_other_flows_the_tasks_were_in() -> None:
    shared = Task(name="shared")
    with Flow("first") as first:
        Task(name="other")(upstream_tasks=[shared])
    second = Flow("second", tasks=[shared])
    fresh = Flow("second", tasks=[Task(name="shared")])
    assert first.slugs  # the shared task got its slug from the first flow
    assert second.serialized_hash() == fresh.serialized_hash()


def test_hash_is_stable_across_processes(tmp_path: Path) -> None:
    script = tmp_path / "flow_script.py"
    script.write_text(
        textwrap.dedent(
            """
            import datetime
            from headwater import Flow, Parameter, task
            from headwater.schedules import Schedule, clocks

            @task(tags=["b", "a"], max_retries=1, retry_delay=datetime.timedelta(seconds=5))
            def shout(word):
                return word.upper()

            with Flow("hash", schedule=Schedule(clocks=[clocks.CronClock("0 9 * * *")])) as flow:
                words = Parameter("words", default=["a", "b"])
                for i in range(5):
                    shout.map(words)

            print(flow.serialized_hash())
            """
        )
    )
    hashes = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, check=True
        )
        hashes.add(out.stdout.strip())
    assert len(hashes) == 1 and len(hashes.pop()) == 64


def test_build_adds_the_flow_to_its_storage(tmp_path: Path) -> None:
    flow = build()
    flow.storage = Local(directory=str(tmp_path))
    before = flow.serialized_hash()
    data = flow.serialize(build=True)
    assert data["storage"]["type"] == "Local"
    assert "example" in flow.storage
    assert flow.serialized_hash() != before
    with pytest.warns(UserWarning, match="already contained in storage"):
        flow.serialize(build=True)


def test_build_without_storage_is_an_error() -> None:
    with pytest.raises(ValueError, match="has no storage to build"):
        build().serialize(build=True)


def test_a_non_json_parameter_default_is_named() -> None:
    flow = Flow("f", tasks=[Parameter("when", default=object())])
    with pytest.raises(SerializationError, match="Parameter 'when': its default"):
        flow.serialize()


def test_task_and_parameter_dumps() -> None:
    t = Task(name="t", tags=["z", "a"], max_retries=2, retry_delay=datetime.timedelta(minutes=1))
    t.trigger = some_successful(at_least=2)
    data = t.serialize()
    assert data["tags"] == ["a", "z"]
    assert data["retry_delay"] == 60
    assert data["trigger"] == {
        "fn": "headwater.triggers.some_successful",
        "kwargs": {"at_least": 2, "at_most": None},
    }
    loaded = TaskSchema().load(data)
    assert (loaded.name, loaded.max_retries) == ("t", 2)
    p = ParameterSchema().load(Parameter("p", default=[1]).serialize())
    assert isinstance(p, Parameter) and p.default == [1] and not p.required


def test_clock_dates_keep_their_zone() -> None:
    start = pendulum.datetime(2024, 3, 30, 9, tz="Europe/Berlin")
    clock = clocks.IntervalClock(datetime.timedelta(days=1), start_date=start)
    loaded = ClockSchema().load(json.loads(json.dumps(ClockSchema().dump(clock))))
    assert loaded.start_date == start
    assert loaded.start_date.tzinfo.name == "Europe/Berlin"
    schedule = Schedule(clocks=[clock])
    after = pendulum.datetime(2024, 3, 29, tz="UTC")
    assert ScheduleSchema().load(ScheduleSchema().dump(schedule)).next(3, after=after) == (
        schedule.next(3, after=after)
    )


def test_custom_filters_dump_but_do_not_load() -> None:
    schedule = Schedule(
        clocks=[clocks.IntervalClock(datetime.timedelta(hours=1))], filters=[lambda dt: True]
    )
    data = json.loads(json.dumps(ScheduleSchema().dump(schedule)))
    with pytest.raises(SerializationError, match="custom function"):
        ScheduleSchema().load(data)


@pytest.mark.parametrize(
    "state",
    [
        st.Success(message="ok", result=1),
        st.Failed(message=ValueError("bad")),
        st.Retrying(run_count=2),
        st.Looped(loop_count=3),
        st.Mapped(map_states=[st.Success(), st.Success()]),
        st.Submitted(state=st.Pending()),
    ],
)
def test_states_round_trip_without_their_values(state: st.State) -> None:
    data = json.loads(json.dumps(state.serialize()))
    assert data["type"] == type(state).__name__
    loaded = StateSchema().load(data)
    assert type(loaded) is type(state)
    if isinstance(state, st.Mapped):
        assert loaded.map_states == [None, None]  # the children are not part of the dump
    else:
        assert loaded.result is None
