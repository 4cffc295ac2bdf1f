"""How states pickle, and how they read persisted results back.

A state pickles its fields as they are, except that an exception result which cannot be
pickled becomes a text naming the exception and why it could not be pickled (so that a failed
run can still travel between processes); any other value that cannot be pickled raises, as it
would for any object. The value is pickled once: a state holds either a plain value or the
``Result`` around it, never both.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["load_cached_results", "load_result", "picklable_fields", "restore_fields"]

# field names of states pickled before results were held in a ``Result``
_LEGACY = {"cached_inputs": "_cached_inputs", "state": "_state"}


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
        text = _unpicklable_text(value)
        if text is not None:
            holder = fields.get("_holder")
            if holder is None:
                fields["_value"] = text
            else:
                holder = holder.copy()
                holder.value = text
                fields["_holder"] = holder
    holder = fields.get("_holder")
    if holder is not None and getattr(holder, "drops_value_when_pickled", False):
        # a secret's Result forgets its value when pickled on its own (so it never reaches a
        # file through the Result); a state travelling to a worker still carries it
        fields["_carried_value"] = holder.value
    message = state.message
    if isinstance(message, BaseException):
        try:
            pickle.dumps(message)
        except Exception:  # the message is kept as its repr
            fields["message"] = repr(message)
    return fields


def _unpicklable_text(exc: Exception) -> str | None:
    """``None`` if ``exc`` pickles; else a text naming it and the pickling error."""
    import cloudpickle

    try:
        cloudpickle.dumps(exc)
    except Exception as err:  # any pickling failure is described
        return f"The following exception could not be pickled due to {err!r}: {exc!r}"
    return None


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
