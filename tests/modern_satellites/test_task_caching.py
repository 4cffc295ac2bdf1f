"""Caching of @flow tasks: lookup and save, expiry, refresh, persistence across processes."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import warnings

import pytest

from headwater.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE, CachePolicyWarning
from headwater.engine.caching.signing import PersistentCacheError
from headwater.modern import caching, results
from headwater.modern.options import TaskOptions
from headwater.tasks import task_input_hash

IDS = {"flow_parameters": {}, "flow_run_id": "flow-1", "task_run_id": "task-1"}


def double(x):
    return 2 * x


def double_changed(x):
    return x * 2


def options(fn=double, **kw):
    kw.setdefault("cache_policy", INPUTS + TASK_SOURCE)
    return TaskOptions(name=fn.__name__, fn=fn, **kw)


def cached_value(opts, **inputs):
    found = caching.lookup(opts, inputs=inputs, **IDS)
    return found.value if found.hit else None


@pytest.fixture(autouse=True)
def _home(headwater_home):
    return headwater_home


class TestLookupAndSave:
    def test_miss_then_hit(self):
        opts = options()
        first = caching.lookup(opts, inputs={"x": 2}, **IDS)
        assert first.key is not None and not first.hit
        caching.save(opts, first, 4)
        again = caching.lookup(opts, inputs={"x": 2}, **IDS)
        assert again.hit and again.value == 4 and again.key == first.key
        assert not caching.lookup(opts, inputs={"x": 3}, **IDS).hit

    def test_records_go_to_home_storage_privately(self, headwater_home):
        opts = options()
        found = caching.lookup(opts, inputs={"x": 1}, **IDS)
        caching.save(opts, found, 2)
        path = headwater_home / "storage" / str(found.key)
        assert path.is_file()
        assert oct(path.stat().st_mode & 0o777) == "0o600"

    def test_expired_entries_are_not_used(self):
        opts = options(cache_expiration=datetime.timedelta(0))
        found = caching.lookup(opts, inputs={"x": 1}, **IDS)
        caching.save(opts, found, 2)
        assert cached_value(opts, x=1) is None
        lasting = options(cache_expiration=datetime.timedelta(days=1))
        caching.save(lasting, caching.lookup(lasting, inputs={"x": 1}, **IDS), 2)
        assert cached_value(lasting, x=1) == 2

    def test_refresh_cache_runs_again_and_replaces(self):
        opts = options()
        caching.save(opts, caching.lookup(opts, inputs={"x": 1}, **IDS), "old")
        refreshing = options(refresh_cache=True)
        found = caching.lookup(refreshing, inputs={"x": 1}, **IDS)
        assert found.key is not None and not found.hit
        caching.save(refreshing, found, "new")
        assert cached_value(opts, x=1) == "new"

    def test_refresh_cache_setting(self):
        from headwater.utilities.configuration import set_temporary_config

        opts = options()
        caching.save(opts, caching.lookup(opts, inputs={"x": 1}, **IDS), "old")
        with set_temporary_config({"tasks.refresh_cache": True}):
            assert not caching.lookup(opts, inputs={"x": 1}, **IDS).hit
        assert cached_value(opts, x=1) == "old"

    def test_task_source_change_misses(self):
        opts = options()
        caching.save(opts, caching.lookup(opts, inputs={"x": 1}, **IDS), 2)
        assert cached_value(options(fn=double_changed), x=1) is None

    def test_no_cache_and_no_persistence_give_no_key(self):
        assert caching.lookup(options(cache_policy=NO_CACHE), inputs={"x": 1}, **IDS).key is None
        plain = TaskOptions(name="double", fn=double)
        assert caching.lookup(plain, inputs={"x": 1}, **IDS).key is None
        off = options(cache_key_fn=task_input_hash, persist_result=False)
        assert caching.lookup(off, inputs={"x": 1}, **IDS).key is None
        # persisting with no policy of its own: DEFAULT, which includes the flow run's id
        persisted = TaskOptions(name="double", fn=double, persist_result=True)
        one = caching.lookup(persisted, inputs={"x": 1}, **IDS)
        other_run = caching.lookup(persisted, inputs={"x": 1}, **{**IDS, "flow_run_id": "flow-2"})
        assert one.key is not None and one.key != other_run.key

    def test_flow_persist_setting_is_inherited(self):
        plain = TaskOptions(name="double", fn=double)
        assert caching.lookup(plain, inputs={"x": 1}, flow_persist=True, **IDS).key is not None

    def test_save_without_key_is_a_no_op(self):
        caching.save(options(), caching.CacheLookup(None), 1)

    def test_unhashable_input_warns_and_skips(self):
        with pytest.warns(
            CachePolicyWarning, match="error encountered when computing the cache key"
        ):
            found = caching.lookup(options(), inputs={"lock": threading.Lock()}, **IDS)
        assert found.key is None

    def test_cache_key_fn_with_unhashable_input(self):
        opts = options(cache_key_fn=task_input_hash)
        with pytest.warns(CachePolicyWarning):
            assert caching.lookup(opts, inputs={"lock": threading.RLock()}, **IDS).key is None

    def test_storage_key_is_the_cache_key(self, tmp_path):
        opts = options(
            result_storage=str(tmp_path),
            result_storage_key="out-{parameters[x]}.json",
            result_serializer="json",
        )
        found = caching.lookup(opts, inputs={"x": 7}, **IDS)
        assert found.key == "out-7.json"
        caching.save(opts, found, {"v": 14})
        assert (tmp_path / "out-7.json").is_file()
        assert cached_value(opts, x=7) == {"v": 14}


class TestSafety:
    def test_concurrent_writers_leave_one_readable_record(self, headwater_home):
        opts = options()
        found = caching.lookup(opts, inputs={"x": 1}, **IDS)
        barrier = threading.Barrier(8)

        def write(i):
            barrier.wait()
            for _ in range(10):
                caching.save(opts, caching.CacheLookup(found.key), {"writer": i})

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert cached_value(opts, x=1)["writer"] in range(8)
        assert sorted(os.listdir(headwater_home / "storage")) == [found.key]

    def test_a_foreign_record_is_ignored_with_a_warning(self, headwater_home):
        opts = options()
        found = caching.lookup(opts, inputs={"x": 1}, **IDS)
        caching.save(opts, found, 2)
        path = headwater_home / "storage" / str(found.key)
        data = bytearray(path.read_bytes())
        data[-1] ^= 1  # changed after signing: another user's planted pickle looks like this
        path.write_bytes(bytes(data))
        with pytest.warns(results.ResultWarning, match="signature does not match"):
            assert cached_value(opts, x=1) is None

    def test_a_storage_others_can_write_is_refused(self, tmp_path):
        shared = tmp_path / "shared"
        shared.mkdir()
        opts = options(result_storage=str(shared))
        found = caching.lookup(opts, inputs={"x": 1}, **IDS)
        caching.save(opts, found, 2)
        shared.chmod(0o777)
        with pytest.raises(PersistentCacheError, match="chmod 700"):
            caching.lookup(opts, inputs={"x": 1}, **IDS)

    def test_unserializable_value_is_not_cached_with_a_warning(self):
        opts = options()
        found = caching.lookup(opts, inputs={"x": 1}, **IDS)
        with pytest.warns(results.ResultWarning, match="not cached"):
            caching.save(opts, found, threading.Lock())
        assert cached_value(opts, x=1) is None


SCRIPT = """
import sys
from headwater import flow, task
from headwater.cache_policies import INPUTS, TASK_SOURCE

@task(cache_policy=INPUTS + TASK_SOURCE)
def slow_square(x):
    print("ran", x)
    return x * x

@flow
def squares(n):
    return [slow_square(i) for i in range(n)]

print("result", squares(int(sys.argv[1])))
"""


class TestAcrossProcesses:
    def test_a_second_process_hits_the_cache(self, tmp_path):
        script = tmp_path / "squares.py"
        script.write_text(SCRIPT)

        def run(n):
            out = subprocess.run(
                [sys.executable, str(script), str(n)], capture_output=True, text=True, timeout=60
            )
            assert out.returncode == 0, out.stderr
            return out.stdout

        first = run(2)
        assert "ran 0" in first and "ran 1" in first and "result [0, 1]" in first
        second = run(3)
        assert "ran 0" not in second and "ran 1" not in second and "ran 2" in second
        assert "result [0, 1, 4]" in second


class TestWithFlows:
    def test_cached_task_runs_once_per_input(self):
        from headwater import flow, task

        calls = []

        @task(cache_key_fn=task_input_hash, cache_expiration=datetime.timedelta(days=1))
        def fetch(url):
            calls.append(url)
            return url.upper()

        @flow
        def etl(urls):
            return [fetch(u) for u in urls]

        assert etl(["a", "b", "a"]) == ["A", "B", "A"]
        assert etl(["b"]) == ["B"]
        assert calls == ["a", "b"]

    def test_default_policy_caches_within_a_persisted_flow_run_only(self):
        from headwater import flow, task

        calls = []

        @task(persist_result=True)
        def inc(x):
            calls.append(x)
            return x + 1

        @flow
        def twice():
            return inc(1) + inc(1)

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert twice() == 4
            assert twice() == 4
        assert calls == [1, 1]  # once per flow run: DEFAULT includes the run id
