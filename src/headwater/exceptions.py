"""Exceptions and signals raised by headwater.

The tree::

    HeadwaterError(Exception)            base of every ordinary headwater error
     |                                    (aliases: PrefectError, PrefectException,
     |                                    HeadwaterException)
     +-- ClientError                      a secret or remote lookup failed
     |    +-- AuthorizationError          credentials were missing or rejected
     |    +-- ObjectNotFoundError         a looked-up object does not exist
     +-- FlowStorageError                 a flow could not be stored or loaded
     +-- ConfigurationError (ValueError)  bad configuration file, variable or reference
     +-- SerializationError               a value could not be (de)serialized
     +-- ServerNotAvailableError          the call needs a Prefect server or Cloud
     +-- WorkerLostError                  the worker running a task died before it finished

    HeadwaterSignal(BaseException)       base of signals (alias: PrefectSignal)
     +-- TaskTimeoutSignal                raised inside a task run that exceeded ``timeout``
     +-- VersionLockMismatchSignal        kept for compatibility; headwater never raises it
     +-- HeadwaterStateSignal             SUCCESS, FAIL, SKIP, RETRY ... (headwater.engine.signals)

Signals derive from ``BaseException`` so that an ``except Exception`` block in user code never
swallows them; the state signals live in :mod:`headwater.engine.signals`.

headwater runs flows in the calling process and has no server: the entry points of Prefect's
server and Cloud API (``Client``, agents, ``flow.register()``...) exist and raise
:class:`ServerNotAvailableError`, whose message names the local way to do the same thing::

    from headwater.exceptions import ServerNotAvailableError

    try:
        raise ServerNotAvailableError.for_feature("Client()", "use flow.run()")
    except ServerNotAvailableError as exc:
        assert "flow.run()" in str(exc)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthorizationError",
    "ClientError",
    "ConfigurationError",
    "FlowStorageError",
    "HeadwaterError",
    "HeadwaterException",
    "HeadwaterSignal",
    "ObjectNotFoundError",
    "PrefectError",
    "PrefectException",
    "PrefectSignal",
    "SerializationError",
    "ServerNotAvailableError",
    "TaskTimeoutSignal",
    "VersionLockMismatchSignal",
    "WorkerLostError",
]


class HeadwaterError(Exception):
    """Base class of headwater's exceptions."""


PrefectError = HeadwaterError
PrefectException = HeadwaterError
HeadwaterException = HeadwaterError


class ClientError(HeadwaterError):
    """A secret or remote lookup failed."""


class AuthorizationError(ClientError):
    """Credentials were missing or rejected."""


class ObjectNotFoundError(ClientError):
    """A looked-up object does not exist."""


class FlowStorageError(HeadwaterError):
    """A flow could not be stored in, or loaded from, its storage."""


class ConfigurationError(HeadwaterError, ValueError):
    """A configuration file, environment variable or reference is invalid."""


class SerializationError(HeadwaterError):
    """A value could not be serialized or deserialized."""


class ServerNotAvailableError(HeadwaterError):
    """The call needs a Prefect server or Prefect Cloud, which headwater does not have.

    headwater runs every flow in the calling process. Build the message with
    :meth:`for_feature` so that it always names the local alternative.
    """

    @classmethod
    def for_feature(cls, feature: str, alternative: str) -> ServerNotAvailableError:
        """An error saying that ``feature`` needs a server, and what to do instead.

        Args:
            feature: what was called, e.g. ``"flow.register()"``.
            alternative: the local way to do the same, e.g. ``"use flow.run()"``.
        """
        return cls(
            f"{feature} needs a Prefect server or Prefect Cloud, and headwater has no server: "
            f"it runs flows in the calling process. Instead, {alternative}."
        )


class WorkerLostError(HeadwaterError):
    """The thread, process or machine running a task died before the task finished.

    The task itself did not raise: its worker went away (killed, out of memory, crashed). The
    flow runner turns this into a ``Failed`` state (or a retry, per the task's retry settings).
    Executors raise it from ``wait``; it is also importable from
    :mod:`headwater.executors.dask`.

    Attributes:
        key: the executor's key of the call whose worker was lost, when known.
        task_name: the ``task_full_name`` the call was submitted with, when known.
    """

    def __init__(self, message: str, key: Any = None, task_name: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.task_name = task_name

    def __reduce__(self) -> tuple[type[WorkerLostError], tuple[Any, Any, str | None]]:
        return (type(self), (self.args[0], self.key, self.task_name))


class HeadwaterSignal(BaseException):
    """Base class of headwater's signals (not caught by ``except Exception``).

    Args:
        message: what happened.
    """

    def __init__(self, message: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(message, *args)
        self.message = message


PrefectSignal = HeadwaterSignal


class TaskTimeoutSignal(HeadwaterSignal):
    """Raised inside a task run that exceeds its ``timeout``."""


class VersionLockMismatchSignal(HeadwaterSignal):
    """Kept for compatibility with Prefect's server-side version locking; never raised."""
