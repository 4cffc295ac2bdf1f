"""Persisted results: storage, serializers, storage key templates, reading them back."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from headwater.engine.results import LocalResult
from headwater.engine.serializers import CompressedSerializer, JSONSerializer, PickleSerializer
from headwater.filesystems import LocalFileSystem
from headwater.modern import results
from headwater.modern.options import TaskOptions


def report(x):
    return {"x": x}


def opts(**kw):
    return TaskOptions(name="report", fn=report, **kw)


@pytest.fixture(autouse=True)
def _home(headwater_home):
    return headwater_home


class TestWhere:
    def test_default_is_home_storage(self, headwater_home):
        assert results.storage_dir(None) == str(headwater_home / "storage")

    def test_path_local_file_system_saved_block_and_local_result(self, tmp_path):
        assert results.storage_dir(str(tmp_path)) == str(tmp_path)
        assert results.storage_dir(tmp_path) == str(tmp_path)
        assert results.storage_dir(LocalFileSystem(basepath=str(tmp_path))) == str(tmp_path)
        LocalFileSystem(basepath=str(tmp_path / "b")).save("my-results")
        assert results.storage_dir("local-file-system/my-results") == str(tmp_path / "b")
        assert results.storage_dir(LocalResult(dir=str(tmp_path / "r"))) == str(tmp_path / "r")

    def test_other_storage_is_refused_with_the_local_alternative(self):
        with pytest.raises(TypeError, match="LocalFileSystem"):
            results.storage_dir(42)

    def test_keys_must_stay_inside_the_storage(self, tmp_path):
        for key in ("../escape", "/etc/passwd", ""):
            with pytest.raises(ValueError, match="storage key"):
                results.record_path(str(tmp_path), key)


class TestHow:
    @pytest.mark.parametrize(
        ("name", "cls"),
        [
            ("pickle", PickleSerializer),
            ("json", JSONSerializer),
            ("compressed/json", CompressedSerializer),
        ],
    )
    def test_serializer_names(self, name, cls):
        assert isinstance(results.resolve_serializer(name)[1], cls)

    def test_default_pickle_and_local_result_lends_its_serializer(self, tmp_path):
        assert results.resolve_serializer(None)[0] == "pickle"
        lent = LocalResult(dir=str(tmp_path), serializer=JSONSerializer())
        assert isinstance(results.resolve_serializer(None, lent)[1], JSONSerializer)

    def test_bad_serializers(self):
        with pytest.raises(ValueError, match="Unknown result_serializer 'yaml'"):
            results.resolve_serializer("yaml")
        with pytest.raises(TypeError, match="result_serializer must be"):
            results.resolve_serializer(3)

    @pytest.mark.parametrize("serializer", ["pickle", "json", "compressed/pickle"])
    def test_round_trip(self, tmp_path, serializer):
        options = opts(result_storage=str(tmp_path), result_serializer=serializer)
        path = results.persist(options, {"rows": [1, 2]}, default_key="k")
        assert path == str(tmp_path / "k")
        assert results.read_result("k", result_storage=str(tmp_path)) == {"rows": [1, 2]}

    def test_custom_serializer_instance(self, tmp_path):
        serializer = CompressedSerializer(JSONSerializer(), format="bz2")
        options = opts(result_storage=str(tmp_path), result_serializer=serializer)
        results.persist(options, [1, 2, 3], default_key="k")
        with pytest.raises(ValueError, match="could not be read"):
            results.read_result("k", result_storage=str(tmp_path))
        assert results.read_result("k", str(tmp_path), serializer=serializer) == [1, 2, 3]


class TestPersist:
    def test_should_persist_rules(self):
        assert not results.should_persist(opts(), None)
        assert results.should_persist(opts(), True)
        assert not results.should_persist(opts(persist_result=False), True)
        assert results.should_persist(opts(result_storage_key="x"), None)
        assert results.should_persist(opts(result_serializer="json"), None)
        assert results.should_persist(opts(result_storage="/tmp"), None)
        from headwater.cache_policies import INPUTS, NO_CACHE

        assert results.should_persist(opts(cache_policy=INPUTS), None)
        assert not results.should_persist(opts(cache_policy=NO_CACHE), None)

    def test_persist_by_default_setting(self):
        from headwater.utilities.configuration import set_temporary_config

        with set_temporary_config({"results.persist_by_default": True}):
            assert results.should_persist(opts(), None)

    def test_template_from_inputs(self, tmp_path):
        options = opts(result_storage=str(tmp_path), result_storage_key="by-x/{parameters[x]}.pkl")
        path = results.persist(options, 1, default_key="k", inputs={"x": "eu"})
        assert path == str(tmp_path / "by-x" / "eu.pkl")

    def test_bad_template_names_the_field(self):
        options = opts(result_storage_key="{parameters[missing]}")
        with pytest.raises(ValueError, match=r"result_storage_key '\{parameters\[missing\]\}'"):
            results.persist(options, 1, default_key="k", inputs={"x": 1})

    def test_unserializable_value_warns(self):
        with pytest.warns(results.ResultWarning, match="not persisted"):
            assert results.persist(opts(), threading.Lock(), default_key="k") is None

    def test_missing_result(self):
        with pytest.raises(FileNotFoundError, match="No result is stored"):
            results.read_result("nothing-here")


READER = """
import sys
from headwater.modern.results import read_result
print(read_result(sys.argv[1], result_storage=sys.argv[2]))
"""


class TestWithFlows:
    def test_templates_read_the_run_and_a_second_process_reads_the_result(self, tmp_path):
        from headwater import flow, task

        @task(
            persist_result=True,
            result_storage=str(tmp_path),
            result_storage_key="{task_run.task_name}-{parameters[n]}",
        )
        def square(n):
            return n * n

        @flow
        def squares():
            return square(4)

        assert squares() == 16
        assert (tmp_path / "square-4").is_file()
        out = subprocess.run(
            [sys.executable, "-c", READER, "square-4", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "16"

    def test_flow_result_persisted_to_home_storage(self, headwater_home):
        from headwater import flow

        @flow(persist_result=True)
        def answer():
            return 42

        state = answer(return_state=True)
        stored = list((headwater_home / "storage").iterdir())
        assert len(stored) == 1
        assert results.read_result(stored[0].name) == 42 == state.result()
