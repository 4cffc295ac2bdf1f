"""Saving and loading flows: save_flow / load_flow and Flow.save / Flow.load."""

from __future__ import annotations

import json
import platform
import threading
from pathlib import Path

import pytest

import headwater
from headwater import Flow, Parameter, task
from headwater.exceptions import FlowStorageError
from headwater.storage.serialize import (
    MAGIC,
    FlowVersionWarning,
    load_flow,
    save_flow,
    slugify,
)
from headwater.utilities.configuration import set_temporary_config


@task
def double(x):
    return 2 * x


def build_flow(name="Doubler Flow"):
    with Flow(name) as flow:
        x = Parameter("x", default=4)
        double(x)
    return flow


def rewrite_header(path, **changes):
    data = Path(path).read_bytes()
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC) : end])
    header.update(changes)
    Path(path).write_bytes(MAGIC + json.dumps(header).encode() + data[end:])


def result_of(flow, name, **params):
    state = flow.run(parameters=params)
    [t] = flow.get_tasks(name=name)
    return state.result[t].result


class TestRoundTrip:
    def test_loaded_flow_runs(self, tmp_path):
        path = save_flow(build_flow(), tmp_path / "f.hwflow")
        loaded = load_flow(path)
        assert loaded.name == "Doubler Flow"
        assert result_of(loaded, "double", x=21) == 42

    def test_function_defined_locally_travels_with_the_flow(self, tmp_path):
        @task
        def shout(word):
            return word.upper() + "!"

        with Flow("local") as flow:
            shout("hi")
        loaded = load_flow(save_flow(flow, tmp_path / "local.hwflow"))
        assert result_of(loaded, "shout") == "HI!"

    def test_flow_methods_delegate(self, tmp_path):
        flow = build_flow()
        path = flow.save(str(tmp_path / "m.hwflow"))
        assert Flow.load(path).name == flow.name

    def test_default_location_and_loading_by_name(self, tmp_path):
        with set_temporary_config({"home_dir": str(tmp_path)}):
            path = save_flow(build_flow("My ETL: Daily!"))
            loaded = load_flow("My ETL: Daily!")
        assert path == str(tmp_path / "flows" / "my-etl-daily.hwflow")
        assert loaded.name == "My ETL: Daily!"

    def test_file_records_versions(self, tmp_path):
        path = save_flow(build_flow(), tmp_path / "v.hwflow")
        data = Path(path).read_bytes()
        header = json.loads(data[len(MAGIC) : data.index(b"\n", len(MAGIC))])
        assert header["headwater_version"] == headwater.__version__
        assert header["python_version"].count(".") == 2

    def test_saving_again_replaces_the_file(self, tmp_path):
        path = tmp_path / "r.hwflow"
        save_flow(build_flow("first"), path)
        save_flow(build_flow("second"), path)
        assert load_flow(path).name == "second"
        assert [p.name for p in tmp_path.iterdir()] == ["r.hwflow"]


class TestVersionMismatch:
    def test_other_headwater_version_warns(self, tmp_path):
        path = save_flow(build_flow(), tmp_path / "old.hwflow")
        rewrite_header(path, headwater_version="0.0.1")
        with pytest.warns(FlowVersionWarning, match=r"headwater 0\.0\.1 \(this is headwater"):
            loaded = load_flow(path)
        assert loaded.name == "Doubler Flow"

    def test_other_python_version_warns(self, tmp_path):
        path = save_flow(build_flow(), tmp_path / "py.hwflow")
        rewrite_header(path, python_version="3.9.1")
        with pytest.warns(FlowVersionWarning, match=r"Python 3\.9\.1"):
            load_flow(path)

    def test_unloadable_pickle_from_another_version_says_so(self, tmp_path):
        path = save_flow(build_flow(), tmp_path / "bad.hwflow")
        rewrite_header(path, headwater_version="9.9.9")
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[:-30])
        with pytest.warns(FlowVersionWarning):
            with pytest.raises(
                FlowStorageError, match=r"bad\.hwflow.*written by headwater 9\.9\.9"
            ):
                load_flow(path)


class TestBadFiles:
    def test_missing_file(self, tmp_path):
        with pytest.raises(FlowStorageError, match="nothere.hwflow.*does not exist"):
            load_flow(tmp_path / "nothere.hwflow")

    def test_unknown_flow_name(self, tmp_path):
        with set_temporary_config({"home_dir": str(tmp_path)}):
            with pytest.raises(FlowStorageError, match="no flow of that name was saved"):
                load_flow("never saved")

    def test_not_a_saved_flow(self, tmp_path):
        path = tmp_path / "notes.txt"
        path.write_text("hello")
        with pytest.raises(FlowStorageError, match=r"notes\.txt.*is not a saved headwater flow"):
            load_flow(path)

    def test_truncated_file(self, tmp_path):
        path = save_flow(build_flow(), tmp_path / "cut.hwflow")
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[:-30])
        with pytest.raises(FlowStorageError, match=r"Could not unpickle the flow in .*cut\.hwflow"):
            load_flow(path)

    def test_damaged_header(self, tmp_path):
        path = tmp_path / "h.hwflow"
        path.write_bytes(MAGIC + b"{not json\n" + b"rest")
        with pytest.raises(FlowStorageError, match=r"h\.hwflow.*damaged header"):
            load_flow(path)

    def test_pickle_of_something_else(self, tmp_path):
        import cloudpickle

        path = tmp_path / "other.hwflow"
        header = json.dumps(
            {
                "format": 1,
                "headwater_version": headwater.__version__,
                "python_version": platform.python_version(),
            }
        )
        path.write_bytes(MAGIC + header.encode() + b"\n" + cloudpickle.dumps([1, 2]))
        with pytest.raises(FlowStorageError, match="holds a list, not a Flow"):
            load_flow(path)

    def test_unpicklable_flow(self, tmp_path):
        with Flow("locked") as flow:
            double(1)
        flow.lock = threading.Lock()
        with pytest.raises(FlowStorageError, match=r"Flow 'locked' could not be pickled"):
            save_flow(flow, tmp_path / "locked.hwflow")
        assert list(tmp_path.iterdir()) == []


def test_slugify():
    assert slugify("Daily ETL (v2)") == "daily-etl-v2"
    assert slugify("Ünïcödé flow") == "unicode-flow"
    assert slugify("???") == "flow"


class Plant:
    """A pickle whose unpickling creates ``marker``: code run by whoever loads the file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def plant_flow_file(path, marker):
    """A file with a valid saved-flow header whose pickle would run code."""
    import pickle

    header = {"format": 1, "flow_name": "nightly", **headwater_versions()}
    path.write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + pickle.dumps(Plant(marker)))


def headwater_versions():
    return {
        "headwater_version": headwater.__version__,
        "python_version": platform.python_version(),
    }


class TestLoadingByName:
    @pytest.fixture
    def places(self, tmp_path, monkeypatch):
        home, cwd = tmp_path / "home", tmp_path / "cwd"
        cwd.mkdir()
        monkeypatch.chdir(cwd)
        with set_temporary_config({"home_dir": str(home)}):
            yield home, cwd, tmp_path / "PWNED"

    def test_a_bare_name_never_reads_a_file_in_the_current_directory(self, places):
        home, cwd, marker = places
        plant_flow_file(cwd / "nightly", marker)
        plant_flow_file(cwd / "nightly.hwflow", marker)
        save_flow(build_flow("nightly"))
        loaded = Flow.load("nightly")
        assert loaded.name == "nightly"
        assert not marker.exists()

    def test_a_bare_name_without_a_saved_flow_says_how_to_load_a_file(self, places):
        home, cwd, marker = places
        plant_flow_file(cwd / "nightly", marker)
        with pytest.raises(
            FlowStorageError, match=r"no flow of that name.*Flow\.load\('\./nightly'\)"
        ):
            Flow.load("nightly")
        assert not marker.exists()

    def test_a_name_with_the_suffix_is_looked_up_among_saved_flows(self, places):
        home, cwd, marker = places
        plant_flow_file(cwd / "greeter.hwflow", marker)
        save_flow(build_flow("greeter"))
        assert Flow.load("greeter.hwflow").name == "greeter"
        assert not marker.exists()

    @pytest.mark.parametrize("as_path", [lambda p: f"./{p.name}", lambda p: Path(p.name), str])
    def test_a_path_given_as_a_path_is_loaded(self, places, as_path):
        home, cwd, marker = places
        path = cwd / "mine.hwflow"
        save_flow(build_flow("mine"), path)
        assert Flow.load(as_path(path)).name == "mine"
