"""Serializers: round trips, equality, configuration errors and deserialization failures."""

from __future__ import annotations

import datetime
import decimal
import json
import pickle
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.engine.serializers import (
    CompressedSerializer,
    DateTimeSerializer,
    JSONSerializer,
    PandasSerializer,
    PickleSerializer,
    Serializer,
)
from headwater.exceptions import SerializationError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


class DecimalEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return {"__decimal__": str(o)}
        return super().default(o)


def decimal_hook(d: dict) -> Any:
    return decimal.Decimal(d["__decimal__"]) if "__decimal__" in d else d


# -- base ------------------------------------------------------------------------------------
def test_base_serializer_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Serializer().serialize(1)
    with pytest.raises(NotImplementedError):
        Serializer().deserialize(b"1")


def test_equality_goes_by_type_and_configuration() -> None:
    assert PickleSerializer() == PickleSerializer()
    assert JSONSerializer() == JSONSerializer()
    assert PickleSerializer() != JSONSerializer()
    assert JSONSerializer(dumps_kwargs={"sort_keys": True}) != JSONSerializer()
    assert CompressedSerializer(PickleSerializer(), format="gzip") == CompressedSerializer(
        PickleSerializer(), format="gzip"
    )
    assert CompressedSerializer(PickleSerializer(), format="gzip") != CompressedSerializer(
        PickleSerializer(), format="bz2"
    )
    import bz2

    assert CompressedSerializer(PickleSerializer(), format="bz2") == CompressedSerializer(
        PickleSerializer(), compress=bz2.compress, decompress=bz2.decompress
    )
    assert PandasSerializer("csv") != PandasSerializer("json")
    assert len({PickleSerializer(), PickleSerializer(), JSONSerializer()}) == 2


@pytest.mark.parametrize(
    "serializer",
    [
        PickleSerializer(),
        JSONSerializer(),
        DateTimeSerializer(),
        CompressedSerializer(JSONSerializer(), format="lzma"),
        PandasSerializer("csv", serialize_kwargs={"index": False}),
    ],
    ids=repr,
)
def test_serializers_pickle(serializer: Serializer) -> None:
    assert pickle.loads(pickle.dumps(serializer)) == serializer


# -- pickle ----------------------------------------------------------------------------------
def test_pickle_round_trips_functions_and_objects() -> None:
    s = PickleSerializer()
    double = lambda x: x * 2  # noqa: E731 - lambdas pickle by value with cloudpickle
    out = s.deserialize(s.serialize({"f": double, "when": datetime.date(2024, 1, 2)}))
    assert out["f"](21) == 42
    assert out["when"] == datetime.date(2024, 1, 2)


@given(json_values)
def test_pickle_round_trip_property(value: Any) -> None:
    s = PickleSerializer()
    assert s.deserialize(s.serialize(value)) == value


def test_pickle_garbage_names_the_serializer() -> None:
    with pytest.raises(SerializationError, match=r"PickleSerializer\(\) could not deserialize"):
        PickleSerializer().deserialize(b"definitely not a pickle")


def test_pickle_unpicklable_value() -> None:
    import threading

    with pytest.raises(SerializationError, match="PickleSerializer.*could not serialize.*lock"):
        PickleSerializer().serialize(threading.Lock())


# -- json ------------------------------------------------------------------------------------
@given(json_values)
def test_json_round_trip_property(value: Any) -> None:
    s = JSONSerializer()
    assert s.deserialize(s.serialize(value)) == value


def test_json_bytes_are_utf8_text() -> None:
    assert JSONSerializer().serialize({"é": 1}) == b'{"\\u00e9": 1}'
    assert JSONSerializer(dumps_kwargs={"ensure_ascii": False}).serialize("é") == '"é"'.encode()


def test_json_custom_encoder_and_decoder() -> None:
    s = JSONSerializer(encoder_cls=DecimalEncoder, loads_kwargs={"object_hook": decimal_hook})
    value = {"price": decimal.Decimal("1.10")}
    assert s.deserialize(s.serialize(value)) == value
    assert "encoder_cls=DecimalEncoder" in repr(s)


def test_json_rejects_what_it_cannot_encode() -> None:
    with pytest.raises(SerializationError, match="JSONSerializer.*could not serialize.*Decimal"):
        JSONSerializer().serialize(decimal.Decimal("1"))


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe\x00", b""])
def test_json_bad_data(data: bytes) -> None:
    with pytest.raises(SerializationError, match="JSONSerializer"):
        JSONSerializer().deserialize(data)


# -- datetime --------------------------------------------------------------------------------
def test_datetime_round_trip_keeps_the_offset() -> None:
    s = DateTimeSerializer()
    when = pendulum.datetime(2024, 3, 10, 1, 30, tz="America/New_York")
    out = s.deserialize(s.serialize(when))
    assert isinstance(out, pendulum.DateTime)
    assert out == when
    assert out.utcoffset() == when.utcoffset()


def test_datetime_accepts_stdlib_datetimes() -> None:
    s = DateTimeSerializer()
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert s.deserialize(s.serialize(when)) == when


def test_datetime_rejects_other_values_and_bad_text() -> None:
    with pytest.raises(SerializationError, match="DateTimeSerializer.*expected a datetime"):
        DateTimeSerializer().serialize("2024-01-02")
    with pytest.raises(SerializationError, match="DateTimeSerializer"):
        DateTimeSerializer().deserialize(b"the day after tomorrow")
    with pytest.raises(SerializationError, match="not a datetime"):
        DateTimeSerializer().deserialize(b"P1D")


# -- compressed ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["bz2", "gzip", "lzma", "zlib"])
def test_compressed_round_trip(fmt: str) -> None:
    s = CompressedSerializer(PickleSerializer(), format=fmt)
    value = {"rows": list(range(1000)) * 5}
    data = s.serialize(value)
    assert len(data) < len(PickleSerializer().serialize(value))
    assert s.deserialize(data) == value


def test_compressed_kwargs_reach_the_compressor() -> None:
    fast = CompressedSerializer(PickleSerializer(), format="zlib", compress_kwargs={"level": 0})
    best = CompressedSerializer(PickleSerializer(), format="zlib", compress_kwargs={"level": 9})
    value = "abc" * 10_000
    assert len(fast.serialize(value)) > len(best.serialize(value))
    assert fast.deserialize(best.serialize(value)) == value


def test_compressed_custom_functions() -> None:
    import zlib

    s = CompressedSerializer(JSONSerializer(), compress=zlib.compress, decompress=zlib.decompress)
    assert s.deserialize(s.serialize([1, 2])) == [1, 2]


def test_compressed_configuration_errors() -> None:
    import zlib

    with pytest.raises(ImportError, match="'zip' is not installed"):
        CompressedSerializer(PickleSerializer(), format="zip")
    with pytest.raises(ValueError, match="'json' module does not have 'compress'"):
        CompressedSerializer(PickleSerializer(), format="json")
    with pytest.raises(ValueError, match="format="):
        CompressedSerializer(PickleSerializer())
    with pytest.raises(ValueError, match="not both"):
        CompressedSerializer(
            PickleSerializer(), format="gzip", compress=zlib.compress, decompress=zlib.decompress
        )
    with pytest.raises(ValueError, match="both compress= and decompress="):
        CompressedSerializer(PickleSerializer(), compress=zlib.compress)
    with pytest.raises(TypeError, match="needs a Serializer"):
        CompressedSerializer("pickle")  # type: ignore[arg-type]


def test_compressed_bad_data_names_the_serializer_and_format() -> None:
    s = CompressedSerializer(PickleSerializer(), format="gzip")
    with pytest.raises(
        SerializationError, match=r"CompressedSerializer\(PickleSerializer\(\), format='gzip'\)"
    ):
        s.deserialize(PickleSerializer().serialize(1))
    with pytest.raises(SerializationError):
        s.deserialize(s.serialize("x" * 1000)[:-8])


def test_compressed_inner_failure_is_reported() -> None:
    s = CompressedSerializer(JSONSerializer(), format="bz2")
    import bz2

    with pytest.raises(SerializationError, match="JSONSerializer"):
        s.deserialize(bz2.compress(b"{oops"))


def test_serializers_module_does_not_import_pandas() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from headwater.engine.serializers import PandasSerializer\n"
        "from headwater.engine.results import FSSpecResult, LocalResult\n"
        "PandasSerializer('csv'); FSSpecResult('memory://x/{a}')\n"
        "print('pandas' in sys.modules, 'fsspec' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_pickle_read_errors_are_unpickling_errors_too() -> None:
    import pickle

    with pytest.raises(pickle.UnpicklingError, match="stack underflow") as info:
        PickleSerializer().deserialize(b"bad-bytes")
    assert isinstance(info.value, SerializationError)


def test_base64_encoded_pickles_are_read() -> None:
    import base64

    import cloudpickle

    data = base64.b64encode(cloudpickle.dumps({"a": [1, 2]}))
    assert PickleSerializer().deserialize(data) == {"a": [1, 2]}
