"""Variables (Prefect 3's ``prefect.variables``): named JSON values shared by flows and processes.

Prefect keeps variables on its server; headwater keeps each one in a JSON file under
``{home_dir}/variables``, so a value set by one process is read by every later run, in any
process of the same user on the machine::

    from headwater.testing.utilities import headwater_test_harness
    from headwater.variables import Variable

    with headwater_test_harness():
        Variable.set("api_base_url", "https://example.com", tags=["config"])
        assert Variable.get("api_base_url") == "https://example.com"
        assert Variable.get("missing", default=3) == 3
        Variable.set("api_base_url", "https://example.org", overwrite=True)
        assert Variable.unset("api_base_url") and Variable.get("api_base_url") is None

Names are lower-case letters, digits, ``-`` and ``_`` (at most 255 characters); values are JSON
(a str, int, float, bool, None, or lists and dicts of them) of at most 5000 characters. Any
other name or value raises ``ValueError`` saying what is allowed (a name that can never be set
raises in ``get`` too, rather than giving the default).

As in Prefect 3, ``set``, ``get`` and ``unset`` called from async code (an ``async def`` flow
or task, or any coroutine) return a coroutine to await, and ``aset``, ``aget`` and ``aunset``
are always async; pass ``_sync=True`` to get the value at once anywhere.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

from headwater.modern import variables as _store

__all__ = ["Variable"]

T = TypeVar("T")


def _in_async_context() -> bool:
    """Whether the caller is async code: an ``async def`` task or flow, or a running loop."""
    from headwater.modern.context import current_flow_run, current_task_run

    task_run = current_task_run()
    if task_run is not None:
        return bool(getattr(task_run.task, "is_async", getattr(task_run.task, "isasync", False)))
    flow_run = current_flow_run()
    if flow_run is not None:
        return bool(getattr(flow_run.flow, "isasync", False))
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _dispatch(sync: bool | None, value: Any) -> Any:
    """``value``, or in async code a coroutine giving it."""
    if sync or (sync is None and not _in_async_context()):
        return value

    async def result() -> Any:
        return value

    return result()


class Variable(Generic[T]):
    """A variable: a name, a JSON value and tags. Use the class methods; see the module.

    Attributes:
        name: the variable's name.
        value: its value.
        tags: its tags.
    """

    def __init__(self, name: str, value: T, tags: list[str] | None = None) -> None:
        self.name = _store.check_name(name)
        self.value = value
        self.tags = list(tags or [])

    def model_dump(self) -> dict[str, Any]:
        """The variable as a dict (``name``, ``value``, ``tags``)."""
        return {"name": self.name, "value": self.value, "tags": list(self.tags)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Variable) and self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Variable(name={self.name!r}, value={self.value!r}, tags={self.tags!r})"

    @classmethod
    def _set(cls, name: str, value: Any, tags: list[str] | None, overwrite: bool) -> Variable[T]:
        if tags is not None and (
            not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags)
        ):
            raise TypeError(f"Variable {name!r}: tags must be a list of strings, got {tags!r}.")
        document = _store.write(name, value, list(tags or []), overwrite)
        return cls(document["name"], document["value"], document["tags"])

    @classmethod
    def set(
        cls,
        name: str,
        value: Any,
        tags: list[str] | None = None,
        overwrite: bool = False,
        _sync: bool | None = None,
    ) -> Any:
        """Set variable ``name`` to ``value``; returns the :class:`Variable`.

        Args:
            name: the variable's name.
            value: its JSON value.
            tags: tags to keep with it.
            overwrite: replace the variable if it exists.

        Raises:
            ValueError: the name or value is not valid, or the variable exists and
                ``overwrite`` is false.
        """
        return _dispatch(_sync, cls._set(name, value, tags, overwrite))

    @classmethod
    async def aset(
        cls, name: str, value: Any, tags: list[str] | None = None, overwrite: bool = False
    ) -> Variable[T]:
        """The async form of :meth:`set`."""
        return cls._set(name, value, tags, overwrite)

    @classmethod
    def _get(cls, name: str, default: Any) -> Any:
        document = _store.read(name)
        return default if document is None else document["value"]

    @classmethod
    def get(cls, name: str, default: Any = None, _sync: bool | None = None) -> Any:
        """The value of variable ``name``, or ``default`` when it is not set."""
        return _dispatch(_sync, cls._get(name, default))

    @classmethod
    async def aget(cls, name: str, default: Any = None) -> Any:
        """The async form of :meth:`get`."""
        return cls._get(name, default)

    @classmethod
    def unset(cls, name: str, _sync: bool | None = None) -> Any:
        """Remove variable ``name``; whether it was set (``True``) or not (``False``)."""
        return _dispatch(_sync, _store.delete(name))

    @classmethod
    async def aunset(cls, name: str) -> bool:
        """The async form of :meth:`unset`."""
        return _store.delete(name)
