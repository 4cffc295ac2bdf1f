"""``Local`` storage and extracting flows from files and modules."""

from __future__ import annotations

import textwrap

import pytest

from headwater import Flow, task
from headwater.exceptions import FlowStorageError
from headwater.storage import Local, Storage
from headwater.utilities.configuration import set_temporary_config
from headwater.utilities.storage import extract_flow_from_file, extract_flow_from_module


@task
def one():
    return 1


def make(name):
    with Flow(name) as flow:
        one()
    return flow


class TestLocal:
    def test_add_get_contains(self, tmp_path):
        storage = Local(directory=str(tmp_path))
        location = storage.add_flow(make("first flow"))
        assert location == str(tmp_path / "first-flow.hwflow")
        assert "first flow" in storage
        assert make("first flow") in storage
        assert "other" not in storage
        assert 42 not in storage
        loaded = storage.get_flow("first flow")
        assert loaded.name == "first flow"
        assert loaded.run().is_successful()

    def test_is_a_storage(self, tmp_path):
        assert isinstance(Local(directory=str(tmp_path)), Storage)

    def test_name_conflict(self, tmp_path):
        storage = Local(directory=str(tmp_path))
        storage.add_flow(make("dup"))
        with pytest.raises(ValueError, match="a flow named 'dup' is already in this storage"):
            storage.add_flow(make("dup"))

    def test_unknown_flow(self, tmp_path):
        storage = Local(directory=str(tmp_path))
        storage.add_flow(make("known"))
        with pytest.raises(
            ValueError, match=r"Flow 'missing' is not in this storage \(it holds: 'known'\)"
        ):
            storage.get_flow("missing")

    def test_build_checks_the_files(self, tmp_path):
        storage = Local(directory=str(tmp_path))
        location = storage.add_flow(make("built"))
        assert storage.build() is storage
        (tmp_path / "built.hwflow").unlink()
        with pytest.raises(FlowStorageError, match=f"{location}.*does not exist"):
            storage.build()

    def test_default_directory_is_under_home_dir(self, tmp_path):
        with set_temporary_config({"home_dir": str(tmp_path)}):
            storage = Local()
        assert storage.directory == str(tmp_path / "flows")

    def test_relative_directory_is_rejected(self):
        with pytest.raises(ValueError, match="absolute directory, got 'relative/dir'"):
            Local(directory="relative/dir")

    def test_stored_as_script(self, tmp_path):
        script = tmp_path / "script_flow.py"
        script.write_text("from headwater import Flow\nflow = Flow('scripted')\n")
        storage = Local(directory=str(tmp_path), path=str(script), stored_as_script=True)
        assert storage.add_flow(make("scripted")) == str(script)
        assert storage.get_flow("scripted").name == "scripted"

    def test_stored_as_script_needs_a_path(self):
        with pytest.raises(ValueError, match="needs the script's path"):
            Local(stored_as_script=True)


SCRIPT = """
from headwater import Flow, task

@task
def add(x, y):
    return x + y

with Flow("adder") as flow:
    add(1, 2)

if __name__ == "__main__":
    raise SystemExit("the script's main block must not run")
"""


class TestExtractFromFile:
    def test_from_path(self, tmp_path):
        path = tmp_path / "adder.py"
        path.write_text(SCRIPT)
        flow = extract_flow_from_file(file_path=str(path))
        assert flow.name == "adder"
        state = flow.run()
        assert [s.result for s in state.result.values()] == [3]

    def test_from_contents(self):
        assert extract_flow_from_file(file_contents=SCRIPT).name == "adder"

    def test_several_flows_need_a_name(self):
        text = "from headwater import Flow\na = Flow('a')\nb = Flow('b')\nalias = a\n"
        with pytest.raises(
            ValueError, match=r"several flows \('a', 'b'\); choose one with flow_name"
        ):
            extract_flow_from_file(file_contents=text)
        assert extract_flow_from_file(file_contents=text, flow_name="b").name == "b"

    def test_wrong_name(self):
        with pytest.raises(ValueError, match=r"No flow named 'zzz' .*flows found: 'adder'"):
            extract_flow_from_file(file_contents=SCRIPT, flow_name="zzz")

    def test_no_flow(self, tmp_path):
        path = tmp_path / "empty.py"
        path.write_text("x = 1\n")
        with pytest.raises(ValueError, match=r"No flow found in '.*empty\.py'"):
            extract_flow_from_file(file_path=path)

    def test_needs_exactly_one_source(self):
        with pytest.raises(ValueError, match="exactly one of file_path or file_contents"):
            extract_flow_from_file()
        with pytest.raises(ValueError, match="exactly one of file_path or file_contents"):
            extract_flow_from_file(file_path="x.py", file_contents="")

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="nope.py' does not exist"):
            extract_flow_from_file(file_path=str(tmp_path / "nope.py"))

    def test_script_can_import_its_neighbours(self, tmp_path):
        (tmp_path / "helpers_for_extract_test.py").write_text("VALUE = 7\n")
        path = tmp_path / "uses_helper.py"
        path.write_text(
            textwrap.dedent(
                """
                from helpers_for_extract_test import VALUE
                from headwater import Flow
                flow = Flow(f"helper-{VALUE}")
                """
            )
        )
        assert extract_flow_from_file(file_path=str(path)).name == "helper-7"


class TestExtractFromModule:
    def write_module(self, tmp_path, monkeypatch, name, body):
        (tmp_path / f"{name}.py").write_text(body)
        monkeypatch.syspath_prepend(str(tmp_path))

    def test_module_with_one_flow(self, tmp_path, monkeypatch):
        self.write_module(tmp_path, monkeypatch, "hw_mod_single", SCRIPT.split("if __name__")[0])
        assert extract_flow_from_module("hw_mod_single").name == "adder"

    def test_attribute(self, tmp_path, monkeypatch):
        body = (
            "from headwater import Flow\nclass NS:\n    flow = Flow('inner')\n"
            "other = Flow('other')\nanother = Flow('another')\n"
        )
        self.write_module(tmp_path, monkeypatch, "hw_mod_attr", body)
        assert extract_flow_from_module("hw_mod_attr:NS.flow").name == "inner"
        with pytest.raises(ValueError, match="several flows"):
            extract_flow_from_module("hw_mod_attr")
        assert extract_flow_from_module("hw_mod_attr", flow_name="other").name == "other"

    def test_attribute_errors(self, tmp_path, monkeypatch):
        body = "from headwater import Flow\nflow = Flow('f')\nnumber = 3\n"
        self.write_module(tmp_path, monkeypatch, "hw_mod_errors", body)
        with pytest.raises(AttributeError, match="has no attribute 'missing'"):
            extract_flow_from_module("hw_mod_errors:missing")
        with pytest.raises(ValueError, match="is a int, not a Flow"):
            extract_flow_from_module("hw_mod_errors:number")
        with pytest.raises(ValueError, match="is flow 'f', not 'g'"):
            extract_flow_from_module("hw_mod_errors:flow", flow_name="g")

    def test_missing_module(self):
        with pytest.raises(ModuleNotFoundError):
            extract_flow_from_module("hw_no_such_module_anywhere")
