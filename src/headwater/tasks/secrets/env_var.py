"""A secret task reading an environment variable.

::

    import os

    from headwater import Flow, task
    from headwater.tasks.secrets import EnvVarSecret

    @task
    def plan(workers):
        return f"using {workers * 2} threads"

    os.environ["WORKERS"] = "8"

    with Flow("env") as flow:
        message = plan(EnvVarSecret("WORKERS", cast=int))

    state = flow.run()
    assert state.result[message].result == "using 16 threads"

The variable is read when the task runs, not when the flow is built.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from headwater.tasks.secrets.base import SecretBase
from headwater.utilities.tasks import defaults_from_attrs

__all__ = ["EnvVarSecret"]


class EnvVarSecret(SecretBase):
    """Return the value of an environment variable, optionally converted.

    Args:
        name: the variable's name; also the task's name.
        cast: a callable converting the text value (e.g. ``int``, ``json.loads``).
        raise_if_missing: fail when the variable is not set, instead of returning ``None``.
        **kwargs: any :class:`~headwater.core.task.Task` option allowed by
            :class:`~headwater.tasks.secrets.SecretBase`.

    Raises:
        TypeError: if ``name`` is not a string or ``cast`` is not callable.
    """

    def __init__(
        self,
        name: str | None = None,
        cast: Callable[[str], Any] | None = None,
        raise_if_missing: bool = False,
        **kwargs: Any,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"EnvVarSecret: the variable name must be a string, got "
                f"{type(name).__name__}: {name!r}"
            )
        if cast is not None and not callable(cast):
            raise TypeError(
                f"EnvVarSecret {name!r}: cast must be callable (e.g. int), got {cast!r}"
            )
        self.var_name = name
        self.cast = cast
        self.raise_if_missing = raise_if_missing
        if name:
            kwargs["name"] = name
        super().__init__(**kwargs)

    @defaults_from_attrs("cast", "raise_if_missing")
    def run(
        self,
        name: str | None = None,
        cast: Callable[[str], Any] | None = None,
        raise_if_missing: bool | None = None,
    ) -> Any:
        """Return the variable's value (cast if asked), or ``None`` if it is not set.

        Raises:
            ValueError: if no name is given; if the variable is not set and
                ``raise_if_missing`` is true; or if ``cast`` fails (the message names the
                variable but never shows its value).
        """
        name = name if name is not None else self.var_name
        if not name:
            raise ValueError(
                f"EnvVarSecret {self.name!r}: no variable name given; pass EnvVarSecret('NAME') "
                "or name= when calling the task."
            )
        value = os.environ.get(name)
        if value is None:
            if raise_if_missing:
                raise ValueError(f"EnvVarSecret: environment variable {name!r} is not set.")
            return None
        if cast is None:
            return value
        try:
            return cast(value)
        except Exception as exc:
            raise ValueError(
                f"EnvVarSecret: could not convert environment variable {name!r} with "
                f"{getattr(cast, '__name__', cast)!r} ({type(exc).__name__}); its value is not "
                "shown because it is a secret."
            ) from None
