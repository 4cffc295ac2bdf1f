"""Stable hashing: hashes of values and of task code that are the same in every process.

Python's ``hash()`` changes between processes; the persistent cache and ``{task_hash}`` targets
need hashes that do not. :func:`stable_hash` feeds a canonical, type-tagged encoding of a value
into SHA-256, so equal values of the same type hash equal everywhere::

    from headwater.engine.caching.hashing import stable_hash

    assert stable_hash({"a": [1, 2]}) == stable_hash({"a": [1, 2]})
    assert stable_hash(1) != stable_hash(1.0) != stable_hash("1")

Supported: numbers, strings, bytes, ``None``, lists, tuples, sets and dicts of them, dates, times
and timedeltas, decimals, fractions, UUIDs, paths, enums, dataclasses, and (when their library is
loaded) numpy arrays, pandas objects and pydantic models. Anything else raises
:class:`UnhashableInputError` naming where the value sits. :func:`code_hash` hashes the source of a
task's run function (its bytecode when the source is not available).

:func:`input_token` is the token of one task input kept in ``Cached.hashed_inputs``: its stable
hash, so the tokens are the same in every process and need no dask; only a value without a
stable hash falls back to dask's ``tokenize``, when dask is installed.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import hashlib
import inspect
import pathlib
import struct
import sys
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.task import Task

__all__ = [
    "UnhashableInputError",
    "code_hash",
    "combine_hashes",
    "dask_token",
    "hash_inputs",
    "input_token",
    "stable_hash",
]


class UnhashableInputError(TypeError):
    """A value has no stable hash; ``path`` names where it sits (e.g. ``"x[2]['a']"``)."""

    def __init__(self, path: str, value: Any) -> None:
        self.path = path
        self.type_name = type(value).__qualname__
        super().__init__(f"{path} (a {self.type_name}) has no stable hash")


def _len(n: int) -> bytes:
    return struct.pack(">Q", n)


def _feed(h: Any, obj: Any, path: str) -> None:
    """Feed a canonical, type-tagged encoding of ``obj`` into the hash ``h``."""
    exact = _EXACT.get(type(obj))
    if exact is not None:
        exact(h, obj, path)
        return
    for types, feed in _BY_ISINSTANCE:
        if isinstance(obj, types):
            feed(h, obj, path)
            return
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        _feed_dataclass(h, obj, path)
    elif not _feed_optional(h, obj, path):
        raise UnhashableInputError(path, obj)


# -- one encoder per supported type (each starts with its own tag) ---------------------------
def _feed_none(h: Any, obj: Any, path: str) -> None:
    h.update(b"N")


def _feed_bool(h: Any, obj: bool, path: str) -> None:
    h.update(b"B1" if obj else b"B0")


def _feed_int(h: Any, obj: int, path: str) -> None:
    s = str(obj).encode()
    h.update(b"I" + _len(len(s)) + s)


def _feed_float(h: Any, obj: float, path: str) -> None:
    h.update(b"F" + obj.hex().encode() + b";")


def _feed_complex(h: Any, obj: complex, path: str) -> None:
    h.update(b"C" + obj.real.hex().encode() + b"," + obj.imag.hex().encode() + b";")


def _feed_str(h: Any, obj: str, path: str) -> None:
    b = obj.encode("utf-8", "surrogatepass")
    h.update(b"S" + _len(len(b)) + b)


def _feed_bytes(h: Any, obj: Any, path: str) -> None:
    b = bytes(obj)
    h.update(b"Y" + _len(len(b)) + b)


def _feed_sequence(h: Any, obj: Any, path: str) -> None:
    h.update((b"L" if type(obj) is list else b"T") + _len(len(obj)))
    for i, item in enumerate(obj):
        _feed(h, item, f"{path}[{i}]")


def _feed_dict(h: Any, obj: dict[Any, Any], path: str) -> None:
    pairs = []
    for k, v in obj.items():
        kh = hashlib.sha256()
        _feed(kh, k, f"{path} key {k!r}")
        vh = hashlib.sha256()
        _feed(vh, v, f"{path}[{k!r}]")
        pairs.append(kh.digest() + vh.digest())
    h.update(b"D" + _len(len(pairs)) + b"".join(sorted(pairs)))


def _feed_set(h: Any, obj: Any, path: str) -> None:
    digests = []
    for item in obj:
        ih = hashlib.sha256()
        _feed(ih, item, f"{path} item {item!r}")
        digests.append(ih.digest())
    h.update(b"E" + _len(len(digests)) + b"".join(sorted(digests)))


def _feed_iso(tag: bytes) -> Any:
    def feed(h: Any, obj: Any, path: str) -> None:
        h.update(tag + obj.isoformat().encode() + b";")

    return feed


def _feed_timedelta(h: Any, obj: datetime.timedelta, path: str) -> None:
    h.update(b"TD" + f"{obj.days},{obj.seconds},{obj.microseconds};".encode())


def _feed_by_str(h: Any, obj: Any, path: str) -> None:
    h.update(b"O" + _qualname(type(obj)) + str(obj).encode() + b";")


def _feed_enum(h: Any, obj: enum.Enum, path: str) -> None:
    h.update(b"EN" + _qualname(type(obj)))
    _feed(h, obj.value, f"{path}.value")


def _feed_subclass(h: Any, obj: Any, path: str) -> None:
    """Subclasses of the built-in types (namedtuples, OrderedDict...): type, then content."""
    h.update(b"SUB" + _qualname(type(obj)))
    base = next(b for b in (bool, int, float, str, bytes, tuple, list, dict) if isinstance(obj, b))
    _feed(h, base(obj) if base is not dict else dict(obj.items()), path)


def _feed_dataclass(h: Any, obj: Any, path: str) -> None:
    h.update(b"DC" + _qualname(type(obj)))
    for f in dataclasses.fields(obj):
        _feed(h, f.name, path)
        _feed(h, getattr(obj, f.name), f"{path}.{f.name}")


_EXACT: dict[type, Callable[[Any, Any, str], None]] = {
    type(None): _feed_none,
    bool: _feed_bool,
    int: _feed_int,
    float: _feed_float,
    complex: _feed_complex,
    str: _feed_str,
    bytes: _feed_bytes,
    bytearray: _feed_bytes,
    memoryview: _feed_bytes,
    list: _feed_sequence,
    tuple: _feed_sequence,
    dict: _feed_dict,
    set: _feed_set,
    frozenset: _feed_set,
}
"""The encoder of each built-in type, by exact type."""

# checked in order for other types (datetime before date: a datetime is a date)
_BY_ISINSTANCE: tuple[tuple[Any, Callable[[Any, Any, str], None]], ...] = (
    (datetime.datetime, _feed_iso(b"DT")),
    (datetime.date, _feed_iso(b"DA")),
    (datetime.time, _feed_iso(b"TI")),
    (datetime.timedelta, _feed_timedelta),
    (decimal.Decimal | fractions.Fraction | uuid.UUID | pathlib.PurePath, _feed_by_str),
    (enum.Enum, _feed_enum),
    (list | tuple | dict | str | int | float | bytes, _feed_subclass),
)


def _qualname(t: type) -> bytes:
    q = f"{t.__module__}.{t.__qualname__}".encode()
    return _len(len(q)) + q


def _feed_optional(h: Any, obj: Any, path: str) -> bool:
    """numpy, pandas and pydantic values, recognised only when their library is loaded."""
    np = sys.modules.get("numpy")
    if np is not None and _feed_numpy(np, h, obj, path):
        return True
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(obj, pd.DataFrame | pd.Series | pd.Index):
        _feed_pandas(pd, h, obj, path)
        return True
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(obj, pydantic.BaseModel):
        h.update(b"PY" + _qualname(type(obj)))
        _feed(h, obj.model_dump(mode="json"), path)
        return True
    return False


def _feed_numpy(np: Any, h: Any, obj: Any, path: str) -> bool:
    """An array or a numpy scalar (``False`` for anything else)."""
    if isinstance(obj, np.ndarray):
        h.update(b"NP" + str(obj.dtype).encode() + b";" + repr(obj.shape).encode())
        if obj.dtype.hasobject:
            for i, item in enumerate(obj.ravel(order="C").tolist()):
                _feed(h, item, f"{path}.flat[{i}]")
        else:
            b = np.ascontiguousarray(obj).tobytes()
            h.update(_len(len(b)) + b)
        return True
    if isinstance(obj, np.generic):
        h.update(b"NS" + str(obj.dtype).encode() + b";")
        if obj.dtype.hasobject:
            _feed(h, obj.item(), path)
        else:
            h.update(obj.tobytes())
        return True
    return False


def _feed_pandas(pd: Any, h: Any, obj: Any, path: str) -> None:
    """A data frame, series or index: its type, columns or dtype and name, and its values."""
    try:
        values = pd.util.hash_pandas_object(obj, index=not isinstance(obj, pd.Index))
    except TypeError as exc:
        raise UnhashableInputError(path, obj) from exc
    h.update(b"PD" + _qualname(type(obj)))
    if isinstance(obj, pd.DataFrame):
        _feed(h, [str(c) for c in obj.columns], f"{path}.columns")
        _feed(h, [str(d) for d in obj.dtypes], f"{path}.dtypes")
    else:
        _feed(h, str(obj.dtype), f"{path}.dtype")
        _feed(h, str(obj.name), f"{path}.name")
    b = values.to_numpy().tobytes()
    h.update(_len(len(b)) + b)


def stable_hash(value: Any, name: str = "value") -> str:
    """A hex digest of ``value`` that is the same in every process and on every run.

    Args:
        value: the value to hash.
        name: how to name the value in an error.

    Raises:
        UnhashableInputError: if ``value`` (or something inside it) has no stable hash.
    """
    h = hashlib.sha256()
    _feed(h, value, name)
    return h.hexdigest()


def hash_inputs(inputs: dict[str, Any]) -> dict[str, str]:
    """The stable hash of each input, by name (raises :class:`UnhashableInputError`)."""
    return {name: stable_hash(value, repr(name)) for name, value in sorted(inputs.items())}


def input_token(value: Any) -> str | None:
    """The token of a task input: its :func:`stable_hash`, else dask's token, else ``None``.

    A value without a stable hash gets :func:`dask_token` (``None`` without dask, or when
    dask cannot tokenize it either).
    """
    try:
        return stable_hash(value)
    except Exception:  # no stable hash (an arbitrary object): dask's token, if any
        return dask_token(value)


_dask: list[Any] = []  # [dask.base.tokenize or None], once looked up


def dask_token(value: Any) -> str | None:
    """dask's ``tokenize(value)``; ``None`` when dask is not installed or cannot tokenize it.

    Only stable within one process for values dask tokenizes by identity.
    """
    if not _dask:
        try:
            from dask.base import tokenize
        except ImportError:
            _dask.append(None)
        else:
            _dask.append(tokenize)
    tokenize = _dask[0]
    if tokenize is None:
        return None
    try:
        return str(tokenize(value))
    except Exception:  # a value dask cannot tokenize
        return None


def combine_hashes(hashes: dict[str, str]) -> str:
    """One hash of several named hashes (the order of the names does not matter)."""
    return stable_hash(sorted(hashes.items()))


def code_hash(task: Task) -> str:
    """A hash of the code behind ``task``'s run function (its source, else its bytecode)."""
    fn = task.__dict__.get("run") or type(task).run
    try:
        src = inspect.getsource(fn)
        return hashlib.sha256(b"src:" + src.encode("utf-8", "surrogatepass")).hexdigest()
    except (OSError, TypeError):
        pass
    h = hashlib.sha256(b"code:")
    code = getattr(inspect.unwrap(fn), "__code__", None) or getattr(
        getattr(fn, "__func__", None), "__code__", None
    )
    if code is None:  # a callable object: its type's name is all that can be said
        h.update(_qualname(type(fn)))
    else:
        _feed_code(h, code)
    return h.hexdigest()


def _feed_code(h: Any, code: Any) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if inspect.iscode(const):
            _feed_code(h, const)
        else:
            h.update(repr(const).encode())
