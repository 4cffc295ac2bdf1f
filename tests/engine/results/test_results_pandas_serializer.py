"""PandasSerializer with real pandas (pyarrow-backed formats run when pyarrow is installed)."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.engine.serializers import PandasSerializer
from headwater.exceptions import SerializationError

pd = pytest.importorskip("pandas")


def _frame() -> Any:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, None]})


@pytest.mark.parametrize(
    ("file_type", "ser", "de"),
    [
        ("csv", {"index": False}, {}),
        ("json", {"orient": "records"}, {"orient": "records"}),
        ("pickle", {}, {}),
        ("stata", {"write_index": False}, {}),
    ],
)
def test_pandas_round_trip(file_type: str, ser: dict, de: dict) -> None:
    s = PandasSerializer(file_type, deserialize_kwargs=de, serialize_kwargs=ser)
    out = s.deserialize(s.serialize(_frame()))
    pd.testing.assert_frame_equal(out, _frame(), check_dtype=False)


@pytest.mark.parametrize("file_type", ["parquet", "feather"])
def test_pandas_columnar_formats(file_type: str) -> None:
    pytest.importorskip("pyarrow")
    s = PandasSerializer(file_type)
    pd.testing.assert_frame_equal(s.deserialize(s.serialize(_frame())), _frame())


def test_pandas_parquet_without_an_engine_fails_clearly() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("a parquet engine is installed")
    try:
        import fastparquet  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("a parquet engine is installed")
    with pytest.raises(
        SerializationError, match="PandasSerializer\\('parquet'\\).*could not serialize"
    ):
        PandasSerializer("parquet").serialize(_frame())


def test_pandas_csv_defaults_keep_the_index_as_a_column() -> None:
    s = PandasSerializer("csv", deserialize_kwargs={"index_col": 0})
    pd.testing.assert_frame_equal(s.deserialize(s.serialize(_frame())), _frame())


def test_pandas_unknown_file_type() -> None:
    with pytest.raises(ValueError, match="unsupported file_type 'xlsx'.*csv"):
        PandasSerializer("xlsx")


def test_pandas_rejects_non_frames_and_bad_data() -> None:
    with pytest.raises(SerializationError, match="expected a pandas DataFrame"):
        PandasSerializer("csv").serialize([1, 2, 3])
    with pytest.raises(SerializationError, match="PandasSerializer\\('pickle'\\)"):
        PandasSerializer("pickle").deserialize(b"not a pickle")
    with pytest.raises(SerializationError, match="PandasSerializer\\('json'\\)"):
        PandasSerializer("json").deserialize(b"[{oops")
