"""Checkpointing, targets, ``{task_hash}`` and ``State.load_result``, on every executor.

Complements ``tests/executors/test_runs_on_every_executor.py`` (checkpointing through context
and config, a string target cached on the second run). Tasks are module-level so process and
distributed workers can unpickle them; a task that runs appends a line to a log file under
``tmp_path``, so "the task did not run" is observed through files, not closures.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, Parameter, task, unmapped
from headwater.engine.persistent_cache import code_hash
from headwater.engine.result import ResultReadError
from headwater.engine.results import LocalResult
from headwater.engine.serializers import JSONSerializer, PickleSerializer
from headwater.engine.state import Cached, Failed, Success, TriggerFailed
from headwater.utilities.configuration import set_temporary_config


# -- tasks ----------------------------------------------------------------------------------------
@task
def produce(value: Any, log: str) -> Any:
    with open(log, "a") as fh:
        fh.write(f"{value}\n")
    return value


@task
def add_one(x: int) -> int:
    return x + 1


@task
def total(xs: list[int]) -> int:
    return sum(xs)


def value_location(**kw: Any) -> str:
    """A callable target: one file per input value."""
    return f"by-callable/{kw['task_name']}-{kw['value_']}.pkl"


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- checkpointing switches ------------------------------------------------------------------------
def test_context_overrides_config_both_ways(executor: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    saved = add_one.copy(result=LocalResult(dir=str(out), location="{task_name}.pkl"))
    with Flow("switches") as flow:
        y = saved(1)
    with set_temporary_config({"flows.checkpointing": True}):
        off = flow.run(executor=executor, context={"checkpointing": False})
    assert off.result[y].result == 2
    assert files(out) == []
    with set_temporary_config({"flows.checkpointing": False}):
        on = flow.run(executor=executor, context={"checkpointing": True})
    assert files(out) == ["add_one.pkl"]
    assert on.result[y]._result.location == str(out / "add_one.pkl")


def test_checkpoint_false_is_never_written(executor: Any, tmp_path: Path) -> None:
    result = LocalResult(dir=str(tmp_path), location="{task_name}-{map_index}.pkl")
    kept = add_one.copy(result=result)
    skipped = add_one.copy(name="not_kept", result=result, checkpoint=False)
    with Flow("checkpoint-false") as flow:
        kept.map([1, 2])
        skipped.map([1, 2])
    state = flow.run(executor=executor, context={"checkpointing": True})
    assert state.is_successful()
    assert files(tmp_path) == ["add_one-0.pkl", "add_one-1.pkl"]


def test_location_templates_use_parameters_and_inputs(executor: Any, tmp_path: Path) -> None:
    result = LocalResult(
        dir=str(tmp_path),
        location="{flow_name}/{region}/{task_name}-{x}-{today}.json",
        serializer=JSONSerializer(),
    )
    with Flow("templated") as flow:
        flow.add_task(Parameter("region", default="eu"))
        add_one.copy(result=result).map([10, 20])
    before = datetime.now(UTC).strftime("%Y-%m-%d")
    state = flow.run(executor=executor, region="us", context={"checkpointing": True})
    after = datetime.now(UTC).strftime("%Y-%m-%d")
    assert state.is_successful()
    written = files(tmp_path)
    assert any(
        written == [f"templated/us/add_one-10-{day}.json", f"templated/us/add_one-20-{day}.json"]
        for day in {before, after}
    ), written
    assert [json.loads((tmp_path / w).read_text()) for w in written] == [11, 21]


# -- targets -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target, stored",
    [
        pytest.param("{flow_name}/{task_name}.pkl", "t/produce.pkl", id="template"),
        pytest.param(value_location, "by-callable/produce-41.pkl", id="callable"),
    ],
)
def test_target_is_read_back_without_running(
    executor: Any, tmp_path: Path, target: Any, stored: str
) -> None:
    log, out = tmp_path / "runs.log", tmp_path / "out"
    result = LocalResult(dir=str(out))
    targeted = produce.copy(result=result, target=target)
    with Flow("t") as flow:
        value = targeted(41, str(log))
        after = add_one(value)
    first = flow.run(executor=executor, context={"checkpointing": True})
    assert type(first.result[value]) is Success
    assert files(out) == [stored]
    # Replace the stored value: the next run must hand on what the file holds.
    (out / stored).write_bytes(PickleSerializer().serialize(99))
    second = flow.run(executor=executor, context={"checkpointing": True})
    assert type(second.result[value]) is Cached
    assert second.result[value].result == 99
    assert stored in second.result[value].message
    assert second.result[after].result == 100
    assert runs(log) == ["41"]


def test_mapped_targets_never_collide(executor: Any, tmp_path: Path) -> None:
    log, out = tmp_path / "runs.log", tmp_path / "out"
    targeted = produce.copy(result=LocalResult(dir=str(out)), target="{task_name}-{map_index}.pkl")
    with Flow("mapped-targets") as flow:
        values = targeted.map([10, 20, 30], log=unmapped(str(log)))
        s = total(values)
    first = flow.run(executor=executor, context={"checkpointing": True})
    assert first.result[s].result == 60
    assert files(out) == ["produce-0.pkl", "produce-1.pkl", "produce-2.pkl"]
    assert sorted(runs(log)) == ["10", "20", "30"]
    for i, v in enumerate([10, 20, 30]):
        assert pickle.loads((out / f"produce-{i}.pkl").read_bytes()) == v

    second = flow.run(executor=executor, context={"checkpointing": True})
    children = second.result[values].map_states
    assert [type(c) for c in children] == [Cached, Cached, Cached]
    assert [c.result for c in children] == [10, 20, 30]
    assert second.result[s].result == 60
    assert len(runs(log)) == 3

    (out / "produce-1.pkl").unlink()
    third = flow.run(executor=executor, context={"checkpointing": True})
    children = third.result[values].map_states
    assert [type(c) for c in children] == [Cached, Success, Cached]
    assert [c.result for c in children] == [10, 20, 30]
    assert runs(log)[3:] == ["20"]


def test_mapped_target_that_would_collide_fails_the_children(executor: Any, tmp_path: Path) -> None:
    log, out = tmp_path / "runs.log", tmp_path / "out"
    shared = produce.copy(result=LocalResult(dir=str(out)), target="{flow_name}/{task_name}.pkl")
    with Flow("colliding") as flow:
        values = shared.map([1, 2], log=unmapped(str(log)))
        fine = add_one(3)
    state = flow.run(executor=executor, context={"checkpointing": True})
    children = state.result[values].map_states
    assert [type(c) for c in children] == [Failed, Failed]
    assert "'{flow_name}/{task_name}.pkl' names neither {map_index}" in children[0].message
    assert "'produce' is mapped" in children[0].message
    assert state.result[fine].result == 4
    assert runs(log) == []
    assert files(tmp_path / "out") == []


def test_target_uses_the_flow_result(executor: Any, tmp_path: Path) -> None:
    log, out = tmp_path / "runs.log", tmp_path / "out"
    targeted = produce.copy(target="{task_name}-{value_}.pkl")
    with Flow("flow-result", result=LocalResult(dir=str(out))) as flow:
        value = targeted(5, str(log))
    flow.run(executor=executor, context={"checkpointing": True})
    assert files(out) == ["produce-5.pkl"]
    second = flow.run(executor=executor, context={"checkpointing": True})
    assert type(second.result[value]) is Cached
    assert second.result[value].result == 5
    assert runs(log) == ["5"]


def test_target_without_any_result_goes_to_home_dir(executor: Any, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    targeted = produce.copy(target="targets/{task_name}.pkl")
    with Flow("home-target") as flow:
        value = targeted(7, str(log))
    with set_temporary_config({"home_dir": str(tmp_path / "home")}):
        flow.run(executor=executor, context={"checkpointing": True})
        second = flow.run(executor=executor, context={"checkpointing": True})
    assert files(tmp_path / "home") == ["results/targets/produce.pkl"]
    assert type(second.result[value]) is Cached
    assert runs(log) == ["7"]


def test_target_with_checkpointing_off_warns_and_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log, out = tmp_path / "runs.log", tmp_path / "out"
    targeted = produce.copy(result=LocalResult(dir=str(out)), target="{task_name}.pkl")
    with Flow("off") as flow:
        targeted(1, str(log))
    with caplog.at_level("WARNING", logger="headwater"):
        flow.run()
    assert files(out) == []
    warned = [r.getMessage() for r in caplog.records if "target" in r.getMessage()]
    assert len(warned) == 1
    assert "'produce'" in warned[0] and "checkpointing is off" in warned[0]
    assert "flows.checkpointing" in warned[0]


# -- unreadable stored data ---------------------------------------------------------------------
def _truncated_pickle() -> bytes:
    data = PickleSerializer().serialize(list(range(10_000)))
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "serializer, content, serializer_name",
    [
        pytest.param(PickleSerializer(), _truncated_pickle(), "PickleSerializer", id="truncated"),
        pytest.param(PickleSerializer(), b"\x00\xffnot a pickle", "PickleSerializer", id="garbage"),
        pytest.param(
            JSONSerializer(),
            PickleSerializer().serialize({"a": 1}),
            "JSONSerializer",
            id="other-serializer",
        ),
    ],
)
def test_unreadable_target_fails_the_task_not_the_run(
    executor: Any, tmp_path: Path, serializer: Any, content: bytes, serializer_name: str
) -> None:
    log, out = tmp_path / "runs.log", tmp_path / "out"
    out.mkdir()
    (out / "produce.out").write_bytes(content)
    targeted = produce.copy(
        result=LocalResult(dir=str(out), serializer=serializer), target="{task_name}.out"
    )
    with Flow("corrupt") as flow:
        value = targeted(1, str(log))
        after = add_one(value)
        independent = add_one(5)
    state = flow.run(executor=executor, context={"checkpointing": True})
    assert state.is_failed()
    failed = state.result[value]
    assert type(failed) is Failed
    assert str(out / "produce.out") in failed.message
    assert serializer_name in failed.message
    assert isinstance(state.result[after], TriggerFailed)
    assert state.result[independent].result == 6
    assert runs(log) == []
    assert (out / "produce.out").read_bytes() == content  # the bad file is left for inspection


def test_restart_from_a_checkpoint_and_from_a_corrupt_one(executor: Any, tmp_path: Path) -> None:
    """An upstream state known only by its checkpoint's location is read back for its consumers."""
    store = LocalResult(dir=str(tmp_path))
    log = tmp_path / "runs.log"
    with Flow("restart") as flow:
        value = produce(1, str(log))
        after = add_one(value)
    good = store.write(41, location="good.pkl")
    state = flow.run(
        executor=executor,
        task_states={value: Success(result=LocalResult(dir=str(tmp_path), location=good.location))},
    )
    assert state.result[after].result == 42
    assert runs(log) == []

    (tmp_path / "bad.pkl").write_bytes(_truncated_pickle())
    restarted = Success(result=LocalResult(dir=str(tmp_path), location="bad.pkl"))
    state = flow.run(executor=executor, task_states={value: restarted})
    assert state.is_failed()
    failed = state.result[after]
    assert type(failed) is Failed
    assert "'produce'" in failed.message
    assert "bad.pkl" in failed.message and "PickleSerializer" in failed.message
    assert runs(log) == []


# -- State.load_result -------------------------------------------------------------------------
def _checkpointed_state(tmp_path: Path) -> Success:
    saved = add_one.copy(result=LocalResult(dir=str(tmp_path), location="{task_name}.pkl"))
    with Flow("load") as flow:
        y = saved(1)
    state = flow.run(context={"checkpointing": True}).result[y]
    assert type(state) is Success
    return state


def test_load_result_reads_the_persisted_value(tmp_path: Path) -> None:
    state = _checkpointed_state(tmp_path)
    (tmp_path / "add_one.pkl").write_bytes(PickleSerializer().serialize("from disk"))
    state._result.value = None  # the location is kept: load_result reads it
    assert state.load_result() is state
    assert state.result == "from disk"
    assert state._result.value == "from disk"


def test_load_result_in_another_process(tmp_path: Path) -> None:
    state = _checkpointed_state(tmp_path)
    state._result.value = None
    pickled = tmp_path / "state.pkl"
    pickled.write_bytes(pickle.dumps(state))
    script = textwrap.dedent(
        f"""
        import pickle
        state = pickle.loads(open({str(pickled)!r}, "rb").read())
        assert state.result is None
        print(repr(state.load_result().result))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2"


def test_load_result_of_a_corrupt_file_names_location_and_serializer(tmp_path: Path) -> None:
    state = _checkpointed_state(tmp_path)
    (tmp_path / "add_one.pkl").write_bytes(b"\x80\x05garbage")
    state._result.value = None
    with pytest.raises(ResultReadError) as info:
        state.load_result()
    assert str(tmp_path / "add_one.pkl") in str(info.value)
    assert "PickleSerializer" in str(info.value)


def test_load_result_with_another_result(tmp_path: Path) -> None:
    json_result = LocalResult(dir=str(tmp_path), serializer=JSONSerializer())
    written = json_result.write({"rows": 3}, location="rows.json")
    state = Success(result=LocalResult(dir=str(tmp_path), location=written.location))
    with pytest.raises(ResultReadError, match="PickleSerializer"):
        state.load_result()
    assert state.load_result(written.copy()).result == {"rows": 3}


# -- {task_hash} -------------------------------------------------------------------------------
TASK_SOURCE = """
from headwater import task

@task
def shape(x):
    return x * {factor}
"""


def _load_version(tmp_path: Path, version: str, factor: int) -> Any:
    """Import a module file defining ``shape`` (code differs with ``factor``)."""
    path = tmp_path / f"shape_{version}.py"
    path.write_text(TASK_SOURCE.format(factor=factor))
    spec = importlib.util.spec_from_file_location(f"hw_shape_{version}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shape


def test_task_hash_changes_with_the_code_only(executor: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = LocalResult(dir=str(out))

    def run(shape: Any) -> Any:
        targeted = shape.copy(result=result, target="{task_name}-{task_hash}.pkl")
        with Flow("hashed") as flow:
            y = targeted(5)
        return flow.run(executor=executor, context={"checkpointing": True}).result[y]

    v1 = _load_version(tmp_path, "a", 2)
    v1_again = _load_version(tmp_path, "b", 2)  # same code, another module object
    v2 = _load_version(tmp_path, "c", 3)
    assert code_hash(v1) == code_hash(v1_again) != code_hash(v2)

    first = run(v1)
    assert type(first) is Success and first.result == 10
    assert files(out) == [f"shape-{code_hash(v1)[:16]}.pkl"]
    same = run(v1_again)
    assert type(same) is Cached and same.result == 10
    edited = run(v2)
    assert type(edited) is Success and edited.result == 15
    assert len(files(out)) == 2
    back = run(v1)
    assert type(back) is Cached and back.result == 10


def test_task_hash_is_stable_across_processes(tmp_path: Path) -> None:
    shape = _load_version(tmp_path, "p", 7)
    script = textwrap.dedent(
        f"""
        import importlib.util
        from headwater.engine.persistent_cache import code_hash
        spec = importlib.util.spec_from_file_location("m", {str(tmp_path / "shape_p.py")!r})
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        print(code_hash(m.shape))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == code_hash(shape)


def hashed_location(**kw: Any) -> str:
    return f"{kw['task_name']}/{kw['task_hash']}.pkl"


def test_task_hash_reaches_callable_locations(tmp_path: Path) -> None:
    saved = add_one.copy(result=LocalResult(dir=str(tmp_path), location=hashed_location))
    with Flow("callable-hash") as flow:
        saved(1)
    flow.run(context={"checkpointing": True})
    assert files(tmp_path) == [f"add_one/{code_hash(add_one)[:16]}.pkl"]
