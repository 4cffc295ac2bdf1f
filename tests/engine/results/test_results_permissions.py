"""Files headwater writes are private (0600, directories 0700), and killed writes are cleaned up."""

from __future__ import annotations

import datetime
import os
import stat
import time
from pathlib import Path

import pytest

from headwater import Flow, task
from headwater.engine.results import FSSpecResult, LocalResult, _files
from headwater.engine.results._files import STALE_TEMP_SECONDS, temp_path_for
from headwater.storage.serialize import save_flow
from headwater.utilities.configuration import set_temporary_config

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
IS_ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


@pytest.fixture(autouse=True)
def usual_umask():
    """The umask most systems use, under which files used to come out 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def next_process(monkeypatch):
    """Forget which directories this process already cleaned, as a new process would."""

    def forget() -> None:
        monkeypatch.setattr(_files, "_scanned", {})

    return forget


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def plant_temp(target: Path, age_seconds: float) -> Path:
    """A temporary file named the way the atomic writer names it, last changed ``age`` ago."""
    tmp = Path(temp_path_for(str(target)))
    tmp.write_bytes(b"x" * 1024)
    then = time.time() - age_seconds
    os.utime(tmp, (then, then))
    return tmp


class TestLocalResultModes:
    def test_files_are_0600_and_created_directories_0700(self, tmp_path):
        result = LocalResult(dir=tmp_path / "new" / "results", location="2024/03/values.pkl")
        written = result.write({"rows": 1})
        assert mode(written.location) == 0o600
        for d in ("new", "new/results", "new/results/2024", "new/results/2024/03"):
            assert mode(tmp_path / d) == 0o700, d

    def test_a_mode_option_shares_files_and_their_directories(self, tmp_path):
        result = LocalResult(dir=tmp_path / "shared", mode=0o640, location="sub/values.pkl")
        written = result.write([1])
        assert mode(written.location) == 0o640
        assert mode(tmp_path / "shared") == 0o750 and mode(tmp_path / "shared" / "sub") == 0o750

    def test_an_existing_directory_keeps_its_mode(self, tmp_path):
        existing = tmp_path / "existing"
        existing.mkdir(mode=0o755)
        written = LocalResult(dir=existing, location="one.pkl").write(1)
        assert mode(existing) == 0o755
        assert mode(written.location) == 0o600

    def test_overwriting_a_shared_file_makes_it_private(self, tmp_path):
        target = tmp_path / "old.pkl"
        target.write_bytes(b"old")
        target.chmod(0o644)
        LocalResult(dir=tmp_path, location="old.pkl").write(2)
        assert mode(target) == 0o600

    @pytest.mark.parametrize("bad", ["600", 0o1000, -1, True, 6.0])
    def test_a_bad_mode_is_refused(self, tmp_path, bad):
        with pytest.raises(ValueError, match="mode must be a file permission mode"):
            LocalResult(dir=tmp_path, mode=bad)

    def test_fsspec_local_files_are_private(self, tmp_path):
        pytest.importorskip("fsspec")
        written = FSSpecResult(f"file://{tmp_path}/new/{{task_name}}.pkl").write(1, task_name="t")
        assert mode(tmp_path / "new" / "t.pkl") == 0o600
        assert mode(tmp_path / "new") == 0o700
        assert written.value == 1

    def test_saved_flows_are_private(self, tmp_path):
        with Flow("saved") as flow:
            pass
        with set_temporary_config({"home_dir": str(tmp_path / "home")}):
            path = save_flow(flow)
        assert mode(path) == 0o600 and mode(tmp_path / "home" / "flows") == 0o700


@task(target="{task_name}-{x}.pkl")
def targeted(x):
    return x * 2


@task
def checkpointed(x):
    return x + 1


class TestCheckpointsAndTargets:
    def test_checkpoints_and_targets_are_private(self, tmp_path):
        with Flow("private", result=LocalResult(dir=tmp_path / "results")) as flow:
            checkpointed(targeted(1))
        state = flow.run(context={"checkpointing": True})
        assert state.is_successful()
        files = sorted(p for p in (tmp_path / "results").rglob("*") if p.is_file())
        assert len(files) == 2
        assert all(mode(p) == 0o600 for p in files)
        assert mode(tmp_path / "results") == 0o700

    def test_the_default_target_directory_is_created_private(self, tmp_path):
        home = tmp_path / "home"
        with set_temporary_config({"home_dir": str(home)}):
            with Flow("default-target") as flow:
                targeted(2)
            assert flow.run(context={"checkpointing": True}).is_successful()
        [written] = (home / "results").iterdir()
        assert mode(written) == 0o600
        assert mode(home) == 0o700 and mode(home / "results") == 0o700


class TestStaleTemporaryFiles:
    def test_old_ones_are_removed_on_the_next_write_and_fresh_ones_kept(self, tmp_path):
        target = tmp_path / "big.pkl"
        killed = [plant_temp(target, STALE_TEMP_SECONDS + 60) for _ in range(3)]
        other_name = plant_temp(tmp_path / "other.pkl", 2 * 3600)
        concurrent = plant_temp(target, 5)  # a writer that is still at work
        not_temp = tmp_path / "old-result.pkl"
        not_temp.write_bytes(b"a result")
        os.utime(not_temp, (0, 0))

        LocalResult(dir=tmp_path, location="fresh.pkl").write({"new": 1})

        assert not any(p.exists() for p in killed) and not other_name.exists()
        assert concurrent.exists()
        assert not_temp.exists()
        assert LocalResult(dir=tmp_path).read("fresh.pkl").value == {"new": 1}

    def test_only_the_written_directory_is_cleaned(self, tmp_path):
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        old = plant_temp(elsewhere / "x.pkl", 2 * 3600)
        LocalResult(dir=tmp_path / "results", location="x.pkl").write(1)
        assert old.exists()

    @pytest.mark.skipif(not IS_ROOT, reason="needs root to give a file to another user")
    def test_another_users_temporary_files_are_kept(self, tmp_path):
        theirs = plant_temp(tmp_path / "x.pkl", 2 * 3600)
        os.chown(theirs, 54321, 54321)
        LocalResult(dir=tmp_path, location="x.pkl").write(1)
        assert theirs.exists()

    def test_a_directory_is_cleaned_again_by_a_later_process(self, tmp_path, next_process):
        LocalResult(dir=tmp_path, location="a.pkl").write(1)
        left = plant_temp(tmp_path / "a.pkl", 2 * 3600)
        next_process()
        LocalResult(dir=tmp_path, location="b.pkl").write(2)
        assert not left.exists()

    def test_stale_ones_in_the_persistent_cache_are_removed(self, tmp_path, next_process):
        @task(cache_for=datetime.timedelta(hours=1))
        def cached(x):
            return x

        with set_temporary_config({"home_dir": str(tmp_path / "home")}):
            with Flow("cleanup", cache_dir=str(tmp_path / "cache")) as flow:
                cached(1)
            flow.run(context={"caches": {}})
            [entry] = (tmp_path / "cache").rglob("*.hwcache")
            killed = plant_temp(entry, 2 * 3600)
            concurrent = plant_temp(entry, 1)
            entry.unlink()  # so that the next run writes the entry again
            next_process()
            flow.run(context={"caches": {}})
        assert not killed.exists() and concurrent.exists()
