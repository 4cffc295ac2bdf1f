"""``ResultContract``: the behaviour every headwater ``Result`` must have, as a pytest mixin.

Subclass it in a test module and say how to build the Result under test, either as a method::

    from headwater.engine.results import LocalResult
    from headwater.testing import ResultContract


    class TestLocalResult(ResultContract):
        def make_result(self, tmp_path):
            return LocalResult(dir=tmp_path)

or as a pytest fixture named ``make_result`` returning the Result. pytest then runs every check
below: write/read round trips, ``exists`` before and after a write, location templates and
callables, missing template keys, copies, pickling, atomic replacement of stored values and
errors on corrupt or foreign data.

Class attributes and hooks adapt the checks to a storage:

- ``supports_templates`` (default true): locations are templates formatted on write.
- ``stores_data`` (default true): values are stored somewhere the hooks below can reach.
- ``sample_value``: a value every serializer of the Result can hold (JSON-compatible).
- :meth:`ResultContract.put_bytes` / :meth:`ResultContract.list_names`: raw access to storage,
  defaulting to local files; override them for other filesystems.
- :meth:`ResultContract.corrupt_location`: store bad bytes and return where to read them.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, ClassVar

import pytest

from headwater.engine.result.base import (
    MissingTemplateKeyError,
    Result,
    ResultReadError,
    format_kwargs,
)
from headwater.engine.results._files import is_temp_name, temp_path_for
from headwater.engine.serializers import CompressedSerializer
from headwater.exceptions import SerializationError

__all__ = ["ResultContract", "Unserializable"]


class Unserializable:
    """A value no serializer can store: pickling it raises, and JSON has no form for it."""

    def __reduce__(self) -> Any:
        raise RuntimeError("this value refuses to be serialized")


def _context() -> dict[str, Any]:
    import pendulum

    date = pendulum.datetime(2024, 1, 2, 3, 4, 5, tz="UTC")
    return {
        "flow_name": "etl",
        "task_name": "load",
        "task_full_name": "load[3]",
        "map_index": 3,
        "task_run_id": "run-42",
        "date": date,
        "parameters": {"region": "eu"},
    }


class ResultContract:
    """Conformance checks for :class:`~headwater.engine.result.Result` implementations."""

    #: Whether locations are templates formatted with the run's keys on write.
    supports_templates: ClassVar[bool] = True
    #: Whether values are stored at a location the raw-access hooks can reach.
    stores_data: ClassVar[bool] = True
    #: A value every serializer of the Result under test can hold.
    sample_value: ClassVar[Any] = {"rows": [1, 2.5, "three", None, True], "name": "sample"}

    def make_result(self, tmp_path: Any) -> Result:
        """Return the Result to check, configured with a template-capable location if any."""
        raise NotImplementedError("ResultContract subclasses must implement make_result(tmp_path)")

    # -- hooks --------------------------------------------------------------------------------
    def put_bytes(self, result: Result, location: str, data: bytes) -> None:
        """Store raw ``data`` at a final ``location`` (as returned by ``write``), bypassing the Result."""
        os.makedirs(os.path.dirname(location), exist_ok=True)
        with open(location, "wb") as f:
            f.write(data)

    def list_names(self, result: Result, location: str) -> list[str]:
        """The file names in the directory holding ``location``."""
        return os.listdir(os.path.dirname(location))

    def corrupt_location(self, result: Result, written: Result, data: bytes) -> str:
        """Store ``data`` where ``written`` was stored; return the location to read it from."""
        assert isinstance(written.location, str)
        self.put_bytes(result, written.location, data)
        return written.location

    def foreign_serializer(self, result: Result) -> Any:
        """A serializer that cannot read what ``result``'s serializer wrote."""
        return CompressedSerializer(result.serializer, format="lzma")

    # -- fixtures -----------------------------------------------------------------------------
    @pytest.fixture
    def contract_result(self, request: Any, tmp_path: Any) -> Result:
        """The Result under test, from a ``make_result`` fixture or method."""
        try:
            made = request.getfixturevalue("make_result")
        except pytest.FixtureLookupError:
            made = self.make_result(tmp_path)
        if callable(made) and not isinstance(made, Result):
            made = made(tmp_path)
        assert isinstance(made, Result), f"make_result returned {made!r}, not a Result"
        return made

    @pytest.fixture
    def fmt(self) -> dict[str, Any]:
        """Format keys as the engine builds them: context, parameters, inputs."""
        return format_kwargs(_context(), {"x": 7, "value": "an input named value"})

    def _templated(self, result: Result, template: Any) -> Result:
        new = result.copy()
        new.location = template
        return new

    # -- basics -------------------------------------------------------------------------------
    def test_is_a_headwater_result(self, contract_result: Result, fmt: dict[str, Any]) -> None:
        from headwater.engine.state import Success
        from headwater.serialization.state import StateSchema

        assert isinstance(contract_result, Result)
        held = contract_result.copy()
        state = Success(result=held)
        assert state.result is held.value  # held as the state's Result, not as its value
        # serializers know it for a Result: a cached input keeps its location
        written = contract_result.write(self.sample_value, **fmt)
        dumped = StateSchema().dump(Success(cached_inputs={"x": written}))
        assert dumped["cached_inputs"]["x"]["location"] == written.location

    def test_write_then_read_round_trips(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        written = contract_result.write(self.sample_value, **fmt)
        assert isinstance(written, type(contract_result))
        assert written is not contract_result
        assert written.value == self.sample_value
        assert isinstance(written.location, str) and written.location
        back = contract_result.read(written.location)
        assert back is not contract_result
        assert back.value == self.sample_value
        assert back.location == written.location

    def test_write_leaves_the_configured_result_unchanged(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        before_location, before_value = contract_result.location, contract_result.value
        contract_result.write(self.sample_value, **fmt)
        assert contract_result.location == before_location
        assert contract_result.value == before_value

    def test_format_keys_named_value_and_location_are_allowed(
        self, contract_result: Result
    ) -> None:
        fmt = format_kwargs(_context(), {"value": 1, "location": 2, "value_": 3})
        written = contract_result.write(self.sample_value, **fmt)
        assert contract_result.read(written.location).value == self.sample_value
        assert contract_result.exists(written.location, **fmt)

    def test_state_loads_the_value_back(self, contract_result: Result, fmt: dict[str, Any]) -> None:
        from headwater.engine.state import Success

        written = contract_result.write(self.sample_value, **fmt)
        located = written.copy()
        located.value = None  # only the location is known, as after deserializing a state
        state = Success(result=located)
        assert state.result is None
        assert state.load_result().result == self.sample_value
        assert state.load_result(contract_result).result == self.sample_value

    # -- exists -------------------------------------------------------------------------------
    def test_exists_before_and_after_write(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        if self.supports_templates:
            template = "exists/{task_name}-{map_index}.out"
            res = self._templated(contract_result, template)
            assert not res.exists(template, **fmt)
            written = res.write(self.sample_value, **fmt)
            assert res.exists(template, **fmt)
            assert res.exists(written.location)
        else:
            written = contract_result.write(self.sample_value, **fmt)
            assert contract_result.exists(written.location, **fmt)

    def test_exists_is_false_for_a_missing_location(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        if self.supports_templates:
            res = self._templated(contract_result, "never/written/{task_name}.out")
            assert not res.exists("never/written/{task_name}.out", **{**fmt, "task_name": "nope"})
        else:
            assert not contract_result.exists("{ this is not stored data")

    # -- templates ----------------------------------------------------------------------------
    def test_template_is_formatted_from_context_parameters_and_inputs(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        if not self.supports_templates:
            pytest.skip("this Result's locations are not templates")
        template = "{flow_name}/{task_name}-{map_index}-{date:%Y-%m-%d}-{today}-{task_run_id}-{region}-{x}.out"
        res = self._templated(contract_result, template)
        formatted = res.format(**fmt)
        assert res.location == template
        assert formatted.location.endswith("etl/load-3-2024-01-02-2024-01-02-run-42-eu-7.out"), (
            formatted.location
        )
        written = res.write(self.sample_value, **fmt)
        assert written.location.endswith(formatted.location)
        assert res.read(written.location).value == self.sample_value

    def test_callable_location(self, contract_result: Result, fmt: dict[str, Any]) -> None:
        if not self.supports_templates:
            pytest.skip("this Result's locations are not templates")

        def where(**kw: Any) -> str:
            return f"called/{kw['task_name']}-{kw['x']}.out"

        res = self._templated(contract_result, where)
        written = res.write(self.sample_value, **fmt)
        assert written.location.endswith("called/load-7.out")
        assert res.exists(where, **fmt)
        assert res.read(written.location).value == self.sample_value

    def test_missing_template_key_names_template_and_key(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        if not self.supports_templates:
            pytest.skip("this Result's locations are not templates")
        template = "{task_name}-{no_such_key}.out"
        res = self._templated(contract_result, template)
        for call in (
            lambda: res.format(**fmt),
            lambda: res.write(self.sample_value, **fmt),
            lambda: res.exists(template, **fmt),
        ):
            with pytest.raises(MissingTemplateKeyError) as info:
                call()
            assert "no_such_key" in str(info.value)
            assert template in str(info.value)
            assert isinstance(info.value, KeyError)

    # -- copies and pickling ------------------------------------------------------------------
    def test_copy_is_independent(self, contract_result: Result) -> None:
        original_location = contract_result.location
        twin = contract_result.copy()
        assert type(twin) is type(contract_result)
        assert twin == contract_result
        twin.location = "somewhere/else.out"
        twin.value = ["changed"]
        assert contract_result.location == original_location
        assert contract_result.value != ["changed"]

    def test_result_pickles(self, contract_result: Result, fmt: dict[str, Any]) -> None:
        clone = pickle.loads(pickle.dumps(contract_result))
        assert type(clone) is type(contract_result)
        assert clone == contract_result
        written = contract_result.write(self.sample_value, **fmt)
        assert clone.read(written.location).value == self.sample_value
        written_clone = pickle.loads(pickle.dumps(written))
        assert written_clone.location == written.location
        assert written_clone.value == self.sample_value

    def test_result_with_callable_location_pickles_with_cloudpickle(
        self, contract_result: Result
    ) -> None:
        import cloudpickle

        res = self._templated(contract_result, lambda **kw: f"cp/{kw['task_name']}.out")
        clone = cloudpickle.loads(cloudpickle.dumps(res))
        assert callable(clone.location)

    # -- atomicity ----------------------------------------------------------------------------
    def test_overwrite_replaces_the_whole_value(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        if not self.stores_data:
            pytest.skip("this Result stores nothing")
        big = {"rows": list(range(20_000))}
        first = contract_result.write(big, **fmt)
        again = contract_result.copy()
        again.location = first.location
        second = again.write(self.sample_value, **fmt)
        assert second.location == first.location
        assert contract_result.read(first.location).value == self.sample_value

    def test_write_leaves_no_temporary_files(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        if not self.stores_data:
            pytest.skip("this Result stores nothing")
        written = contract_result.write(self.sample_value, **fmt)
        names = self.list_names(contract_result, written.location)
        assert os.path.basename(written.location) in names
        assert not [n for n in names if is_temp_name(n)], names

    def test_failed_serialization_keeps_the_previous_value(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        written = contract_result.write(self.sample_value, **fmt)
        again = contract_result.copy()
        again.location = written.location
        with pytest.raises(SerializationError):
            again.write(Unserializable(), **fmt)
        assert contract_result.read(written.location).value == self.sample_value
        if self.stores_data:
            names = self.list_names(contract_result, written.location)
            assert not [n for n in names if is_temp_name(n)], names

    def test_a_temporary_file_is_not_a_result(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        if not self.stores_data:
            pytest.skip("this Result stores nothing")
        written = contract_result.write(self.sample_value, **fmt)
        target = written.location.rsplit(".", 1)[0] + "-only-temp.out"
        tmp = temp_path_for(target)
        self.put_bytes(contract_result, tmp, contract_result.serializer.serialize(1))
        assert not contract_result.exists(target)
        with pytest.raises(FileNotFoundError):
            contract_result.read(target)

    # -- corrupt and foreign data -------------------------------------------------------------
    def _assert_read_error(self, result: Result, location: str) -> None:
        with pytest.raises(ResultReadError) as info:
            result.read(location)
        err = info.value
        assert isinstance(err, SerializationError)
        message = str(err)
        assert type(result.serializer).__name__ in message, message
        assert err.location is not None
        assert repr(str(err.location))[:40] in message, message

    def test_garbage_data_raises_a_read_error(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        written = contract_result.write(self.sample_value, **fmt)
        location = self.corrupt_location(
            contract_result, written, b"\x80\x04\x95 not a stored value \xff\x00{"
        )
        self._assert_read_error(contract_result, location)

    def test_truncated_data_raises_a_read_error(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        written = contract_result.write(self.sample_value, **fmt)
        data = contract_result.serializer.serialize(self.sample_value)
        location = self.corrupt_location(contract_result, written, data[: len(data) // 2])
        self._assert_read_error(contract_result, location)

    def test_data_from_another_serializer_raises_a_read_error(
        self, contract_result: Result, fmt: dict[str, Any]
    ) -> None:
        written = contract_result.write(self.sample_value, **fmt)
        foreign = contract_result.copy()
        foreign.serializer = self.foreign_serializer(contract_result)
        self._assert_read_error(foreign, written.location)
