"""What travels between the dask executors and their workers (private).

- :class:`Ref` stands for the value of another call inside a submission's arguments;
- :class:`Failure` carries the exception a graph node raised, in place of its value;
- :class:`Packed` is a value pickled in the worker process that produced it;
- :class:`SharedBlob` carries a pickled :class:`~headwater.executors.base.Shared` argument (or a
  large result), unpickled at most once per worker process however many calls receive it;
- :func:`dumps` pickles for another process, with plain ``pickle`` when it will do.

Nothing here imports dask or distributed: these also run inside worker threads and processes.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from typing import Any

__all__ = [
    "Failure",
    "Packed",
    "Ref",
    "SharedBlob",
    "dumps",
    "load_shared",
    "load_shared_args",
    "new_token",
]


class Ref:
    """Placeholder for the value of graph node ``key`` inside a submission's arguments."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __reduce__(self) -> tuple[type[Ref], tuple[str]]:
        return (Ref, (self.key,))

    def __repr__(self) -> str:
        return f"Ref({self.key!r})"


class Failure:
    """The exception a graph node's call raised, passed along instead of a value.

    Nodes downstream of a failure do not run; they hand the same failure on, and ``wait``
    raises the exception.
    """

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __reduce__(self) -> tuple[type[Failure], tuple[BaseException]]:
        return (Failure, (self.exc,))


class Packed:
    """A node result pickled in the worker process that produced it."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> tuple[type[Packed], tuple[bytes]]:
        return (Packed, (self.data,))

    def load(self) -> Any:
        """The value."""
        import cloudpickle

        return cloudpickle.loads(self.data)


class SharedBlob:
    """A pickled :class:`~headwater.executors.base.Shared` argument (or a large result of a
    process-pool call), identified by ``token``.

    The pickle travels inline (``data``) or, when large, in a file that every worker process can
    read (``path``). :meth:`load` keeps what it unpickled in a small per-process cache, so a
    worker process that receives the same blob for many calls unpickles it once.
    """

    __slots__ = ("token", "data", "path", "size")

    def __init__(self, token: str, data: bytes | None, path: str | None, size: int) -> None:
        self.token = token
        self.data = data
        self.path = path
        self.size = size

    def __reduce__(
        self,
    ) -> tuple[type[SharedBlob], tuple[str, bytes | None, str | None, int]]:
        return (SharedBlob, (self.token, self.data, self.path, self.size))

    def __repr__(self) -> str:
        return f"<SharedBlob {self.token} ({self.size} bytes)>"

    def _read(self) -> bytes:
        if self.data is not None:
            return self.data
        with open(self.path or "", "rb") as fh:
            return fh.read()

    def load(self, cache: bool = True) -> Any:
        """Return what the blob holds (cached per process unless ``cache`` is false)."""
        import cloudpickle

        if not cache:
            return cloudpickle.loads(self._read())
        with _CACHE_LOCK:
            hit = _SHARED_CACHE.get(self.token)
            if hit is not None:
                _SHARED_CACHE.move_to_end(self.token)
                return hit[0]
        value = cloudpickle.loads(self._read())
        _remember(self.token, value, self.size)
        return value


# what SharedBlob.load unpickled in this process, most recently used last: token -> (value, size)
_SHARED_CACHE: OrderedDict[str, tuple[Any, int]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_MAX_ITEMS = 64
_CACHE_MAX_BYTES = 512 * 2**20
_cache_bytes = 0


def _remember(token: str, value: Any, size: int) -> None:
    global _cache_bytes
    with _CACHE_LOCK:
        if token in _SHARED_CACHE:
            return
        _SHARED_CACHE[token] = (value, size)
        _cache_bytes += size
        while _SHARED_CACHE and (
            len(_SHARED_CACHE) > _CACHE_MAX_ITEMS or _cache_bytes > _CACHE_MAX_BYTES
        ):
            _, (_, old_size) = _SHARED_CACHE.popitem(last=False)
            _cache_bytes -= old_size


def load_shared_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with every top-level :class:`SharedBlob` replaced by what it holds."""
    for a in args:
        if type(a) is SharedBlob:
            return tuple(a.load() if type(a) is SharedBlob else a for a in args)
    return args


def load_shared(blob: bytes) -> Any:
    """Unpickle a shared argument (what a DaskExecutor's shared-argument task runs)."""
    import cloudpickle

    return cloudpickle.loads(blob)


def _pickles_by_value() -> bool:
    """Whether modules are registered with ``cloudpickle.register_pickle_by_value``.

    cloudpickle keeps them in a private set; reading it is the only way to know, and it has
    stood under this name since cloudpickle 2.0.
    """
    import cloudpickle

    return bool(cloudpickle.cloudpickle._PICKLE_BY_VALUE_MODULES)  # noqa: SLF001


def dumps(obj: Any) -> bytes:
    """Pickle ``obj`` for another process: fast ``pickle`` when it will do, else ``cloudpickle``.

    Plain pickle refers to functions and classes by module and name. That is what cloudpickle
    does too for anything importable — except from ``__main__``, which a worker process cannot
    import, and from modules registered with ``cloudpickle.register_pickle_by_value``. So plain
    pickle is used unless it fails, or its output names ``__main__``, or such modules exist.
    """
    import cloudpickle

    if not _pickles_by_value():
        try:
            data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except KeyboardInterrupt:
            raise
        except BaseException:  # lambdas, local functions, ...: cloudpickle's job
            pass
        else:
            if b"__main__" not in data:
                return data
    pickled: bytes = cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return pickled


def new_token(prefix: str) -> str:
    """A token unique across processes and runs."""
    import uuid

    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex}"
