"""Helpers shared by the dask executors (private; see :mod:`headwater.executors.dask`).

Nothing here imports dask or distributed: these functions also run inside worker threads and
processes, where they only need the standard library, ``cloudpickle`` and headwater itself.

- :func:`map_futures` walks the (possibly nested) arguments of a submission and swaps futures for
  something else — placeholders when a call is submitted, values when it runs;
- :func:`run_node` is what a :class:`~headwater.executors.LocalDaskExecutor` graph node calls;
- :func:`run_packed_call` is what :class:`~headwater.executors.DaskExecutor`'s tasks run;
- :func:`explain_pickling_error` names the part of a submission that cannot be pickled;
- :class:`SharedBlob` carries a pickled :class:`~headwater.executors.base.Shared` argument,
  unpickled at most once per worker process however many calls receive it;
- :class:`CarriedBaseException` brings a ``BaseException`` that is not an ``Exception`` back from
  a cluster worker, whose machinery would otherwise treat it as the end of its process or loop.

A call that raises any ``BaseException`` other than ``KeyboardInterrupt`` (``SystemExit``,
``GeneratorExit``, ``asyncio.CancelledError``, a user's own subclass) fails that call only: ``wait``
raises the exception, and the pool's threads and processes keep serving other calls (see
:mod:`headwater.executors._thread_pool` and :mod:`headwater.executors._process_pool`).
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from headwater.context import context as _context
from headwater.exceptions import HeadwaterError, SerializationError
from headwater.executors._spill import TempWriteError, write_temp_file

__all__ = [
    "CarriedBaseException",
    "Failure",
    "Packed",
    "Ref",
    "SharedBlob",
    "WorkerLostError",
    "dumps",
    "explain_pickling_error",
    "map_futures",
    "run_packed_call",
    "run_node",
]


class WorkerLostError(HeadwaterError):
    """The thread, process or machine running a task died before the task finished.

    The task itself did not raise: its worker went away (killed, out of memory, crashed). The
    flow runner turns this into a ``Failed`` state (or a retry, per the task's retry settings).

    Attributes:
        key: the executor's key of the call whose worker was lost, when known.
        task_name: the ``task_full_name`` the call was submitted with, when known.
    """

    def __init__(self, message: str, key: Any = None, task_name: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.task_name = task_name

    def __reduce__(self):
        return (type(self), (self.args[0], self.key, self.task_name))


class CarriedBaseException(Exception):
    """A ``BaseException`` that is not an ``Exception``, raised by a call on a cluster worker.

    ``distributed`` lets ``SystemExit`` end the worker process, and re-raises other such
    exceptions in its event loop's callbacks, where nobody waits for them (the caller of
    ``gather`` would wait forever). So :func:`run_packed_call` raises this ``Exception`` instead,
    and the executor's ``wait`` raises the original, :attr:`exc`.
    """

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc

    def __reduce__(self) -> tuple[Any, tuple[BaseException]]:
        return (CarriedBaseException, (self.exc,))

    @classmethod
    def wrap(cls, exc: BaseException) -> CarriedBaseException:
        """Carry ``exc``, or a picklable description of it if it cannot be pickled."""
        return cls(_picklable_failure(exc).exc)


# -- walking nested arguments ------------------------------------------------------------------
_OPAQUE, _LEAF, _DICT, _SEQ = 0, 1, 2, 3
# (type, leaf_type) -> what map_futures does with a value of that type; strings, numbers,
# None, Shared values and other non-containers are opaque (the context snapshot is mostly these)
_KINDS: dict[tuple[type, Any], int] = {}


def _kind(t: type, leaf_type: Any) -> int:
    key = (t, leaf_type)
    kind = _KINDS.get(key)
    if kind is None:
        if issubclass(t, leaf_type):
            kind = _LEAF
        elif t in (str, bytes, bytearray):
            kind = _OPAQUE
        elif issubclass(t, dict):
            kind = _DICT
        elif issubclass(t, (list, tuple, set, frozenset)):
            kind = _SEQ
        else:
            kind = _OPAQUE
        if len(_KINDS) < 4096:
            _KINDS[key] = kind
    return kind


def map_futures(obj: Any, leaf_type: type | tuple[type, ...], fn: Callable[[Any], Any]) -> Any:
    """Return ``obj`` with every instance of ``leaf_type`` replaced by ``fn(instance)``.

    Lists, tuples (named tuples too), sets, frozensets and dicts (values only) are searched at any
    depth. Containers without a match are returned as they are, not copied. ``leaf_type`` is a
    future or placeholder class: strings, numbers, booleans, ``None`` and other objects that
    are not such containers (a :class:`~headwater.executors.base.Shared` value, say) are never
    looked into.
    """
    t = type(obj)
    kind = _KINDS.get((t, leaf_type))
    if kind is None:
        kind = _kind(t, leaf_type)
    if kind == _OPAQUE:
        return obj
    if kind == _LEAF:
        return fn(obj)
    kinds = _KINDS
    if kind == _DICT:
        changed = False
        new = {}
        for k, v in obj.items():
            vk = kinds.get((type(v), leaf_type))
            if vk == _OPAQUE:
                new[k] = v
                continue
            w = map_futures(v, leaf_type, fn)
            changed = changed or w is not v
            new[k] = w
        if not changed:
            return obj
        if t is dict:
            return new
        try:
            out = obj.copy()
            out.update(new)
            return out
        except Exception:
            return new
    changed = False
    items = []
    for v in obj:
        vk = kinds.get((type(v), leaf_type))
        if vk == _OPAQUE:
            items.append(v)
            continue
        w = map_futures(v, leaf_type, fn)
        changed = changed or w is not v
        items.append(w)
    if not changed:
        return obj
    if t in (list, tuple, set, frozenset):
        return t(items)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # named tuple
        return t(*items)
    try:
        return t(items)
    except Exception:
        for base in (list, tuple, set, frozenset):
            if isinstance(obj, base):
                return base(items)
    return obj


class Ref:
    """Placeholder for the value of graph node ``key`` inside a submission's arguments."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __reduce__(self):
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

    def __reduce__(self):
        return (Failure, (self.exc,))


class Packed:
    """A node result pickled in the worker process that produced it."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self):
        return (Packed, (self.data,))

    def load(self) -> Any:
        import cloudpickle

        return cloudpickle.loads(self.data)


# -- shared arguments --------------------------------------------------------------------------
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

    def __reduce__(self):
        return (SharedBlob, (self.token, self.data, self.path, self.size))

    def __repr__(self) -> str:
        return f"<SharedBlob {self.token} ({self.size} bytes)>"

    def load(self, cache: bool = True) -> Any:
        """Return what the blob holds (cached per process unless ``cache`` is false)."""
        if not cache:
            import cloudpickle

            if self.data is not None:
                return cloudpickle.loads(self.data)
            with open(self.path, "rb") as fh:  # type: ignore[arg-type]
                return cloudpickle.load(fh)
        with _CACHE_LOCK:
            hit = _SHARED_CACHE.get(self.token)
            if hit is not None:
                _SHARED_CACHE.move_to_end(self.token)
                return hit[0]
        import cloudpickle

        data = self.data
        if data is None:
            with open(self.path, "rb") as fh:  # type: ignore[arg-type]
                data = fh.read()
        value = cloudpickle.loads(data)
        _remember(self.token, value, self.size)
        return value


#: a result of a process-pool call that pickles to this many bytes or more is written to a file
SPILL_THRESHOLD = 2**20

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


def load_shared_args(args: tuple) -> tuple:
    """``args`` with every top-level :class:`SharedBlob` replaced by what it holds."""
    for a in args:
        if type(a) is SharedBlob:
            return tuple(a.load() if type(a) is SharedBlob else a for a in args)
    return args


def load_shared(blob: bytes) -> Any:
    """Unpickle a shared argument (what a DaskExecutor's shared-argument task runs)."""
    import cloudpickle

    return cloudpickle.loads(blob)


def dumps(obj: Any) -> bytes:
    """Pickle ``obj`` for another process: fast ``pickle`` when it will do, else ``cloudpickle``.

    Plain pickle refers to functions and classes by module and name. That is what cloudpickle
    does too for anything importable — except from ``__main__``, which a worker process cannot
    import, and from modules registered with ``cloudpickle.register_pickle_by_value``. So plain
    pickle is used unless it fails, or its output names ``__main__``, or such modules exist.
    """
    import cloudpickle

    if not cloudpickle.cloudpickle._PICKLE_BY_VALUE_MODULES:
        try:
            data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001 - lambdas, local functions, ...: cloudpickle's job
            pass
        else:
            if b"__main__" not in data:
                return data
    return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def new_token(prefix: str) -> str:
    """A token unique across processes and runs."""
    import uuid

    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex}"


# -- running calls -----------------------------------------------------------------------------
def _call(fn: Callable[..., Any], args: Any, kwargs: Any, ctx: dict[str, Any] | None) -> Any:
    if ctx:
        var = _context._var
        token = var.set({**_context._get(), **ctx})
        try:
            return fn(*args, **kwargs)
        finally:
            var.reset(token)
    return fn(*args, **kwargs)


def run_node(payload: Any, *dep_values: Any) -> Any:
    """Run one LocalDaskExecutor graph node.

    Args:
        payload: ``(fn, args, kwargs, extra_context, dep_keys)`` with :class:`Ref` placeholders
            in ``args``/``kwargs``; for process pools, ``(fn, args, kwargs, extra_context,
            dep_keys, spill_dir)`` pickled to bytes.
        *dep_values: the values of ``dep_keys``, in order.

    Returns:
        The call's value, a :class:`Failure` if it (or an upstream node) raised, or — when the
        payload came pickled — a :class:`Packed` value to send back to the parent process; or,
        if that would take :data:`SPILL_THRESHOLD` bytes or more, a :class:`SharedBlob` for a
        file in ``spill_dir`` (so that each process using it reads and unpickles it once).
    """
    packed = type(payload) is bytes
    spill_dir = None
    if packed:
        try:
            import cloudpickle

            fn, args, kwargs, ctx, deps, spill_dir = cloudpickle.loads(payload)
            args = load_shared_args(args)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - reported to the caller of wait
            return Failure(
                SerializationError(
                    f"A worker process could not load the submitted call: {exc!r}. Functions "
                    "and arguments must be importable in a fresh process: define them at "
                    "module level in an importable module (not in __main__ of an interactive "
                    "session, not inside another function)."
                )
            )
    else:
        fn, args, kwargs, ctx, deps = payload
    if deps:
        values = {}
        for k, v in zip(deps, dep_values):
            t = type(v)
            if t is Failure:
                return v
            if t is Packed:
                v = v.load()
            elif t is SharedBlob:
                v = v.load()
            values[k] = v

        def _value(ref: Ref) -> Any:
            return values[ref.key]

        args = map_futures(args, Ref, _value)
        kwargs = map_futures(kwargs, Ref, _value)
    try:
        result = _call(fn, args, kwargs, ctx)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit, GeneratorExit...: this call fails
        return _picklable_failure(exc) if packed else Failure(exc)
    if not packed:
        return result
    try:
        data = dumps(result)
        if spill_dir is not None and len(data) >= SPILL_THRESHOLD:
            token = new_token("result")
            path = os.path.join(spill_dir, token)
            write_temp_file(path, data, f"{_describe(fn)} in a worker process")
            return SharedBlob(token, None, path, len(data))
        return Packed(data)
    except KeyboardInterrupt:
        raise
    except TempWriteError as exc:
        return Failure(exc)
    except Exception as exc:
        return Failure(
            SerializationError(
                f"{_describe(fn)} returned {_short_repr(result)}, which cannot be pickled to "
                f"send it back from the worker process ({exc}). Return plain data (no open "
                "files, locks, connections or generators), or use a thread-based executor."
            )
        )
    except BaseException as exc:  # noqa: BLE001 - raised while pickling the result
        return _picklable_failure(exc)


def _picklable_failure(exc: BaseException) -> Failure:
    """``Failure(exc)``, or of a ``HeadwaterError`` with its traceback if ``exc`` won't pickle."""
    import cloudpickle

    try:
        cloudpickle.loads(cloudpickle.dumps(exc))
        return Failure(exc)
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - whatever stops the round trip, describe it instead
        import traceback

        text = "".join(traceback.format_exception(exc))
        return Failure(HeadwaterError(f"{exc!r} (could not be pickled; traceback:\n{text})"))


def run_packed_call(payload: bytes, *dep_values: Any) -> Any:
    """Run one call a DaskExecutor sent: what its cluster tasks run.

    Args:
        payload: ``(fn, args, kwargs, extra_context, dep_keys)`` pickled, with :class:`Ref`
            placeholders for the values of other calls and top-level :class:`SharedBlob`
            arguments (unpickled once per worker process).
        *dep_values: the values of ``dep_keys``, in order.

    Returns:
        The call's value; its exception propagates (the cluster records it), as a
        :class:`CarriedBaseException` if it is not an ``Exception``.
    """
    import cloudpickle

    try:
        fn, args, kwargs, ctx, deps = cloudpickle.loads(payload)
        args = load_shared_args(args)
    except BaseException as exc:  # noqa: BLE001 - an Exception, so that the cluster reports it
        raise SerializationError(
            f"A dask worker could not load the submitted call: {exc!r}. Functions and arguments "
            "must be importable on the workers: define them at module level in a module the "
            "workers can import (not in __main__ of an interactive session, not inside another "
            "function)."
        ) from exc
    if deps:
        values = dict(zip(deps, dep_values))

        def _value(ref: Ref) -> Any:
            return values[ref.key]

        args = map_futures(args, Ref, _value)
        if kwargs:
            kwargs = map_futures(kwargs, Ref, _value)
    try:
        return _call(fn, args, kwargs, ctx)
    except Exception:
        raise
    except BaseException as exc:  # noqa: BLE001 - would end the worker, or never be reported
        raise CarriedBaseException.wrap(exc) from None


# -- explaining pickling errors ----------------------------------------------------------------
def _short_repr(obj: Any, limit: int = 80) -> str:
    try:
        r = repr(obj)
    except Exception:
        r = f"<{type(obj).__name__} object>"
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _describe(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None:
        return f"the callable {_short_repr(fn)}"
    code = getattr(fn, "__code__", None)
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    return f"function {name!r}{where}"


def _fix_hint(obj: Any) -> str:
    name = getattr(obj, "__qualname__", "") or ""
    if name.endswith("<lambda>") or "<locals>" in name:
        return (
            "it is a lambda or a function defined inside another function: define it with "
            "`def` at module level (in an importable module) so it can be sent by reference, "
            "and pass what it needs as arguments rather than closing over it"
        )
    return (
        "make sure it and everything it refers to can be pickled (no open files, locks, "
        "sockets, database connections or generators), or use a thread-based executor"
    )


def explain_pickling_error(
    executor_name: str,
    fn: Callable[..., Any],
    args: tuple,
    kwargs: dict[str, Any],
    extra_context: dict[str, Any] | None,
    error: BaseException,
) -> SerializationError:
    """Build a :class:`SerializationError` naming the part of a submission that won't pickle."""
    import cloudpickle

    def fails(obj: Any) -> BaseException | None:
        try:
            cloudpickle.dumps(obj)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a __reduce__ may raise anything
            return exc
        return None

    culprit: str | None = None
    hint_obj: Any = None
    cause: BaseException | None = fails(fn)
    if cause is not None:
        culprit, hint_obj = _describe(fn), fn
    else:
        parts: list[tuple[str, Any]] = [(f"argument {i}", a) for i, a in enumerate(args)]
        parts += [(f"keyword argument {k!r}", v) for k, v in kwargs.items()]
        parts += [(f"context key {k!r}", v) for k, v in (extra_context or {}).items()]
        for label, value in parts:
            cause = fails(value)
            if cause is not None:
                culprit, hint_obj = f"{label} ({_short_repr(value)})", value
                break
    if culprit is None:
        culprit, hint_obj, cause = f"the call to {_describe(fn)}", fn, error
    return SerializationError(
        f"{executor_name} runs tasks in other processes, so it must pickle them, but "
        f"{culprit} cannot be pickled: {cause}. To fix: {_fix_hint(hint_obj)}."
    )
