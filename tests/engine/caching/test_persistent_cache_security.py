"""The persistent cache only unpickles signed entries from private directories it can trust."""

from __future__ import annotations

import datetime
import os
import pathlib
import pickle
import stat
from pathlib import Path

import pendulum
import pytest

from headwater import Flow, task
from headwater.engine import cache_validators as cv
from headwater.engine.persistent_cache import PersistentCacheError, PersistentCacheWarning
from headwater.engine.state import Cached, Failed
from headwater.utilities.configuration import set_temporary_config

HOUR = datetime.timedelta(hours=1)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX owners and modes")


class Plant:
    """A pickle whose unpickling creates ``marker``: code run by whoever reads the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    with set_temporary_config({"home_dir": str(home)}):
        yield home


@pytest.fixture
def private_umask():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.hwcache") if p.is_file())


def make_flow(cache_dir: Path, calls: list):
    @task(cache_for=HOUR)
    def guarded(x):
        calls.append(x)
        return x * 2

    with Flow("guarded", cache_dir=str(cache_dir)) as flow:
        t = guarded(21)
    return flow, t


def fresh_run(flow):
    return flow.run(context={"caches": {}})


class TestPlantedEntries:
    def test_an_unsigned_planted_pickle_is_never_unpickled(self, tmp_path, home):
        marker = tmp_path / "PWNED"
        calls: list = []
        flow, t = make_flow(tmp_path / "cache", calls)
        fresh_run(flow)
        [entry] = entries(tmp_path / "cache")
        # a well-formed pickle in the layout older versions read, with 0600 in a 0700 directory
        entry.write_bytes(b"HEADWATER-CACHE-1\n" + pickle.dumps(Plant(marker)))
        entry.chmod(0o600)
        with pytest.warns(PersistentCacheWarning, match="damaged persistent cache entry") as rec:
            state = fresh_run(flow)
        assert not marker.exists()
        assert str(entry) in str(rec[0].message)
        assert type(state.result[t]) is Cached and calls == [21, 21]

    @pytest.mark.parametrize("tag", ["zeros", "copied"])
    def test_a_planted_pickle_with_a_wrong_signature_is_never_unpickled(self, tmp_path, home, tag):
        marker = tmp_path / "PWNED"
        calls: list = []
        flow, t = make_flow(tmp_path / "cache", calls)
        fresh_run(flow)
        [entry] = entries(tmp_path / "cache")
        magic, signature, _payload = entry.read_bytes().split(b"\n", 2)
        forged = b"0" * len(signature) if tag == "zeros" else signature
        entry.write_bytes(magic + b"\n" + forged + b"\n" + pickle.dumps(Plant(marker)))
        with pytest.warns(PersistentCacheWarning, match="signature does not match") as rec:
            state = fresh_run(flow)
        assert not marker.exists()
        assert str(entry) in str(rec[0].message)
        assert type(state.result[t]) is Cached
        assert type(fresh_run(flow).result[t]) is Cached  # replaced by a good entry

    def test_an_entry_signed_with_another_key_is_ignored(self, tmp_path):
        calls: list = []
        flow, t = make_flow(tmp_path / "cache", calls)
        with set_temporary_config({"home_dir": str(tmp_path / "alice")}):
            fresh_run(flow)
        with set_temporary_config({"home_dir": str(tmp_path / "mallory")}):
            with pytest.warns(PersistentCacheWarning, match="signature does not match"):
                state = fresh_run(flow)
        assert type(state.result[t]) is Cached and calls == [21, 21]

    @posix_only
    @pytest.mark.parametrize("bits", [0o070, 0o007, 0o020, 0o002])
    def test_a_cache_dir_others_can_write_is_refused_before_any_task_runs(
        self, tmp_path, home, bits
    ):
        marker = tmp_path / "PWNED"
        cache = tmp_path / "cache"
        calls: list = []
        flow, t = make_flow(cache, calls)
        fresh_run(flow)
        [entry] = entries(cache)
        entry.write_bytes(b"HEADWATER-CACHE-1\n" + pickle.dumps(Plant(marker)))
        cache.chmod(0o700 | bits)
        with pytest.raises(PersistentCacheError) as info:
            fresh_run(flow)
        message = str(info.value)
        assert repr(str(cache)) in message
        assert f"chmod 700 {cache}" in message
        assert not marker.exists()
        assert calls == [21]

    @posix_only
    def test_a_group_writable_subdirectory_fails_the_task_naming_it(self, tmp_path, home):
        marker = tmp_path / "PWNED"
        calls: list = []
        flow, t = make_flow(tmp_path / "cache", calls)
        fresh_run(flow)
        [entry] = entries(tmp_path / "cache")
        entry.write_bytes(b"HEADWATER-CACHE-1\n" + pickle.dumps(Plant(marker)))
        entry.parent.chmod(0o770)
        state = fresh_run(flow).result[t]
        assert isinstance(state, Failed)
        assert str(entry.parent) in state.message and "chmod 700" in state.message
        assert not marker.exists()

    @posix_only
    def test_an_entry_others_can_write_is_refused(self, tmp_path, home):
        marker = tmp_path / "PWNED"
        calls: list = []
        flow, t = make_flow(tmp_path / "cache", calls)
        fresh_run(flow)
        [entry] = entries(tmp_path / "cache")
        entry.write_bytes(b"HEADWATER-CACHE-1\n" + pickle.dumps(Plant(marker)))
        entry.chmod(0o666)
        state = fresh_run(flow).result[t]
        assert isinstance(state, Failed)
        assert str(entry) in state.message and "chmod 600" in state.message
        assert not marker.exists()

    @pytest.mark.skipif(not IS_ROOT, reason="needs root to give a file to another user")
    def test_a_cache_dir_owned_by_another_user_is_refused(self, tmp_path, home):
        cache = tmp_path / "cache"
        flow, _ = make_flow(cache, [])
        fresh_run(flow)
        os.chown(cache, 54321, 54321)
        with pytest.raises(PersistentCacheError, match="owned by"):
            fresh_run(flow)

    @pytest.mark.skipif(not IS_ROOT, reason="needs root to give a file to another user")
    def test_an_entry_owned_by_another_user_is_refused(self, tmp_path, home):
        marker = tmp_path / "PWNED"
        flow, t = make_flow(tmp_path / "cache", [])
        fresh_run(flow)
        [entry] = entries(tmp_path / "cache")
        entry.write_bytes(b"HEADWATER-CACHE-1\n" + pickle.dumps(Plant(marker)))
        os.chown(entry, 54321, 54321)
        state = fresh_run(flow).result[t]
        assert isinstance(state, Failed) and "owned by" in state.message
        assert not marker.exists()


class TestKey:
    @posix_only
    def test_the_key_is_created_private_under_home_dir(self, tmp_path, home, private_umask):
        flow, _ = make_flow(tmp_path / "cache", [])
        fresh_run(flow)
        key = home / "cache.key"
        assert mode(key) == 0o600 and mode(home) == 0o700
        assert len(bytes.fromhex(key.read_text().strip())) == 32
        before = key.read_bytes()
        fresh_run(flow)
        assert key.read_bytes() == before  # made once, then reused

    @posix_only
    def test_a_key_others_can_read_is_refused(self, tmp_path, home):
        flow, t = make_flow(tmp_path / "cache", [])
        fresh_run(flow)
        (home / "cache.key").chmod(0o644)
        state = fresh_run(flow).result[t]
        assert isinstance(state, Failed)
        assert str(home / "cache.key") in state.message and "chmod 600" in state.message

    def test_a_damaged_key_says_to_delete_it(self, tmp_path, home):
        flow, t = make_flow(tmp_path / "cache", [])
        fresh_run(flow)
        (home / "cache.key").write_text("not hex")
        state = fresh_run(flow).result[t]
        assert isinstance(state, Failed) and "Delete it" in state.message


class TestPermissions:
    @posix_only
    def test_created_directories_are_0700_and_entries_0600(self, tmp_path, home, private_umask):
        cache = tmp_path / "deep" / "cache"
        flow, _ = make_flow(cache, [])
        fresh_run(flow)
        [entry] = entries(cache)
        assert mode(entry) == 0o600
        for directory in (tmp_path / "deep", cache, entry.parent.parent, entry.parent):
            assert mode(directory) == 0o700, directory


def sign(home: Path, obj) -> bytes:
    import cloudpickle

    from headwater.engine.caching.signing import load_key, sign

    return sign(load_key(home), cloudpickle.dumps(obj))


def naive_expiration_state():
    state = Cached(result=1)
    state.cached_result_expiration = datetime.datetime(2999, 1, 1)  # no time zone
    return state


def a_good_entry(**changes):
    expiration = pendulum.now("UTC").add(hours=1)
    entry = {
        "format": 2,
        "key": "guarded",
        "task": "guarded",
        "flow": "guarded",
        "code_hash": "0" * 64,
        "inputs_hash": "0" * 64,
        "input_hashes": {"x": "0" * 64},
        "created": 1.0,
        "state": Cached(result=1, cached_inputs={"x": 21}, cached_result_expiration=expiration),
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not ...}


class SlotlessState:
    """Unpickles as a ``Cached`` state whose attributes were never set."""

    def __reduce__(self):
        return (object.__new__, (Cached,))


WRONG_STRUCTURES = {
    "a list": [1, 2, 3],
    "a dict of something else": {"format": 2, "hello": "world"},
    "a string state": a_good_entry(state="not a state"),
    "a state without attributes": a_good_entry(state=SlotlessState()),
    "no input hashes": a_good_entry(input_hashes=...),
    "input hashes of the wrong type": a_good_entry(input_hashes=["x"]),
    "no inputs hash": a_good_entry(inputs_hash=...),
    "no creation time": a_good_entry(created=...),
    "a naive expiration": a_good_entry(state=naive_expiration_state()),
    "cached inputs of the wrong type": a_good_entry(
        state=Cached(result=1, cached_inputs=[21], cached_result_expiration=None)
    ),
    "another format": a_good_entry(format=99),
}


class TestWronglyStructuredEntries:
    @pytest.mark.parametrize("obj", list(WRONG_STRUCTURES.values()), ids=list(WRONG_STRUCTURES))
    def test_a_signed_entry_of_the_wrong_structure_is_ignored_with_a_warning(
        self, tmp_path, home, obj
    ):
        calls: list = []
        flow, t = make_flow(tmp_path / "cache", calls)
        fresh_run(flow)
        [entry] = entries(tmp_path / "cache")
        entry.write_bytes(sign(home, obj))
        with pytest.warns(PersistentCacheWarning, match="damaged persistent cache entry") as rec:
            state = fresh_run(flow)
        assert str(entry) in str(rec[0].message)
        assert type(state.result[t]) is Cached and calls == [21, 21]
        assert type(fresh_run(flow).result[t]) is Cached

    def test_a_good_entry_without_cached_inputs_is_still_used(self, tmp_path, home):
        @task(cache_for=HOUR, cache_validator=cv.all_inputs)
        def strict(x):
            return x

        with Flow("guarded", cache_dir=str(tmp_path / "cache")) as flow:
            t = strict(21)
        fresh_run(flow)
        [entry] = entries(tmp_path / "cache")
        good = pickle.loads(entry.read_bytes().split(b"\n", 2)[2])
        good["state"].cached_inputs = None  # allowed: a state may carry no inputs
        entry.write_bytes(sign(home, good))
        assert type(fresh_run(flow).result[t]) is Cached
