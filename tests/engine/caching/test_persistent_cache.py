"""The persistent cache: cached states that survive the process."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater import Flow, Parameter, task
from headwater.engine import _task_reuse as task_reuse_module
from headwater.engine import cache_validators as cv
from headwater.engine import persistent_cache as pc_module
from headwater.engine.persistent_cache import (
    PersistentCache,
    PersistentCacheWarning,
    UnhashableInputError,
    stable_hash,
)
from headwater.engine.state import Cached
from headwater.utilities.configuration import set_temporary_config

HOUR = datetime.timedelta(hours=1)


def fresh_run(flow, **params):
    """Run with an empty in-process cache, so only the persistent cache can supply states."""
    return flow.run(parameters=params, context={"caches": {}})


def entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


SCRIPT = """
import sys
from datetime import timedelta
from headwater import Flow, task

@task(cache_for=timedelta(hours=1))
def expensive(x):
    print("EXPENSIVE RAN")
    return x * {factor}

with Flow("cross-process", cache_dir=sys.argv[1]) as flow:
    result = expensive(21)

state = flow.run()
print("STATE", type(state.result[result]).__name__, state.result[result].result)
"""


def run_script(path: Path, cache_dir: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(path), str(cache_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return proc.stdout


class TestAcrossProcesses:
    def test_second_process_reuses_the_result(self, tmp_path):
        script = tmp_path / "flow_script.py"
        script.write_text(SCRIPT.format(factor=2))
        first = run_script(script, tmp_path / "cache")
        second = run_script(script, tmp_path / "cache")
        assert "EXPENSIVE RAN" in first and "STATE Cached 42" in first
        assert "EXPENSIVE RAN" not in second
        assert "STATE Cached 42" in second

    def test_changing_the_source_invalidates_the_entry(self, tmp_path):
        script = tmp_path / "flow_script.py"
        script.write_text(SCRIPT.format(factor=2))
        run_script(script, tmp_path / "cache")
        script.write_text(SCRIPT.format(factor=3))
        changed = run_script(script, tmp_path / "cache")
        assert "EXPENSIVE RAN" in changed
        assert "STATE Cached 63" in changed
        # the stale entry is gone: only the new code's entry remains
        assert len(entries(tmp_path / "cache")) == 1

    def test_stable_hash_is_the_same_in_another_process(self):
        values = {
            "int": 12345678901234567890,
            "float": 0.1,
            "str": "héllo",
            "bytes": b"\x00\xff",
            "nested": {"b": [1, (2, 3)], "a": {"x": None, "y": True}},
            "set": {3, 1, 2},
            "dt": datetime.datetime(2024, 3, 1, 12, 30, tzinfo=datetime.UTC),
            "date": datetime.date(2024, 3, 1),
            "delta": datetime.timedelta(days=2, seconds=5),
        }
        code = textwrap.dedent(
            f"""
            import datetime
            from headwater.engine.persistent_cache import stable_hash
            values = {values!r}
            print(stable_hash(values))
            """
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert out.stdout.strip() == stable_hash(values)

    def test_array_and_frame_hashes_are_the_same_in_another_process(self):
        np = pytest.importorskip("numpy")
        pd = pytest.importorskip("pandas")
        build = textwrap.dedent(
            """
            import numpy as np
            import pandas as pd
            values = {
                "array": np.arange(12, dtype="int32").reshape(3, 4),
                "floats": np.linspace(0, 1, 7),
                "frame": pd.DataFrame(
                    {"name": ["a", "bé", None], "n": [1, 2, 3], "x": [0.5, None, 2.0]},
                    index=["r1", "r2", "r3"],
                ),
                "series": pd.Series(["x", "y"], name="s"),
                "nested": [np.array([1.5, 2.5]), {"df": pd.DataFrame({"a": [1]})}],
            }
            """
        )
        namespace: dict = {"np": np, "pd": pd}
        exec(build, namespace)
        code = build + textwrap.dedent(
            """
            from headwater.engine.persistent_cache import stable_hash
            print({k: stable_hash(v) for k, v in values.items()})
            """
        )
        # another process, with another string-hash seed
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": "12345"},
        )
        expected = {k: stable_hash(v) for k, v in namespace["values"].items()}
        assert out.stdout.strip() == repr(expected)
        assert len(set(expected.values())) == len(expected)


class TestInvalidation:
    def make(self, tmp_path, calls, validator=None):
        @task(name="persisted", cache_for=HOUR, cache_validator=validator)
        def persisted(x):
            calls.append(x)
            return x * 10

        with Flow("persist", cache_dir=str(tmp_path)) as flow:
            x = Parameter("x", default=1)
            t = persisted(x)
        return flow, t

    def test_reused_from_disk(self, tmp_path):
        calls: list = []
        flow, t = self.make(tmp_path, calls)
        fresh_run(flow)
        state = fresh_run(flow)
        assert type(state.result[t]) is Cached
        assert state.result[t].result == 10
        assert calls == [1]

    def test_expired_entry_is_not_reused_and_is_removed(self, tmp_path, monkeypatch):
        calls: list = []
        flow, t = self.make(tmp_path, calls)
        two_hours_ago = pendulum.now("UTC").subtract(hours=2)
        monkeypatch.setattr(task_reuse_module, "_now", lambda: two_hours_ago)
        fresh_run(flow)  # written with an expiration one hour in the past
        monkeypatch.undo()
        state = fresh_run(flow)
        assert type(state.result[t]) is Cached
        assert calls == [1, 1]

    def test_validator_rejects_other_inputs(self, tmp_path):
        calls: list = []
        flow, t = self.make(tmp_path, calls, validator=cv.all_inputs)
        fresh_run(flow, x=1)
        other = fresh_run(flow, x=2)
        same = fresh_run(flow, x=1)
        assert type(other.result[t]) is Cached
        assert type(same.result[t]) is Cached
        assert same.result[t].result == 10
        assert calls == [1, 2]

    def test_never_use_always_runs(self, tmp_path):
        calls: list = []
        flow, t = self.make(tmp_path, calls, validator=cv.never_use)
        fresh_run(flow)
        fresh_run(flow)
        assert calls == [1, 1]

    def test_duration_only_prefers_the_entry_with_equal_inputs(self, tmp_path):
        calls: list = []
        flow, t = self.make(tmp_path, calls)
        fresh_run(flow, x=1)
        fresh_run(flow, x=2)  # duration_only: reuses x=1's entry, nothing new written
        assert calls == [1]
        assert fresh_run(flow, x=1).result[t].result == 10

    def test_config_key_switches_the_cache_on(self, tmp_path):
        calls: list = []

        @task(cache_for=HOUR)
        def via_config():
            calls.append(1)
            return "value"

        with Flow("configured") as flow:
            t = via_config()
        with set_temporary_config({"flows.persistent_cache": True, "home_dir": str(tmp_path)}):
            fresh_run(flow)
            state = fresh_run(flow)
        assert type(state.result[t]) is Cached
        assert calls == [1]
        assert [p.suffix for p in entries(tmp_path / "cache")] == [".hwcache"]

    def test_off_by_default(self, tmp_path):
        calls: list = []

        @task(cache_for=HOUR)
        def not_persisted():
            calls.append(1)

        with Flow("default-off") as flow:
            not_persisted()
        with set_temporary_config({"home_dir": str(tmp_path)}):
            fresh_run(flow)
            fresh_run(flow)
        assert calls == [1, 1]
        assert not (tmp_path / "cache").exists()

    def test_mapped_children_have_their_own_entries(self, tmp_path):
        calls: list = []

        @task(cache_for=HOUR, cache_validator=cv.all_inputs)
        def square(x):
            calls.append(x)
            return x * x

        with Flow("mapped", cache_dir=str(tmp_path)) as flow:
            t = square.map([1, 2, 3])
        fresh_run(flow)
        state = fresh_run(flow)
        children = state.result[t].map_states
        assert [type(s) for s in children] == [Cached, Cached, Cached]
        assert [s.result for s in children] == [1, 4, 9]
        assert sorted(calls) == [1, 2, 3]

    def test_cache_key_is_shared_between_flows(self, tmp_path):
        calls: list = []

        @task(cache_for=HOUR, cache_key="persisted-shared")
        def producer():
            calls.append(1)
            return "shared"

        with Flow("one", cache_dir=str(tmp_path)) as one:
            producer()
        with Flow("two", cache_dir=str(tmp_path)) as two:
            t = producer()
        fresh_run(one)
        state = fresh_run(two)
        assert state.result[t].result == "shared"
        assert calls == [1]


class TestInputs:
    def test_numpy_inputs(self, tmp_path):
        np = pytest.importorskip("numpy")
        calls: list = []

        @task(cache_for=HOUR, cache_validator=cv.all_inputs)
        def total(arr):
            calls.append(1)
            return int(arr.sum())

        with Flow("np", cache_dir=str(tmp_path)) as flow:
            arr = Parameter("arr")
            t = total(arr)
        fresh_run(flow, arr=np.arange(5))
        same = fresh_run(flow, arr=np.arange(5))
        other = fresh_run(flow, arr=np.arange(6))
        assert type(same.result[t]) is Cached and same.result[t].result == 10
        assert type(other.result[t]) is Cached and other.result[t].result == 15
        assert len(calls) == 2

    def test_pandas_inputs(self, tmp_path):
        pd = pytest.importorskip("pandas")
        calls: list = []

        @task(cache_for=HOUR, cache_validator=cv.partial_inputs_only(["df"]))
        def rows(df, note):
            calls.append(1)
            return len(df)

        with Flow("pd", cache_dir=str(tmp_path)) as flow:
            df = Parameter("df")
            note = Parameter("note", default="a")
            t = rows(df, note)
        frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
        fresh_run(flow, df=frame)
        same = fresh_run(flow, df=frame.copy(), note="b")
        changed = fresh_run(flow, df=frame.assign(b=["x", "z"]))
        assert type(same.result[t]) is Cached
        assert type(changed.result[t]) is Cached
        assert len(calls) == 2

    def test_array_and_frame_hashes_follow_their_contents(self):
        np = pytest.importorskip("numpy")
        pd = pytest.importorskip("pandas")
        a = np.arange(6).reshape(2, 3)
        assert stable_hash(a) == stable_hash(a.copy())
        assert stable_hash(a) != stable_hash(a.T)
        assert stable_hash(a) != stable_hash(a.astype("float64"))
        df = pd.DataFrame({"a": [1, 2]})
        assert stable_hash(df) == stable_hash(df.copy())
        assert stable_hash(df) != stable_hash(df.rename(columns={"a": "b"}))
        assert stable_hash(df) != stable_hash(df.set_axis([5, 6]))

    def test_unhashable_input_disables_the_cache_with_a_warning(self, tmp_path):
        calls: list = []

        @task(cache_for=HOUR)
        def uses_lock(lock):
            calls.append(1)
            return "done"

        with Flow("lock", cache_dir=str(tmp_path)) as flow:
            t = uses_lock(threading.Lock())
        with pytest.warns(PersistentCacheWarning, match=r"input 'lock' \(a lock\)") as record:
            first = fresh_run(flow)
        assert len(record) == 1
        with pytest.warns(PersistentCacheWarning):
            second = fresh_run(flow)
        assert type(first.result[t]) is Cached
        assert type(second.result[t]) is Cached
        assert calls == [1, 1]
        assert entries(tmp_path) == []

    def test_unhashable_error_names_the_nested_position(self):
        with pytest.raises(UnhashableInputError, match=r"x\[1\]\['k'\] \(a object\)"):
            stable_hash([1, {"k": object()}], "x")

    @settings(max_examples=60, deadline=None)
    @given(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text()
            | st.binary(),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=5), inner, max_size=4)
            ),
            max_leaves=12,
        )
    )
    def test_equal_values_hash_equal(self, value):
        import copy

        assert stable_hash(value) == stable_hash(copy.deepcopy(value))

    def test_values_of_different_types_hash_differently(self):
        distinct = [1, 1.0, "1", b"1", True, [1], (1,), {1}, {1: 1}, None, 0, False, ""]
        assert len({stable_hash(v) for v in distinct}) == len(distinct)


class TestRobustness:
    def make(self, tmp_path, calls):
        @task(cache_for=HOUR)
        def robust():
            calls.append(1)
            return "fresh"

        with Flow("robust", cache_dir=str(tmp_path)) as flow:
            t = robust()
        return flow, t

    def test_corrupt_entry_is_ignored_with_a_warning(self, tmp_path):
        calls: list = []
        flow, t = self.make(tmp_path, calls)
        fresh_run(flow)
        [entry] = entries(tmp_path)
        entry.write_bytes(entry.read_bytes()[:40])
        with pytest.warns(PersistentCacheWarning, match="damaged persistent cache entry") as record:
            state = fresh_run(flow)
        assert str(entry) in str(record[0].message)
        assert type(state.result[t]) is Cached
        # the run replaced the damaged entry: the next run is cached, without warnings
        assert type(fresh_run(flow).result[t]) is Cached
        assert calls == [1, 1]

    def test_foreign_file_is_ignored_with_a_warning(self, tmp_path):
        calls: list = []
        flow, t = self.make(tmp_path, calls)
        fresh_run(flow)
        [entry] = entries(tmp_path)
        entry.write_bytes(b"not a cache file")
        with pytest.warns(PersistentCacheWarning, match="not a headwater cache file"):
            state = fresh_run(flow)
        assert state.is_successful()

    def test_failed_write_leaves_no_partial_file(self, tmp_path, monkeypatch):
        calls: list = []
        flow, t = self.make(tmp_path, calls)

        def broken_replace(src, dst):
            raise OSError("disk full")

        monkeypatch.setattr(pc_module.os, "replace", broken_replace)
        with pytest.warns(PersistentCacheWarning, match="disk full"):
            state = fresh_run(flow)
        assert type(state.result[t]) is Cached
        assert entries(tmp_path) == []

    def test_unpicklable_result_is_kept_in_process_only(self, tmp_path):
        @task(cache_for=HOUR)
        def make_generator():
            return (i for i in range(3))

        with Flow("unpicklable", cache_dir=str(tmp_path)) as flow:
            t = make_generator()
        with pytest.warns(PersistentCacheWarning, match="could not be pickled"):
            state = fresh_run(flow)
        assert state.result[t].is_successful()
        assert entries(tmp_path) == []

    def test_only_complete_entry_files_are_left(self, tmp_path):
        calls: list = []
        flow, _ = self.make(tmp_path, calls)
        fresh_run(flow)
        fresh_run(flow)
        names = [p.name for p in entries(tmp_path)]
        assert len(names) == 1 and names[0].endswith(".hwcache")


class TestStoreApi:
    def test_for_flow_defaults_to_home_dir_cache(self, tmp_path):
        from headwater.configuration import Config

        with Flow("x y/z") as flow:
            pass
        cfg = Config({"home_dir": str(tmp_path)})
        store = PersistentCache.for_flow(flow, None, cfg)
        assert store.directory == tmp_path / "cache"

    def test_load_and_save_round_trip(self, tmp_path):
        @task(cache_for=HOUR)
        def t(x):
            return x

        store = PersistentCache(tmp_path, "api")
        expiration = pendulum.now("UTC").add(hours=1)
        state = Cached(result=5, cached_inputs={"x": 1}, cached_result_expiration=expiration)
        store.save(t, "t", {"x": 1}, state)
        [loaded] = store.load(t, "t", {"x": 1})
        assert loaded.result == 5
        assert loaded.cached_result_expiration == expiration
        assert store.load(t, "other-key", {"x": 1}) == []

    def test_mapped_child_only_gets_entries_made_from_its_own_inputs(self, tmp_path):
        import headwater

        @task(cache_for=HOUR)
        def t(x):
            return x

        store = PersistentCache(tmp_path, "api")
        expiration = pendulum.now("UTC").add(hours=1)
        for x in (1, 2):
            store.save(t, "t", {"x": x}, Cached(result=x * 10, cached_result_expiration=expiration))
        # an ordinary run with duration_only may use any entry, its own inputs' first
        assert [s.result for s in store.load(t, "t", {"x": 2})] == [20, 10]
        with headwater.context(map_index=0):
            assert [s.result for s in store.load(t, "t", {"x": 2})] == [20]
            assert store.load(t, "t", {"x": 3}) == []

    def test_store_is_picklable(self, tmp_path):
        import pickle

        store = PersistentCache(tmp_path, "api")
        clone = pickle.loads(pickle.dumps(store))
        assert clone.directory == store.directory and clone.flow_name == "api"
