"""How states pickle, and how they read persisted results back.

A state pickles its fields as they are, except that an exception result which cannot be
pickled becomes a text naming the exception and why it could not be pickled (so that a failed
run can still travel between processes); any other value that cannot be pickled raises, as it
would for any object.

The value is pickled once: a state holds either a plain value or the ``Result`` around it,
never both, and an exception (result or message) is pickled with cloudpickle once, to learn
whether it can be, and those bytes are what the state carries (:class:`PickledValue`, which
unpickles as the exception itself).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "PickledValue",
    "load_cached_results",
    "load_result",
    "picklable_fields",
    "pickled_once",
    "restore_fields",
]

# field names of states pickled before results were held in a ``Result``
_LEGACY = {"cached_inputs": "_cached_inputs", "state": "_state"}


class PickledValue:
    """A value pickled already: pickled again, it is its bytes; unpickled, the value itself.

    ``original`` (never pickled) is the value, for a shallow copy that never pickles.
    """

    __slots__ = ("data", "original")

    def __init__(self, data: bytes, original: Any) -> None:
        self.data = data
        self.original = original

    def __reduce__(self) -> tuple[Any, ...]:
        return (pickle.loads, (self.data,))


def pickled_once(exc: BaseException) -> PickledValue | str:
    """``exc`` pickled (with cloudpickle), or a text naming it and why it could not be."""
    import cloudpickle

    try:
        return PickledValue(cloudpickle.dumps(exc), exc)
    except Exception as err:  # any pickling failure is described
        return f"The following exception could not be pickled due to {err!r}: {exc!r}"


def picklable_fields(state: Any, slots: Iterable[str]) -> dict[str, Any]:
    """The fields a state pickles: its ``__dict__`` and its slots (those that are set)."""
    fields = dict(state.__dict__)
    for name in slots:
        try:
            fields[name] = object.__getattribute__(state, name)
        except AttributeError:
            pass
    value = state.result
    if isinstance(value, Exception):
        _carry_exception(fields, value)
    holder = fields.get("_holder")
    if holder is not None and getattr(holder, "drops_value_when_pickled", False):
        # a secret's Result forgets its value when pickled on its own (so it never reaches a
        # file through the Result); a state travelling to a worker still carries it
        fields["_carried_value"] = holder.value
    message = fields.get("message")
    if isinstance(message, BaseException):
        carried = pickled_once(message)
        fields["message"] = repr(message) if isinstance(carried, str) else carried
    return fields


def _carry_exception(fields: dict[str, Any], exc: Exception) -> None:
    """Put ``exc`` pickled once (or the text saying why it cannot be) in place of the result.

    The message and the context's values that are ``exc`` itself get the same object, so
    that they are still one exception when the state is unpickled.
    """
    carried = pickled_once(exc)
    holder = fields.get("_holder")
    if holder is None:
        fields["_value"] = carried
    else:
        holder = fields["_holder"] = holder.copy()
        holder.value = carried
    if fields.get("message") is exc:
        fields["message"] = carried
    extra = fields.get("_context")
    if extra and any(v is exc for v in extra.values()):
        fields["_context"] = {k: carried if v is exc else v for k, v in extra.items()}


def _unwrapped(value: Any) -> Any:
    """The value of a :class:`PickledValue` (left in place by ``copy.copy``), else ``value``."""
    return value.original if type(value) is PickledValue else value


def restore_fields(state: Any, fields: dict[str, Any]) -> None:
    """Set the fields :func:`picklable_fields` gave (also those of older pickles)."""
    if "result" in fields:  # an older pickle: the value and its Result side by side
        fields = dict(fields)
        value = fields.pop("result")
        holder = fields.pop("_result", None)
        if holder is not None:
            fields["_holder"], fields["_value"] = holder, None
        else:
            fields["_holder"], fields["_value"] = None, value
        for old, new in _LEGACY.items():
            if old in fields:
                fields[new] = fields.pop(old)
        for name in ("_tags", "_context", "_cached_inputs"):
            fields.setdefault(name, None)
    if "_carried_value" in fields:
        fields = dict(fields)
        carried = fields.pop("_carried_value")
        holder = fields.get("_holder")
        if holder is not None:
            holder = fields["_holder"] = holder.copy()
            holder.value = carried
    for name, value in fields.items():
        object.__setattr__(state, name, value)
    # copy.copy() hands the fields back as they are, with the exceptions still pickled
    for name in ("message", "_value"):
        if type(fields.get(name)) is PickledValue:
            object.__setattr__(state, name, _unwrapped(fields[name]))
    holder = fields.get("_holder")
    if holder is not None and type(getattr(holder, "value", None)) is PickledValue:
        holder = holder.copy()
        holder.value = _unwrapped(holder.value)
        object.__setattr__(state, "_holder", holder)
    extra = fields.get("_context")
    if extra and any(type(v) is PickledValue for v in extra.values()):
        object.__setattr__(state, "_context", {k: _unwrapped(v) for k, v in extra.items()})


def load_result(state: Any, result: Any = None) -> Any:
    """Fill ``state``'s value from its ``Result``'s location, read with ``result`` (see
    :meth:`State.load_result`)."""
    if state.is_mapped():
        state.map_states = [
            s.load_result(result) if s is not None else None for s in state.map_states
        ]
        if state.map_states:
            state.result = [getattr(s, "result", None) for s in state.map_states]
        return state
    holder = state.result_holder
    reader = result or holder
    location = getattr(holder, "location", None)
    if getattr(holder, "value", None) is None and location is not None:
        state.result_holder = reader.read(location)
    return state


def load_cached_results(state: Any, results: Mapping[str, Any] | None = None) -> Any:
    """Fill ``state.cached_inputs`` from their locations (see :meth:`State.load_cached_results`)."""
    results = results or {}
    loaded: dict[str, Any] = {}
    for key, res in state.cached_inputs.items():
        reader = results.get(key, res)
        if not hasattr(res, "location"):  # a plain value is kept as it is
            loaded[key] = res
            continue
        location = res.location or getattr(reader, "location", None)
        if res.value is None and location is not None and reader is not None:
            loaded[key] = reader.read(location)
        else:
            loaded[key] = res
    state.cached_inputs = loaded
    return state
