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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.task import Task

__all__ = [
    "UnhashableInputError",
    "code_hash",
    "combine_hashes",
    "hash_inputs",
    "input_tokens",
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
    t = type(obj)
    if obj is None:
        h.update(b"N")
    elif t is bool:
        h.update(b"B1" if obj else b"B0")
    elif t is int:
        s = str(obj).encode()
        h.update(b"I" + _len(len(s)) + s)
    elif t is float:
        h.update(b"F" + obj.hex().encode() + b";")
    elif t is complex:
        h.update(b"C" + obj.real.hex().encode() + b"," + obj.imag.hex().encode() + b";")
    elif t is str:
        b = obj.encode("utf-8", "surrogatepass")
        h.update(b"S" + _len(len(b)) + b)
    elif t in (bytes, bytearray, memoryview):
        b = bytes(obj)
        h.update(b"Y" + _len(len(b)) + b)
    elif t in (list, tuple):
        h.update((b"L" if t is list else b"T") + _len(len(obj)))
        for i, item in enumerate(obj):
            _feed(h, item, f"{path}[{i}]")
    elif t is dict:
        pairs = []
        for k, v in obj.items():
            kh = hashlib.sha256()
            _feed(kh, k, f"{path} key {k!r}")
            vh = hashlib.sha256()
            _feed(vh, v, f"{path}[{k!r}]")
            pairs.append(kh.digest() + vh.digest())
        h.update(b"D" + _len(len(pairs)) + b"".join(sorted(pairs)))
    elif t in (set, frozenset):
        digests = []
        for item in obj:
            ih = hashlib.sha256()
            _feed(ih, item, f"{path} item {item!r}")
            digests.append(ih.digest())
        h.update(b"E" + _len(len(digests)) + b"".join(sorted(digests)))
    elif isinstance(obj, datetime.datetime):
        h.update(b"DT" + obj.isoformat().encode() + b";")
    elif isinstance(obj, datetime.date):
        h.update(b"DA" + obj.isoformat().encode() + b";")
    elif isinstance(obj, datetime.time):
        h.update(b"TI" + obj.isoformat().encode() + b";")
    elif isinstance(obj, datetime.timedelta):
        h.update(b"TD" + f"{obj.days},{obj.seconds},{obj.microseconds};".encode())
    elif isinstance(obj, decimal.Decimal | fractions.Fraction | uuid.UUID | pathlib.PurePath):
        h.update(b"O" + _qualname(t) + str(obj).encode() + b";")
    elif isinstance(obj, enum.Enum):
        h.update(b"EN" + _qualname(t))
        _feed(h, obj.value, f"{path}.value")
    elif isinstance(obj, list | tuple | dict | str | int | float | bytes):
        # subclasses (namedtuples, OrderedDict, IntEnum-free int subclasses ...): type + content
        h.update(b"SUB" + _qualname(t))
        base = next(
            b for b in (bool, int, float, str, bytes, tuple, list, dict) if isinstance(obj, b)
        )
        plain: Any = obj
        _feed(h, base(plain) if base is not dict else dict(plain.items()), path)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(b"DC" + _qualname(t))
        for f in dataclasses.fields(obj):
            _feed(h, f.name, path)
            _feed(h, getattr(obj, f.name), f"{path}.{f.name}")
    elif not _feed_optional(h, obj, path):
        raise UnhashableInputError(path, obj)


def _qualname(t: type) -> bytes:
    q = f"{t.__module__}.{t.__qualname__}".encode()
    return _len(len(q)) + q


def _feed_optional(h: Any, obj: Any, path: str) -> bool:
    """numpy, pandas and pydantic values, recognised only when their library is loaded."""
    np = sys.modules.get("numpy")
    if np is not None:
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
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(obj, pd.DataFrame | pd.Series | pd.Index):
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
        return True
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(obj, pydantic.BaseModel):
        h.update(b"PY" + _qualname(type(obj)))
        _feed(h, obj.model_dump(mode="json"), path)
        return True
    return False


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


def input_tokens(inputs: dict[str, Any]) -> dict[str, str]:
    """``{name: dask token}`` of the inputs (``Cached.hashed_inputs``, as Prefect Core 1.x).

    These tokens are only stable within one process; an input dask cannot tokenize is left out.
    """
    if not inputs:
        return {}
    from dask.base import tokenize

    out = {}
    for key, value in inputs.items():
        try:
            out[key] = tokenize(value)
        except Exception:  # a value dask cannot tokenize is left out
            continue
    return out


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
