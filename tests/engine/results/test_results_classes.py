"""LocalResult, HeadwaterResult, ConstantResult, SecretResult and FSSpecResult specifics."""

from __future__ import annotations

import os
import pickle
import uuid
from pathlib import Path

import pendulum
import pytest

import headwater
from headwater.engine.result import ResultReadError
from headwater.engine.results import (
    ConstantResult,
    FSSpecResult,
    HeadwaterResult,
    LocalResult,
    SecretResult,
)
from headwater.engine.serializers import DateTimeSerializer, JSONSerializer, PickleSerializer
from headwater.exceptions import SerializationError
from headwater.utilities.configuration import set_temporary_config


# -- LocalResult -----------------------------------------------------------------------------
def test_local_default_dir_is_home_dir_results_read_at_construction(tmp_path: Path) -> None:
    with set_temporary_config({"home_dir": str(tmp_path / "home")}):
        r = LocalResult()
    assert r.dir == str(tmp_path / "home" / "results")
    assert os.path.isdir(r.dir)
    assert r.write(1, task_name="t").location.startswith(r.dir + os.sep)


def test_local_relative_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = LocalResult(dir="rel")
    assert r.dir == str(tmp_path / "rel")
    monkeypatch.chdir("/")
    written = r.write("v", task_name="t")
    assert written.location.startswith(str(tmp_path / "rel"))


def test_local_validate_dir(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="cannot use .*file.* as the results directory"):
        LocalResult(dir=a_file)
    r = LocalResult(dir=tmp_path / "not-yet", validate_dir=False)
    assert not (tmp_path / "not-yet").exists()
    r.write(1, task_name="t")  # created on first write
    assert (tmp_path / "not-yet").is_dir()


def test_local_relative_and_absolute_locations(tmp_path: Path) -> None:
    r = LocalResult(dir=tmp_path / "d", location="sub/{task_name}.pkl")
    written = r.write({"a": 1}, task_name="t")
    assert written.location == str(tmp_path / "d" / "sub" / "t.pkl")
    assert r.read("sub/t.pkl").value == {"a": 1}
    assert r.exists("sub/{task_name}.pkl", task_name="t")
    elsewhere = tmp_path / "elsewhere" / "v.pkl"
    absolute = r.copy()
    absolute.location = str(elsewhere)
    assert absolute.write(2).location == str(elsewhere)
    assert r.read(str(elsewhere)).value == 2


def test_local_without_location_uses_a_fresh_dated_name(tmp_path: Path) -> None:
    r = LocalResult(dir=tmp_path)
    date = pendulum.datetime(2024, 5, 6, tz="UTC")
    one = r.write(1, date=date)
    two = r.write(2, date=date)
    assert one.location != two.location
    assert one.location.startswith(str(tmp_path / "2024" / "05" / "06") + os.sep)
    assert (r.read(one.location).value, r.read(two.location).value) == (1, 2)


def test_local_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no result is stored at"):
        LocalResult(dir=tmp_path).read("nothing.pkl")
    assert not LocalResult(dir=tmp_path).exists("nothing.pkl")


def test_local_a_directory_is_not_a_result(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    assert not LocalResult(dir=tmp_path).exists("adir")


def test_local_refuses_to_write_to_a_temporary_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserves for temporary files"):
        LocalResult(dir=tmp_path, location=".x.abc.headwater-tmp").write(1)


def test_local_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        written = LocalResult(dir=tmp_path, location="p.pkl").write(1)
        shared = LocalResult(dir=tmp_path, location="q.pkl", mode=0o644).write(1)
    finally:
        os.umask(old)
    assert os.stat(written.location).st_mode & 0o777 == 0o600
    assert os.stat(shared.location).st_mode & 0o777 == 0o644


def test_local_other_serializers(tmp_path: Path) -> None:
    when = pendulum.datetime(2024, 1, 2, tz="Europe/Paris")
    r = LocalResult(dir=tmp_path, location="when.txt", serializer=DateTimeSerializer())
    written = r.write(when)
    assert Path(written.location).read_text() == when.isoformat()
    assert r.read(written.location).value == when


def test_local_corrupt_file_names_location_and_serializer(tmp_path: Path) -> None:
    written = LocalResult(dir=tmp_path, location="c.pkl").write(list(range(100)))
    data = Path(written.location).read_bytes()
    Path(written.location).write_bytes(data[:10])
    with pytest.raises(ResultReadError) as info:
        LocalResult(dir=tmp_path).read("c.pkl")
    assert str(tmp_path / "c.pkl") in str(info.value)
    assert "PickleSerializer()" in str(info.value)


# -- HeadwaterResult -------------------------------------------------------------------------
def test_headwater_result_location_is_the_json() -> None:
    r = HeadwaterResult(location="{task_name}")
    assert r.serializer == JSONSerializer()
    assert r.format(task_name="x").location == "{task_name}"  # never formatted
    written = r.write({"k": [1, 2]}, task_name="x")
    assert written.location == '{"k": [1, 2]}'
    assert r.read(written.location).value == {"k": [1, 2]}
    assert r.exists(written.location)
    assert not r.exists("{task_name}", task_name="x")


def test_headwater_result_rejects_values_json_cannot_hold() -> None:
    with pytest.raises(SerializationError, match="JSONSerializer.*set"):
        HeadwaterResult().write({1, 2})


def test_headwater_result_only_takes_text_serializers() -> None:
    from headwater.engine.serializers import DateTimeSerializer

    with pytest.raises(TypeError, match="JSONSerializer or DateTimeSerializer"):
        HeadwaterResult(serializer=PickleSerializer())
    r = HeadwaterResult(serializer=DateTimeSerializer())
    with pytest.raises(TypeError):
        r.serializer = PickleSerializer()
    assert isinstance(pickle.loads(pickle.dumps(r)).serializer, DateTimeSerializer)


def test_headwater_result_bad_location() -> None:
    with pytest.raises(ResultReadError, match="HeadwaterResult could not read .*'not json'"):
        HeadwaterResult().read("not json")


# -- ConstantResult --------------------------------------------------------------------------
def test_constant_result_stores_nothing(tmp_path: Path) -> None:
    r = ConstantResult(value=42)
    assert r.read("ignored") is r
    assert r.exists("anything")
    assert ConstantResult().exists("anything")
    with pytest.raises(ValueError, match="Cannot write values to a ConstantResult"):
        r.write(7, task_name="t")
    with pytest.raises(ValueError, match="Can't pass a serializer"):
        ConstantResult(value=1, serializer=PickleSerializer())
    assert pickle.loads(pickle.dumps(r)).value == 42


def test_secret_result_takes_no_serializer() -> None:
    from headwater.tasks.secrets import HeadwaterSecret

    with pytest.raises(ValueError, match="Can't pass a serializer"):
        SecretResult(HeadwaterSecret("TOKEN"), serializer=None)


def test_local_result_in_the_home_dir_uses_its_results_folder(tmp_path: Path) -> None:
    from headwater.configuration import config

    home = os.path.abspath(os.path.expanduser(str(config.home_dir)))
    assert LocalResult(dir=config.home_dir, validate_dir=False).dir == os.path.join(home, "results")
    assert LocalResult(dir=tmp_path).dir == str(tmp_path)


# -- SecretResult ----------------------------------------------------------------------------
def test_secret_result_reads_by_running_the_task_and_never_writes() -> None:
    from headwater.tasks.secrets import HeadwaterSecret

    task = HeadwaterSecret("API_KEY")
    r = task.result
    assert isinstance(r, SecretResult)
    assert r.location == "API_KEY"
    with headwater.context(secrets={"API_KEY": "s3cr3t", "OTHER": "o"}):
        assert r.read("API_KEY").value == "s3cr3t"
        assert r.read("OTHER").value == "o"
    with pytest.raises(ValueError, match="never written"):
        r.write("s3cr3t")
    assert not r.exists("API_KEY")
    assert r.format(task_name="x").location == "API_KEY"


def test_secret_result_never_pickles_the_value() -> None:
    from headwater.tasks.secrets import HeadwaterSecret

    r = SecretResult(HeadwaterSecret("TOKEN"), value="s3cr3t")
    data = pickle.dumps(r)
    assert b"s3cr3t" not in data
    clone = pickle.loads(data)
    assert clone.value is None and clone.location == "TOKEN"
    assert "s3cr3t" not in repr(r)


# -- FSSpecResult ----------------------------------------------------------------------------
def _memory_root() -> str:
    return f"memory://fsspec-{uuid.uuid4().hex}"


def test_fsspec_relative_location_joins_the_template_directory() -> None:
    root = _memory_root()
    r = FSSpecResult(f"{root}/{{flow_name}}/{{task_name}}.pkl")
    target = r.copy()
    target.location = "targets/{task_name}-{x}.pkl"
    written = target.write(5, flow_name="etl", task_name="t", x=1)
    assert written.location == f"{root}/etl/targets/t-1.pkl"
    assert target.exists("targets/{task_name}-{x}.pkl", flow_name="etl", task_name="t", x=1)
    assert r.read(written.location).value == 5


def test_fsspec_absolute_path_stays_on_the_same_filesystem() -> None:
    root = _memory_root()
    r = FSSpecResult(f"{root}/a.pkl")
    name = f"/abs-{uuid.uuid4().hex}/v.pkl"
    absolute = r.copy()
    absolute.location = name
    written = absolute.write(1)
    assert written.location == f"memory://{name}"
    assert r.read(written.location).value == 1


def test_fsspec_file_urls_write_atomically_to_disk(tmp_path: Path) -> None:
    r = FSSpecResult(f"file://{tmp_path}/{{task_name}}.json", serializer=JSONSerializer())
    written = r.write([1, 2], task_name="t")
    assert written.location == f"file://{tmp_path}/t.json"
    assert (tmp_path / "t.json").read_text() == "[1, 2]"
    assert os.listdir(tmp_path) == ["t.json"]


def test_fsspec_plain_paths_are_local_files(tmp_path: Path) -> None:
    r = FSSpecResult(str(tmp_path / "{task_name}.pkl"))
    written = r.write("x", task_name="p")
    assert written.location == str(tmp_path / "p.pkl")
    assert r.read(written.location).value == "x"


def test_fsspec_storage_options_are_kept_and_pickled() -> None:
    r = FSSpecResult(f"{_memory_root()}/x.pkl", serializer=JSONSerializer(), anon=True)
    assert r.storage_options == {"anon": True}
    clone = pickle.loads(pickle.dumps(r))
    assert clone.storage_options == {"anon": True}
    assert clone == r


def test_fsspec_missing_and_corrupt() -> None:
    import fsspec

    root = _memory_root()
    r = FSSpecResult(f"{root}/{{task_name}}.pkl")
    with pytest.raises(FileNotFoundError, match="no result is stored at"):
        r.read(f"{root}/missing.pkl")
    fsspec.filesystem("memory").pipe_file(f"{root}/bad.pkl", b"garbage")
    assert r.exists("{task_name}.pkl", task_name="bad")
    with pytest.raises(ResultReadError, match=f"{root}/bad.pkl.*PickleSerializer"):
        r.read(f"{root}/bad.pkl")


def test_fsspec_value_and_location_keywords() -> None:
    root = _memory_root()
    r = FSSpecResult(location=f"{root}/{{task_name}}", value=3)
    assert r.url_template == f"{root}/{{task_name}}" and r.value == 3
    assert r.storage_options == {}
