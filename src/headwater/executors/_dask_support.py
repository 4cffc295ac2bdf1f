"""Running the calls the dask executors send to worker threads and processes (private).

- :func:`run_node` is what a :class:`~headwater.executors.LocalDaskExecutor` graph node calls;
- :func:`run_packed_call` is what :class:`~headwater.executors.DaskExecutor`'s tasks run;
- :class:`CarriedBaseException` brings a ``BaseException`` that is not an ``Exception`` back from
  a cluster worker, whose machinery would otherwise treat it as the end of its process or loop.

A call that raises any ``BaseException`` other than ``KeyboardInterrupt`` (``SystemExit``,
``GeneratorExit``, ``asyncio.CancelledError``, a user's own subclass) fails that call only: ``wait``
raises the exception, and the pool's threads and processes keep serving other calls (see
:mod:`headwater.executors._thread_pool` and :mod:`headwater.executors._process_pool`).

Nothing here imports dask or distributed: these functions run inside worker threads and
processes, where they only need the standard library, ``cloudpickle`` and headwater itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from headwater.exceptions import HeadwaterError, SerializationError, WorkerLostError
from headwater.executors._in_context import call_in_context
from headwater.executors._nested import map_futures
from headwater.executors._payloads import (
    Failure,
    Packed,
    Ref,
    SharedBlob,
    dumps,
    load_shared_args,
    new_token,
)
from headwater.executors._pickling_errors import describe, short_repr
from headwater.executors._spill import TempWriteError, write_temp_file

__all__ = [
    "SPILL_THRESHOLD",
    "CarriedBaseException",
    "Failure",
    "WorkerLostError",
    "dumps",
    "picklable_failure",
    "run_node",
    "run_packed_call",
]

#: a result of a process-pool call that pickles to this many bytes or more is written to a file
SPILL_THRESHOLD = 2**20


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
        return cls(picklable_failure(exc).exc)


def picklable_failure(exc: BaseException) -> Failure:
    """``Failure(exc)``, or of a ``HeadwaterError`` with its traceback if ``exc`` won't pickle."""
    import cloudpickle

    try:
        cloudpickle.loads(cloudpickle.dumps(exc))
        return Failure(exc)
    except KeyboardInterrupt:
        raise
    except BaseException:  # whatever stops the round trip, describe it instead
        import traceback

        text = "".join(traceback.format_exception(exc))
        return Failure(HeadwaterError(f"{exc!r} (could not be pickled; traceback:\n{text})"))


def _with_values(args: Any, kwargs: Any, values: dict[str, Any]) -> tuple[Any, Any]:
    """``args`` and ``kwargs`` with each :class:`Ref` replaced by its value in ``values``."""

    def value(ref: Ref) -> Any:
        return values[ref.key]

    args = map_futures(args, Ref, value)
    if kwargs:
        kwargs = map_futures(kwargs, Ref, value)
    return args, kwargs


# -- LocalDaskExecutor's graph nodes -----------------------------------------------------------
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
        loaded = _load_node(payload)
        if type(loaded) is Failure:
            return loaded
        fn, args, kwargs, ctx, deps, spill_dir = loaded
    else:
        fn, args, kwargs, ctx, deps = payload
    if deps:
        values = {}
        for k, v in zip(deps, dep_values):
            t = type(v)
            if t is Failure:
                return v
            values[k] = v.load() if t is Packed or t is SharedBlob else v
        args, kwargs = _with_values(args, kwargs, values)
    try:
        result = call_in_context(fn, args, kwargs, ctx)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit, GeneratorExit...: this call fails
        return picklable_failure(exc) if packed else Failure(exc)
    return _pack(fn, result, spill_dir) if packed else result


def _load_node(payload: bytes) -> Any:
    """The unpickled ``(fn, args, kwargs, ctx, deps, spill_dir)``, or a :class:`Failure`."""
    try:
        import cloudpickle

        fn, args, kwargs, ctx, deps, spill_dir = cloudpickle.loads(payload)
        return fn, load_shared_args(args), kwargs, ctx, deps, spill_dir
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # reported to the caller of wait
        return Failure(
            SerializationError(
                f"A worker process could not load the submitted call: {exc!r}. Functions "
                "and arguments must be importable in a fresh process: define them at "
                "module level in an importable module (not in __main__ of an interactive "
                "session, not inside another function)."
            )
        )


def _pack(fn: Any, result: Any, spill_dir: str | None) -> Packed | SharedBlob | Failure:
    """``result`` pickled to go back to the parent process (in a file when it is large)."""
    try:
        data = dumps(result)
        if spill_dir is not None and len(data) >= SPILL_THRESHOLD:
            token = new_token("result")
            path = os.path.join(spill_dir, token)
            write_temp_file(path, data, f"{describe(fn)} in a worker process")
            return SharedBlob(token, None, path, len(data))
        return Packed(data)
    except KeyboardInterrupt:
        raise
    except TempWriteError as exc:
        return Failure(exc)
    except Exception as exc:  # explained to the caller of wait
        return Failure(
            SerializationError(
                f"{describe(fn)} returned {short_repr(result)}, which cannot be pickled to "
                f"send it back from the worker process ({exc}). Return plain data (no open "
                "files, locks, connections or generators), or use a thread-based executor."
            )
        )
    except BaseException as exc:  # raised while pickling the result
        return picklable_failure(exc)


# -- DaskExecutor's cluster tasks --------------------------------------------------------------
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

    fn: Callable[..., Any]
    try:
        fn, args, kwargs, ctx, deps = cloudpickle.loads(payload)
        args = load_shared_args(args)
    except BaseException as exc:  # an Exception, so that the cluster reports it
        raise SerializationError(
            f"A dask worker could not load the submitted call: {exc!r}. Functions and arguments "
            "must be importable on the workers: define them at module level in a module the "
            "workers can import (not in __main__ of an interactive session, not inside another "
            "function)."
        ) from exc
    if deps:
        args, kwargs = _with_values(args, kwargs, dict(zip(deps, dep_values)))
    try:
        return call_in_context(fn, args, kwargs, ctx)
    except Exception:
        raise
    except BaseException as exc:  # would end the worker, or never be reported
        raise CarriedBaseException.wrap(exc) from None
