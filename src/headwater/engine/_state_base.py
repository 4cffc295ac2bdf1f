"""The machinery every state shares: its value and ``Result``, context, pickling, loading.

:class:`headwater.engine.state.State` derives from :class:`StateBase`, which is kept apart so that
the state classes themselves stay short; use the public classes of ``headwater.engine.state``.
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Mapping
from typing import Any

from headwater.context import context as _context
from headwater.engine.result.base import NoResult, Result

__all__ = [
    "StateBase",
    "cached_inputs_if_any",
    "context_if_any",
    "context_value",
    "to_utc",
    "utc_now",
]

# The run context is read once per state (for ``task_tags``): straight from its variable.
_CTX_VAR = _context.context_var
_CTX_BASE = _context.base_values


def context_value(key: str) -> Any:
    """The run context's value for ``key`` (``None`` if unset), read without copying."""
    d = _CTX_VAR.get()
    try:
        return (_CTX_BASE if d is None else d).get(key)
    except AttributeError:  # a context replaced by something that is not a mapping
        return None


def utc_now() -> Any:
    """Now, as a pendulum ``DateTime`` in UTC."""
    import pendulum

    return pendulum.now("UTC")


def to_utc(dt: datetime.datetime) -> Any:
    """``dt`` as a pendulum ``DateTime`` in UTC (a naive ``dt`` is taken to be UTC)."""
    import pendulum

    if isinstance(dt, pendulum.DateTime):
        return dt.in_timezone("UTC")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.UTC)
    return pendulum.instance(dt).in_timezone("UTC")


_SLOTS: dict[type, tuple[str, ...]] = {}  # slot names per state class, found once

# Reads of a state's fields that create nothing, for the engine's hot path (a C-level getter
# costs a third of a property's call).
context_if_any: Callable[[Any], dict[str, Any] | None] = operator.attrgetter("_context")
"""``state.context`` if it was given or made, else ``None`` (no dict is created)."""
cached_inputs_if_any: Callable[[Any], dict[str, Any] | None] = operator.attrgetter("_cached_inputs")
"""``state.cached_inputs`` if there are any, else ``None`` (no dict is created)."""


class StateBase:
    """Fields and methods shared by all states (see :class:`headwater.engine.state.State`)."""

    # ``_value`` holds a plain value while ``_holder`` is ``None``; the ``Result`` around it
    # is made only when ``_result`` is read. ``_tags``: the task tags seen at creation, put in
    # ``context`` when it is first read. ``released``: set on a result-less copy made when a
    # memory-bounded run dropped the result; ``secret``: set (true) on the states of secret
    # tasks, whose result is shown as ``****``.
    __slots__ = (
        "__dict__",
        "message",
        "_value",
        "_holder",
        "_context",
        "_tags",
        "_cached_inputs",
        "released",
        "secret",
    )
    message: Any
    _value: Any
    _holder: Result | None
    _context: dict[str, Any] | None
    _tags: Any
    _cached_inputs: dict[str, Any] | None
    color = "#996633"
    compared_fields: tuple[str, ...] = ("cached_inputs",)
    """The attributes that ``==`` compares, besides the type and the result."""

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        context: dict[str, Any] | None = None,
        cached_inputs: dict[str, Any] | None = None,
    ) -> None:
        self.message = message
        if result is None:
            self._holder = NoResult
            self._value = None
        elif isinstance(result, Result):
            self._holder = result
            self._value = None
        else:
            self._holder = None
            self._value = result
        self._cached_inputs = cached_inputs or None
        d = _CTX_VAR.get()  # context_value("task_tags"), inlined: this runs for every state
        try:
            tags = (_CTX_BASE if d is None else d).get("task_tags")
        except AttributeError:  # a context replaced by something that is not a mapping
            tags = None
        if context:
            if tags is not None:
                context.setdefault("tags", list(tags))
            self._context = context
            self._tags = None
        else:
            self._context = None
            self._tags = tags

    @property
    def run_report(self) -> Any:
        """How the task run that made this state went, when it ran in another process: a
        :class:`~headwater.engine._run_reports.TaskRunReport` (its times, run count and log
        lines), else ``None``."""
        return getattr(self, "_run_report", None)

    @run_report.setter
    def run_report(self, report: Any) -> None:
        self._run_report = report  # in __dict__, pickled with the state; not compared by ==

    # -- result, context, inputs --------------------------------------------------------------
    @property
    def result(self) -> Any:
        """The value (of the ``Result`` holding it)."""
        holder = self._holder
        return self._value if holder is None else holder.value

    @result.setter
    def result(self, value: Any) -> None:
        if isinstance(value, Result):
            self._holder = value
            self._value = None
        else:
            self._holder = None
            self._value = value

    @property
    def result_holder(self) -> Any:
        """The ``Result`` holding the value (``NoResult`` for a state created without one).

        Prefect Core 1.x's ``state._result``, which is the same property. Setting a
        ``Result`` replaces it; ``None`` or a plain value replaces the value (a ``Result``
        holding it is made when this is next read).
        """
        holder = self._holder
        if holder is None:
            holder = self._holder = Result(value=self._value)
            self._value = None
        return holder

    @result_holder.setter
    def result_holder(self, value: Any) -> None:
        if value is None or isinstance(value, Result):
            self._holder = value
            self._value = None
        else:
            self._holder = None
            self._value = value

    _result = result_holder

    @property
    def context(self) -> dict[str, Any]:
        """Extra information carried with the state (created on first use)."""
        ctx = self._context
        if ctx is None:
            ctx = self._context = {}
            tags = self._tags
            if tags is not None:
                ctx["tags"] = list(tags)
                self._tags = None
        return ctx

    @context.setter
    def context(self, value: dict[str, Any] | None) -> None:
        self._context = value
        self._tags = None

    @property
    def cached_inputs(self) -> dict[str, Any]:
        """The inputs the task ran with (created on first use)."""
        inputs = self._cached_inputs
        if inputs is None:
            inputs = self._cached_inputs = {}
        return inputs

    @cached_inputs.setter
    def cached_inputs(self, value: dict[str, Any] | None) -> None:
        self._cached_inputs = value

    # -- identity -------------------------------------------------------------------------
    def __repr__(self) -> str:
        if self.message is not None:
            return f'<{type(self).__name__}: "{self.message}">'
        return f"<{type(self).__name__}>"

    def _repr_html_(self) -> str:
        """A table of the state (for a flow state: one row per task), shown by Jupyter."""
        from headwater.utilities.graph import state_to_html

        return state_to_html(self)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        """Equal: same type, equal results and equal extra data (message and context aside)."""
        if type(self) is not type(other):
            return False
        assert isinstance(other, StateBase)
        if not _same(self.result, other.result):
            return False
        for name in self.compared_fields:
            if not _same(getattr(self, name, None), getattr(other, name, None)):
                return False
        mine = self.__dict__
        if mine or other.__dict__:
            theirs = other.__dict__
            for name in mine.keys() | theirs.keys():
                if not name.startswith("_") and not _same(
                    mine.get(name, _MISSING), theirs.get(name, _MISSING)
                ):
                    return False
        return True

    def __hash__(self) -> int:
        return id(self)

    def __getstate__(self) -> dict[str, Any]:
        from headwater.engine._state_pickle import picklable_fields

        return picklable_fields(self, self.all_slots())

    def __setstate__(self, d: dict[str, Any]) -> None:
        from headwater.engine._state_pickle import restore_fields

        restore_fields(self, d)

    @classmethod
    def all_slots(cls) -> tuple[str, ...]:
        """The names of the slots of this class and its parents (``__dict__`` aside)."""
        slots = _SLOTS.get(cls)
        if slots is None:
            slots = _SLOTS[cls] = tuple(
                s
                for klass in reversed(cls.__mro__)
                for s in getattr(klass, "__slots__", ())
                if s != "__dict__"
            )
        return slots

    # -- results --------------------------------------------------------------------------
    def load_result(self, result: Result | None = None) -> Any:
        """Read the value back from where it was persisted, if it is not held already.

        Args:
            result: the ``Result`` whose ``read`` is used (with this state's location);
                defaults to the one the state holds. A ``Mapped`` state loads its children.

        Returns:
            This state.
        """
        from headwater.engine._state_pickle import load_result

        return load_result(self, result)

    def load_cached_results(self, results: Mapping[str, Result | None] | None = None) -> Any:
        """Read back the ``cached_inputs`` that were persisted and are not held already.

        Args:
            results: a ``Result`` per input name, whose ``read`` is used (with the input's
                location, or the given Result's own when the input has none).

        Returns:
            This state.
        """
        from headwater.engine._state_pickle import load_cached_results

        return load_cached_results(self, results)

    # -- serialization --------------------------------------------------------------------
    def serialize(self) -> dict[str, Any]:
        """This state as a JSON-compatible dict (Prefect 1's ``StateSchema`` shape)."""
        from headwater.serialization.state import StateSchema

        return StateSchema().dump(self)  # type: ignore[no-any-return]

    @staticmethod
    def deserialize(json_blob: dict[str, Any]) -> Any:
        """The state that :meth:`serialize` described (results come back as locations only)."""
        from headwater.serialization.state import StateSchema

        return StateSchema().load(json_blob)

    @classmethod
    def children(cls, include_self: bool = False, names_only: bool = False) -> list[Any]:
        """The state classes derived from this one (private ``_`` classes left out).

        Args:
            include_self: add this class at the end.
            names_only: return class names instead of classes.
        """
        out: list[type] = []
        for sub in cls.__subclasses__():
            if not sub.__name__.startswith("_"):
                out.append(sub)
            out.extend(sub.children())
        if include_self:
            out.append(cls)
        return [c.__name__ for c in out] if names_only else out

    @classmethod
    def parents(cls, include_self: bool = False, names_only: bool = False) -> list[Any]:
        """The state classes this one derives from, nearest first (private classes left out).

        Args:
            include_self: add this class at the end.
            names_only: return class names instead of classes.
        """
        out: list[type] = [
            c
            for c in cls.__mro__[1:]
            if c is not object and c is not StateBase and not c.__name__.startswith("_")
        ]
        if include_self:
            out.append(cls)
        return [c.__name__ for c in out] if names_only else out


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # e.g. numpy arrays / data frames: identity only
        return False
