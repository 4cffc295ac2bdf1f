"""``SecretResult``: the Result of a secret task; the secret is never written anywhere."""

from __future__ import annotations

from typing import Any

from headwater.engine.result.base import Location, Result

__all__ = ["SecretResult"]


class SecretResult(Result):
    """Wraps a secret task: reading runs the task again, writing is refused.

    The location is the secret's name (the task's name by default). The value is dropped when
    the Result is pickled, so a secret never reaches a cache, a state file or another process
    through its Result.

    Args:
        secret_task: the secret task (a ``SecretBase`` subclass with ``run(name=...)``).
        **kwargs: ``value`` and ``location``.

    Raises:
        ValueError: if a ``serializer`` is given.
    """

    drops_value_when_pickled = True
    """States holding this Result carry the value themselves when they travel to a worker."""

    def __init__(self, secret_task: Any, **kwargs: Any) -> None:
        if "serializer" in kwargs:
            raise ValueError(
                "Can't pass a serializer to a SecretResult: secret values are never serialized."
            )
        self.secret_task = secret_task
        if kwargs.get("location") is None:
            kwargs["location"] = getattr(secret_task, "name", None)
        super().__init__(**kwargs)

    def format(self, **fmt: Any) -> Result:
        """Return an unchanged copy: the location is a secret's name, not a template."""
        return self.copy()

    def read(self, location: str) -> Result:
        """Fetch the secret named ``location`` by running the secret task."""
        new = self.copy()
        new.value = self.secret_task.run(name=location)
        new.location = location
        return new

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        """Refuse: secret values are never stored.

        Raises:
            ValueError: always.
        """
        raise ValueError(
            f"SecretResult for {getattr(self.secret_task, 'name', self.secret_task)!r}: secret "
            "values are never written; pass the secret to the task that needs it instead."
        )

    def exists(self, location: Location, /, **fmt: Any) -> bool:
        """Always false: nothing is ever stored."""
        return False

    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        state["value"] = None
        return state

    def __repr__(self) -> str:
        return f"<SecretResult: {self.location!r}>"
