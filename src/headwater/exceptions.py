"""Exceptions raised by headwater.

The tree::

    HeadwaterError(Exception)            base of every ordinary headwater error
     +-- ClientError                      a secret or remote lookup failed
     +-- AuthorizationError
     +-- FlowStorageError                 a flow could not be stored or loaded
     +-- ConfigurationError (ValueError)  bad configuration file, variable or reference
     +-- SerializationError               a value could not be (de)serialized
     +-- TaskTimeoutSignal                raised inside a task run that exceeded ``timeout``

Signals that change a task's state (``SUCCESS``, ``FAIL``, ``SKIP`` ...) are not exceptions in
this sense: they derive from ``BaseException`` and live in :mod:`headwater.engine.signals`, so
that an ``except Exception`` in user code never swallows them.
"""

from __future__ import annotations

__all__ = [
    "AuthorizationError",
    "ClientError",
    "ConfigurationError",
    "FlowStorageError",
    "HeadwaterError",
    "PrefectError",
    "SerializationError",
    "TaskTimeoutSignal",
]


class HeadwaterError(Exception):
    """Base class of headwater's exceptions."""


PrefectError = HeadwaterError


class ClientError(HeadwaterError):
    """A secret or remote lookup failed."""


class AuthorizationError(ClientError):
    """Credentials were missing or rejected."""


class FlowStorageError(HeadwaterError):
    """A flow could not be stored in, or loaded from, its storage."""


class ConfigurationError(HeadwaterError, ValueError):
    """A configuration file, environment variable or reference is invalid."""


class SerializationError(HeadwaterError):
    """A value could not be serialized or deserialized."""


class TaskTimeoutSignal(HeadwaterError):
    """Raised when a task run exceeds its ``timeout``."""
