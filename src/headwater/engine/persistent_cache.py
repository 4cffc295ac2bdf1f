"""A task cache that survives the process: cached states stored as files on disk.

In-process caching keeps ``Cached`` states in ``context.caches`` for as long as the Python
process lives. With ``config.flows.persistent_cache = true`` (or ``Flow(cache_dir=...)``) each
cached state is also written to ``{cache_dir}/<flow>/<task>/`` (default ``cache_dir``:
``{home_dir}/cache``) and read back by later runs, in this process or another one::

    from datetime import timedelta
    from headwater import Flow, task

    @task(cache_for=timedelta(days=1))
    def expensive(x):
        return x * 2

    with Flow("etl", cache_dir="/tmp/etl-cache") as flow:
        expensive(21)

    flow.run()  # runs the task and stores its result
    flow.run()  # in any later process too: Cached, the task does not run

An entry is reused only while

* the task's code is unchanged (a hash of the source of its ``run`` function, or of the
  function behind ``@task``; the bytecode when the source is not available),
* ``cache_for`` has not expired, and
* the task's ``cache_validator`` accepts it, exactly as for in-process caching.

Inputs are hashed with a stable, process-independent hash (numbers, strings, bytes, ``None``,
lists, tuples, sets and dicts of them, dates and times, decimals, paths, enums, dataclasses,
numpy arrays and pandas objects). An input that cannot be hashed this way disables the
persistent cache for that task run and issues a :class:`PersistentCacheWarning` naming the
input. A damaged entry is ignored with the same warning; it never fails a run. Entries are
written atomically (temporary file, ``fsync``, ``os.replace``).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import hashlib
import inspect
import os
import pathlib
import pickle
import re
import struct
import sys
import threading
import uuid
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task
    from headwater.engine.state import Cached

__all__ = [
    "PersistentCache",
    "PersistentCacheWarning",
    "UnhashableInputError",
    "hash_inputs",
    "stable_hash",
]

_MAGIC = b"HEADWATER-CACHE-1\n"
_SUFFIX = ".hwcache"
_FORMAT = 1


class PersistentCacheWarning(UserWarning):
    """The persistent cache could not be used for a task run (the run itself goes on)."""


class UnhashableInputError(TypeError):
    """A value has no stable hash; ``path`` names where it sits (e.g. ``"x[2]['a']"``)."""

    def __init__(self, path: str, value: Any) -> None:
        self.path = path
        self.type_name = type(value).__qualname__
        super().__init__(f"{path} (a {self.type_name}) has no stable hash")


# -- stable hashing ----------------------------------------------------------------------------
def _slug(text: str, limit: int = 60) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return (s or "x")[:limit]


def _len(n: int) -> bytes:
    return struct.pack(">Q", n)


def _feed(h: Any, obj: Any, path: str) -> None:  # noqa: C901 - one branch per supported type
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


def _combine(hashes: dict[str, str]) -> str:
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


# -- the store ---------------------------------------------------------------------------------
class PersistentCache:
    """Cached task states of one flow, stored as files under ``directory``.

    The task runner calls :meth:`load` before a cached task runs and :meth:`save` after it
    succeeded; users normally only switch the cache on (see the module docstring).

    Args:
        directory: the cache root; entries go to ``<directory>/<flow>/<key>/``, or
            ``<directory>/_shared/<key>/`` for tasks with an explicit ``cache_key``, so that
            tasks sharing a key share entries across flows.
        flow_name: the flow whose tasks are cached.
    """

    def __init__(self, directory: str | os.PathLike[str], flow_name: str) -> None:
        self.directory = pathlib.Path(directory).expanduser()
        self.flow_name = flow_name
        self._code_hashes: dict[int, tuple[Any, str]] = {}
        self._warned: set[int] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_flow(
        cls, flow: Flow, cache_dir: str | os.PathLike[str] | None, cfg: Any
    ) -> PersistentCache:
        """The cache of ``flow`` in ``cache_dir`` (default ``{cfg.home_dir}/cache``)."""
        if cache_dir is None:
            home = getattr(cfg, "home_dir", None) or "~/.headwater"
            cache_dir = os.path.join(os.path.expanduser(str(home)), "cache")
        return cls(cache_dir, flow.name)

    def __repr__(self) -> str:
        return f"<PersistentCache: {str(self.directory)!r} flow={self.flow_name!r}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"directory": self.directory, "flow_name": self.flow_name}

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__init__(d["directory"], d["flow_name"])  # type: ignore[misc]

    # -- paths ----------------------------------------------------------------------------
    def _key_dir(self, task: Task, key: str) -> pathlib.Path:
        suffix = hashlib.sha256(key.encode()).hexdigest()[:10]
        if getattr(task, "cache_key", None):
            return self.directory / "_shared" / f"{_slug(key)}-{suffix}"
        return self.directory / _slug(self.flow_name) / f"{_slug(key)}-{suffix}"

    def _code_hash(self, task: Task) -> str:
        hit = self._code_hashes.get(id(task))
        if hit is not None and hit[0] is task:
            return hit[1]
        value = code_hash(task)
        self._code_hashes[id(task)] = (task, value)
        return value

    def _input_hashes(
        self, task: Task, inputs: dict[str, Any], warn: bool
    ) -> dict[str, str] | None:
        try:
            return hash_inputs(inputs)
        except UnhashableInputError as exc:
            if warn:
                warnings.warn(
                    f"Task {task.name!r}: input {exc.path} (a {exc.type_name}) cannot be hashed "
                    "stably, so the persistent cache is not used for this task run. Pass "
                    "numbers, strings, bytes, dates, collections of them, numpy arrays or "
                    "pandas objects, or give the task a cache_validator that ignores this input "
                    "and no persistent cache.",
                    PersistentCacheWarning,
                    stacklevel=2,
                )
            return None

    # -- API ------------------------------------------------------------------------------
    def load(self, task: Task, key: str, inputs: dict[str, Any]) -> list[Cached]:
        """The unexpired cached states stored for ``key`` by this version of the task's code.

        Entries whose inputs equal ``inputs`` come first; for a mapped child (``map_index`` in
        the context) only those are returned, so that siblings never share results. Where a stored input has the same
        hash as the current one, the returned state's ``cached_inputs`` holds the current
        object, so that validators comparing inputs work for arrays and frames too.
        """
        hashes = self._input_hashes(task, inputs, warn=True)
        if hashes is None:
            with self._lock:
                self._warned.add(id(inputs))
            return []
        folder = self._key_dir(task, key)
        prefix = self._code_hash(task)[:16] + "-"
        try:
            names = sorted(
                n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(_SUFFIX)
            )
        except FileNotFoundError:
            return []
        except OSError as exc:
            warnings.warn(
                f"Could not read the persistent cache {str(folder)!r}: {exc}",
                PersistentCacheWarning,
                stacklevel=2,
            )
            return []
        import pendulum

        from headwater.context import context

        now = pendulum.now("UTC")
        wanted = _combine(hashes)
        # a mapped child only reuses an entry made from its own inputs, never a sibling's
        exact_only = context.get("map_index") is not None
        exact: list[tuple[float, Cached]] = []
        others: list[tuple[float, Cached]] = []
        for name in names:
            path = folder / name
            entry = self._read(path)
            if entry is None:
                continue
            state = entry["state"]
            expiration = getattr(state, "cached_result_expiration", None)
            if expiration is not None and expiration <= now:
                _remove(path)
                continue
            stored: dict[str, str] = entry["input_hashes"]
            cached_inputs = dict(state.cached_inputs or {})
            for k, h in stored.items():
                if hashes.get(k) == h:
                    cached_inputs[k] = inputs[k]
            state.cached_inputs = cached_inputs
            state.hashed_inputs = stored
            if entry["inputs_hash"] == wanted:
                exact.append((entry["created"], state))
            elif not exact_only:
                others.append((entry["created"], state))
        exact.sort(key=lambda p: p[0], reverse=True)
        others.sort(key=lambda p: p[0], reverse=True)
        return [s for _, s in exact] + [s for _, s in others]

    def save(self, task: Task, key: str, inputs: dict[str, Any], cached_state: Cached) -> None:
        """Store ``cached_state`` for ``key`` and these inputs (replacing an older entry)."""
        with self._lock:
            warned = id(inputs) in self._warned
            self._warned.discard(id(inputs))
        hashes = self._input_hashes(task, inputs, warn=not warned)
        if hashes is None:
            return
        import time

        import cloudpickle

        inputs_hash = _combine(hashes)
        code = self._code_hash(task)
        entry = {
            "format": _FORMAT,
            "key": key,
            "task": task.name,
            "flow": self.flow_name,
            "code_hash": code,
            "inputs_hash": inputs_hash,
            "input_hashes": hashes,
            "created": time.time(),
            "state": cached_state,
        }
        try:
            # a state pickles an unpicklable result as a readable stand-in; a cache must not
            cloudpickle.dumps(cached_state.result)
            payload = cloudpickle.dumps(entry)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result is not fatal
            warnings.warn(
                f"Task {task.name!r}: its cached state could not be pickled ({exc!r}); it is "
                "cached in this process only.",
                PersistentCacheWarning,
                stacklevel=2,
            )
            return
        folder = self._key_dir(task, key)
        path = folder / f"{code[:16]}-{inputs_hash[:32]}{_SUFFIX}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, _MAGIC + payload)
        except OSError as exc:
            warnings.warn(
                f"Task {task.name!r}: could not write the persistent cache entry {str(path)!r}: {exc}",
                PersistentCacheWarning,
                stacklevel=2,
            )
            return
        if not getattr(task, "cache_key", None):
            # entries written by older versions of this task's code can never be used again
            for name in os.listdir(folder):
                if name.endswith(_SUFFIX) and not name.startswith(code[:16]):
                    _remove(folder / name)

    def clear(self) -> None:
        """Delete every entry of this flow (shared ``cache_key`` entries are kept)."""
        import shutil

        shutil.rmtree(self.directory / _slug(self.flow_name), ignore_errors=True)

    def _read(self, path: pathlib.Path) -> dict[str, Any] | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            warnings.warn(
                f"Could not read the persistent cache entry {str(path)!r}: {exc}",
                PersistentCacheWarning,
                stacklevel=3,
            )
            return None
        problem = None
        entry: Any = None
        if not data.startswith(_MAGIC):
            problem = "it is not a headwater cache file"
        else:
            try:
                entry = pickle.loads(data[len(_MAGIC) :])
            except Exception as exc:  # noqa: BLE001 - any unpickling error means a bad entry
                problem = f"it could not be unpickled ({exc!r})"
            else:
                if (
                    not isinstance(entry, dict)
                    or entry.get("format") != _FORMAT
                    or "state" not in entry
                ):
                    problem = "its contents are not a cache entry"
        if problem is not None:
            warnings.warn(
                f"Ignoring the damaged persistent cache entry {str(path)!r}: {problem}. The task "
                "runs again and replaces it.",
                PersistentCacheWarning,
                stacklevel=3,
            )
            return None
        return entry


def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    from headwater.engine.results._files import atomic_write_bytes

    atomic_write_bytes(str(path), data)


def _remove(path: pathlib.Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
