"""Pickling the calls of ``LocalDaskExecutor("processes")`` for its worker processes (private).

A :class:`CallPickler` lives for one run of the executor. It pickles each submitted call, and
each :class:`~headwater.executors.base.Shared` argument once for the whole run: later calls
that receive the same ``Shared`` carry the same :class:`SharedBlob`, which each worker process
unpickles once. A blob of at least the executor's ``shared_file_threshold`` bytes reaches the
processes through a file in a temporary directory of the run, which is also where worker
processes write large results; the directory goes when the pickler is closed or forgotten.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any

from headwater.exceptions import SerializationError
from headwater.executors._payloads import SharedBlob, dumps, new_token
from headwater.executors._pickling_errors import explain_pickling_error
from headwater.executors._spill import TempWriteError, write_temp_file
from headwater.executors.base import Shared

__all__ = ["CallPickler"]


class CallPickler:
    """Pickles one run's calls, sending each ``Shared`` argument once (see the module docstring).

    Args:
        who: how errors name the executor.
    """

    def __init__(self, who: str) -> None:
        self.who = who
        # Shared -> its blob: pickled once per run; forgotten with the Shared
        self.blobs: weakref.WeakKeyDictionary[Shared, SharedBlob] = weakref.WeakKeyDictionary()
        self._directory: weakref.finalize[Any, Any] | None = None  # removes _path
        self._path: str | None = None

    def pickle_call(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        payload: tuple[Any, ...],
        threshold: int,
    ) -> bytes:
        """``payload`` (``(fn, args with placeholders, kwargs, ctx, deps)``) pickled.

        Its ``Shared`` arguments become :class:`SharedBlob` values; the run's directory is
        added at the end, for the worker process to write a large result to.

        Raises:
            SerializationError: part of the call cannot be pickled (the message names it).
            TempWriteError: a large blob could not be written to the temporary directory.
        """
        try:
            call_fn, call_args, *rest = payload
            if any(type(a) is Shared for a in call_args):
                call_args = tuple(
                    self.blob(a, threshold) if type(a) is Shared else a for a in call_args
                )
            return dumps((call_fn, call_args, *rest, self.directory()))
        except (TempWriteError, KeyboardInterrupt):
            raise  # (TempWriteError: the value pickled; the disk is the problem)
        except BaseException as exc:  # a __reduce__ may raise SystemExit, say: fails this call
            raise self._explain(fn, args, payload, exc) from exc

    def _explain(
        self, fn: Any, args: tuple[Any, ...], payload: tuple[Any, ...], exc: BaseException
    ) -> SerializationError:
        kwargs, ctx = payload[2], payload[3]
        return explain_pickling_error(self.who, fn, args, kwargs, ctx, exc)

    def blob(self, shared: Shared, threshold: int) -> SharedBlob:
        """The run's :class:`SharedBlob` for ``shared``: pickled the first time it is seen.

        One of ``threshold`` bytes or more is written to a file of the run's directory.
        """
        hit = self.blobs.get(shared)
        if hit is not None:
            return hit
        data = dumps(shared)
        token = new_token(f"shared-{shared.name}")
        if len(data) >= threshold:
            path = os.path.join(self.directory(), token)
            write_temp_file(path, data, self.who)
            blob = SharedBlob(token, None, path, len(data))
        else:
            blob = SharedBlob(token, data, None, len(data))
        self.blobs[shared] = blob
        return blob

    def directory(self) -> str:
        """The run's temporary directory (created on first use).

        Raises:
            TempWriteError: it cannot be created.
        """
        if self._directory is None or not self._directory.alive or self._path is None:
            import shutil
            import tempfile

            try:
                path = tempfile.mkdtemp(prefix="headwater-shared-")
            except OSError as exc:
                raise TempWriteError.from_os_error(self.who, tempfile.gettempdir(), exc) from exc
            self._directory = weakref.finalize(self, shutil.rmtree, path, True)
            self._path = path
        return self._path

    def close(self) -> None:
        """Remove the run's temporary directory and what is in it."""
        if self._directory is not None:
            self._directory()
