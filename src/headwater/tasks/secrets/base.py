"""Secret tasks: tasks whose result is a secret value, so it is never persisted or logged.

:class:`SecretBase` is the base class: it turns checkpointing off, refuses options that would
store the value (``cache_for``, ``cache_key``, ``target``, ``result``, ``checkpoint=True``), and
gives the task a :class:`~headwater.engine.results.SecretResult` (which stores nothing) when that
result type is available. Its ``is_secret`` attribute tells the engine to keep the value in the
process: the task's state shows its result as ``****`` (``_repr_html_``, flow state tables), it is
never checkpointed, and a cached downstream task stores an input that comes from a secret task
only as a keyed hash. :class:`HeadwaterSecret` returns a local secret by name::

    from headwater import Flow, task
    from headwater.tasks.secrets import HeadwaterSecret

    @task
    def connect(password):
        return len(password)

    with Flow("secrets") as flow:
        password = HeadwaterSecret("DB_PASSWORD")
        size = connect(password)

    state = flow.run(context={"secrets": {"DB_PASSWORD": "hunter2"}})
    assert state.result[size].result == 7
"""

from __future__ import annotations

import importlib
from typing import Any

from headwater.client.secrets import Secret
from headwater.core.task import Task

__all__ = ["HeadwaterSecret", "PrefectSecret", "SecretBase"]

_STORING_OPTIONS = ("cache_for", "cache_key", "target", "result")


def _secret_result(task: Task) -> Any:
    """A ``SecretResult`` for ``task``, or ``None`` where that result type is unavailable."""
    try:
        results = importlib.import_module("headwater.engine.results")
    except ImportError:
        return None
    secret_result = getattr(results, "SecretResult", None)
    return None if secret_result is None else secret_result(task)


class SecretBase(Task):
    """Base class of tasks that return secrets: never checkpointed, cached or persisted.

    Args:
        **kwargs: any :class:`~headwater.core.task.Task` option except those that would store
            the value (``cache_for``, ``cache_key``, ``target``, ``result``, ``checkpoint=True``).

    Raises:
        ValueError: if one of those options is given.
    """

    is_secret = True
    """The task's value is a secret: the engine never checkpoints it or shows it."""

    rerun_on_restart = True
    """A run given this task's finished state runs it again (unless ``Cached``): the value is
    never kept, so downstream tasks get it from a fresh run."""

    def __init__(self, **kwargs: Any) -> None:
        owner = f"{type(self).__name__} {kwargs.get('name') or type(self).__name__!r}"
        for option in _STORING_OPTIONS:
            if kwargs.get(option) is not None:
                raise ValueError(
                    f"{owner}: secret tasks do not accept {option}=, because it would store the "
                    "secret value; pass the secret to the task that needs it instead."
                )
        if kwargs.get("checkpoint"):
            raise ValueError(
                f"{owner}: secret tasks are never checkpointed; remove checkpoint=True."
            )
        kwargs["checkpoint"] = False
        super().__init__(**kwargs)
        self.result = _secret_result(self)


class HeadwaterSecret(SecretBase):
    """A task returning a local secret (see :class:`headwater.client.Secret`).

    Args:
        name: the secret's name; also the task's name.
        **kwargs: any :class:`~headwater.core.task.Task` option allowed by :class:`SecretBase`.
    """

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"{type(self).__name__}: the secret name must be a string, got "
                f"{type(name).__name__}: {name!r}"
            )
        self.secret_name = name
        if name:
            kwargs["name"] = name
        super().__init__(**kwargs)

    def run(self, name: str | None = None) -> Any:
        """Return the secret's value.

        Args:
            name: the secret's name (default: the one given at construction).

        Raises:
            ValueError: if no name is given, or the secret is not set.
        """
        name = name if name is not None else self.secret_name
        if not name:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: no secret name given; pass "
                f"{type(self).__name__}('NAME') or name= when calling the task."
            )
        return Secret(name).get()


PrefectSecret = HeadwaterSecret
