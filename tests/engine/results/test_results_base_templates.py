"""The Result base class, NoResult, format_kwargs and location templates."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pendulum
import pytest

import headwater
from headwater.engine.result import (
    LocationTemplateError,
    MissingTemplateKeyError,
    NoResult,
    NoResultType,
    Result,
    ResultNotImplementedError,
    ResultReadError,
    format_kwargs,
)
from headwater.engine.results import LocalResult
from headwater.engine.serializers import JSONSerializer, PickleSerializer
from headwater.engine.state import Success
from headwater.exceptions import SerializationError

DATE = pendulum.datetime(2024, 1, 2, 3, 4, 5, tz="UTC")
CONTEXT = {
    "flow_name": "etl",
    "task_name": "load",
    "task_full_name": "load[2]",
    "map_index": 2,
    "task_run_id": "tr-1",
    "date": DATE,
    "today": "2024-01-02",
    "parameters": {"region": "eu", "task_name": "param-wins-over-context"},
}


# -- base class ------------------------------------------------------------------------------
def test_defaults() -> None:
    r = Result()
    assert r.value is None and r.location is None
    assert r.serializer == PickleSerializer()
    assert Result._is_headwater_result is True


def test_path_locations_become_text() -> None:
    assert Result(location=Path("a") / "b.pkl").location == str(Path("a") / "b.pkl")


def test_base_storage_methods_are_not_implemented() -> None:
    r = Result(location="x")
    for call in (lambda: r.read("x"), lambda: r.write(1), lambda: r.exists("x")):
        with pytest.raises(ResultNotImplementedError, match="Result cannot"):
            call()
    assert issubclass(ResultNotImplementedError, NotImplementedError)


def test_state_keeps_a_result_object_as_its_holder() -> None:
    held = Result(value=5, location="somewhere")
    state = Success(result=held)
    assert state.result == 5
    assert state._result is held


def test_equality_and_repr() -> None:
    assert Result(location="a") == Result(location="a")
    assert Result(location="a") != Result(location="b")
    assert Result(location="a") != LocalResult(validate_dir=False, location="a")
    assert repr(Result(2)) == "<Result: 2>"
    assert repr(Result(location="a")) == "<Result: None, location='a'>"
    assert len(repr(Result("x" * 10_000))) < 300


def test_a_callable_location_is_formatted_into_the_location() -> None:
    def where(**fmt: object) -> str:
        return f"{fmt['task_name']}.out"

    r = Result(location=where)
    assert r.location is None and r.location_template is where
    new = r.format(task_name="t")
    assert new.location == "t.out"
    import cloudpickle

    back = cloudpickle.loads(cloudpickle.dumps(Result(1, location=where)))
    assert back == Result(1, location=where)
    assert back.format(task_name="u").location == "u.out"
    with pytest.raises(TypeError):
        hash(Result())


def test_copy_is_independent() -> None:
    r = Result(value=[1], location="{task_name}")
    c = r.copy()
    c.location = "other"
    c.value = [2]
    assert (r.location, r.value) == ("{task_name}", [1])


# -- NoResult --------------------------------------------------------------------------------
def test_no_result_is_a_singleton_that_survives_pickling_and_copying() -> None:
    assert NoResultType() is NoResult
    assert pickle.loads(pickle.dumps(NoResult)) is NoResult
    assert NoResult.copy() == NoResult
    assert NoResult.format(task_name="x") is NoResult
    assert NoResult == NoResultType()
    assert repr(NoResult) == "<No result>" and str(NoResult) == "NoResult"
    assert {NoResult: 1}[NoResult] == 1


def test_no_result_stores_nothing() -> None:
    assert NoResult.value is None and NoResult.location is None
    assert NoResult.read("x") is NoResult
    assert NoResult.exists("x") is False
    with pytest.raises(ResultNotImplementedError, match="NoResult stores nothing.*LocalResult"):
        NoResult.write(3)
    state = Success(result=NoResult)
    assert state.result is None


# -- format_kwargs ---------------------------------------------------------------------------
def test_format_kwargs_merges_context_parameters_and_inputs_in_order() -> None:
    fmt = format_kwargs(CONTEXT, {"x": 1, "region": "input-wins"})
    assert fmt["flow_name"] == "etl"
    assert fmt["task_name"] == "param-wins-over-context"
    assert fmt["region"] == "input-wins"
    assert fmt["x"] == 1
    assert fmt["date"] is DATE
    assert "x" not in CONTEXT


def test_format_kwargs_supplies_a_date_when_the_context_has_none() -> None:
    before = pendulum.now("UTC")
    fmt = format_kwargs({"task_name": "t"})
    assert isinstance(fmt["date"], pendulum.DateTime)
    assert fmt["date"] >= before
    assert fmt["today"] == fmt["date"].strftime("%Y-%m-%d")
    assert fmt["yesterday_nodash"] == fmt["date"].add(days=-1).strftime("%Y%m%d")
    assert fmt["tomorrow"] == fmt["date"].add(days=1).strftime("%Y-%m-%d")


def test_format_kwargs_reads_the_live_context_object() -> None:
    with headwater.context(task_name="from-context", parameters={"p": 1}):
        fmt = format_kwargs(headwater.context, {"i": 2})
    assert (fmt["task_name"], fmt["p"], fmt["i"]) == ("from-context", 1, 2)
    assert "date" in fmt


# -- templates -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{task_name}.pkl", "param-wins-over-context.pkl"),
        ("{flow_name}/{task_full_name}", "etl/load[2]"),
        ("{map_index:03d}", "002"),
        ("{today}/{date:%Y-%m-%d}/{date:%H%M}", "2024-01-02/2024-01-02/0304"),
        ("{date.year}-{task_run_id}", "2024-tr-1"),
        ("{region}-{x}-{value}", "eu-7-v"),
        ("literal {{braces}}", "literal {braces}"),
    ],
)
def test_templates(template: str, expected: str) -> None:
    fmt = format_kwargs(CONTEXT, {"x": 7, "value": "v"})
    assert Result(location=template).format(**fmt).location == expected


def test_callable_location_receives_the_keys() -> None:
    seen: dict[str, Any] = {}

    def where(**kw: Any) -> str:
        seen.update(kw)
        return f"{kw['flow_name']}/{kw['x']}"

    fmt = format_kwargs(CONTEXT, {"x": 7})
    assert Result(location=where).format(**fmt).location == "etl/7"
    assert seen["date"] is DATE


def test_missing_key_error_names_template_key_and_available_keys() -> None:
    with pytest.raises(MissingTemplateKeyError) as info:
        Result(location="{flow_name}/{tsk_name}.pkl").format(flow_name="etl", task_name="t")
    err = info.value
    message = str(err)
    assert "'{flow_name}/{tsk_name}.pkl'" in message
    assert "{tsk_name}" in message
    assert "task_name" in message  # the keys that were available
    assert (err.template, err.key) == ("{flow_name}/{tsk_name}.pkl", "tsk_name")
    assert isinstance(err, KeyError) and isinstance(err, LocationTemplateError)
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("template", "match"),
    [
        ("{}.pkl", "positional field"),
        ("{task_name", "could not be formatted"),
        ("{map_index:%Y}", "could not be formatted"),
        ("{task_name.nope}", "could not be formatted"),
    ],
)
def test_malformed_templates(template: str, match: str) -> None:
    with pytest.raises(LocationTemplateError, match=match) as info:
        Result(location=template).format(task_name="t", map_index=1)
    assert template in str(info.value)


def test_bad_callables() -> None:
    with pytest.raises(LocationTemplateError, match="returned None"):
        Result(location=lambda **kw: None).format(a=1)
    with pytest.raises(LocationTemplateError, match="\\*\\*kwargs"):
        Result(location=lambda: "x").format(a=1)


def test_exists_without_a_location_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocationTemplateError, match="no location"):
        LocalResult(dir=tmp_path).exists(None)  # type: ignore[arg-type]


def test_missing_template_key_on_write_stores_nothing(tmp_path: Path) -> None:
    r = LocalResult(dir=tmp_path, location="{nope}.pkl")
    with pytest.raises(MissingTemplateKeyError, match="nope"):
        r.write(1, task_name="t")
    assert list(tmp_path.iterdir()) == []


# -- read errors -----------------------------------------------------------------------------
def test_read_error_is_a_serialization_error_with_location_and_serializer(tmp_path: Path) -> None:
    written = LocalResult(dir=tmp_path, location="v.json", serializer=JSONSerializer()).write([1])
    with pytest.raises(ResultReadError) as info:
        LocalResult(dir=tmp_path).read(written.location)
    err = info.value
    assert isinstance(err, SerializationError)
    assert err.location == written.location
    assert err.serializer == PickleSerializer()
    assert repr(written.location) in str(err) and "PickleSerializer()" in str(err)


def test_no_result_is_shared_so_it_cannot_be_changed() -> None:
    with pytest.raises(AttributeError, match="cannot be changed"):
        NoResult.value = 3
    assert Success().result is None
    mine = NoResult.copy()
    mine.location = "somewhere"
    assert mine == NoResult and NoResult.location is None
    assert pickle.loads(pickle.dumps(mine)).location == "somewhere"
