"""Walking the nested arguments of a submission (private; see :func:`map_futures`).

Executors that defer calls swap the futures inside a call's arguments for something else:
placeholders when the call is submitted, values when it runs. Futures may sit at any depth of
lists, tuples (named tuples too), sets, frozensets and dict values::

    >>> class Box:
    ...     def __init__(self, v):
    ...         self.v = v
    >>> map_futures({"a": [Box(1), (Box(2), "x")]}, Box, lambda b: b.v)
    {'a': [1, (2, 'x')]}

Containers without a match come back as they are (not copied), so a call whose arguments hold
no future costs one dict lookup per argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["map_futures"]

_OPAQUE, _LEAF, _DICT, _SEQ = 0, 1, 2, 3
# (type, leaf_type) -> what map_futures does with a value of that type; strings, numbers,
# None, Shared values and other non-containers are opaque (the context snapshot is mostly these)
_KINDS: dict[tuple[type, Any], int] = {}
_CACHE_LIMIT = 4096
_PLAIN_SEQUENCES = (list, tuple, set, frozenset)


def _kind(t: type, leaf_type: Any) -> int:
    """What :func:`map_futures` does with values of type ``t`` (remembered per type)."""
    key = (t, leaf_type)
    kind = _KINDS.get(key)
    if kind is not None:
        return kind
    if issubclass(t, leaf_type):
        kind = _LEAF
    elif t in (str, bytes, bytearray):
        kind = _OPAQUE
    elif issubclass(t, dict):
        kind = _DICT
    elif issubclass(t, _PLAIN_SEQUENCES):
        kind = _SEQ
    else:
        kind = _OPAQUE
    if len(_KINDS) < _CACHE_LIMIT:
        _KINDS[key] = kind
    return kind


def map_futures(obj: Any, leaf_type: type | tuple[type, ...], fn: Callable[[Any], Any]) -> Any:
    """Return ``obj`` with every instance of ``leaf_type`` replaced by ``fn(instance)``.

    Lists, tuples (named tuples too), sets, frozensets and dicts (values only) are searched at any
    depth. Containers without a match are returned as they are, not copied. ``leaf_type`` is a
    future or placeholder class: strings, numbers, booleans, ``None`` and other objects that
    are not such containers (a :class:`~headwater.executors.base.Shared` value, say) are never
    looked into.
    """
    t = type(obj)
    kind = _KINDS.get((t, leaf_type))
    if kind is None:
        kind = _kind(t, leaf_type)
    if kind == _OPAQUE:
        return obj
    if kind == _LEAF:
        return fn(obj)
    if kind == _DICT:
        return _map_dict(obj, leaf_type, fn)
    return _map_sequence(obj, leaf_type, fn)


def _map_dict(obj: Mapping[Any, Any], leaf_type: Any, fn: Callable[[Any], Any]) -> Any:
    kinds = _KINDS
    changed = False
    new = {}
    for k, v in obj.items():
        if kinds.get((type(v), leaf_type)) == _OPAQUE:
            new[k] = v
            continue
        w = map_futures(v, leaf_type, fn)
        changed = changed or w is not v
        new[k] = w
    if not changed:
        return obj
    if type(obj) is dict:
        return new
    try:  # a dict subclass (OrderedDict, defaultdict...) keeps its type
        out = obj.copy()  # type: ignore[attr-defined]
        out.update(new)
        return out
    except Exception:  # a subclass that cannot be copied: a plain dict
        return new


def _map_sequence(obj: Iterable[Any], leaf_type: Any, fn: Callable[[Any], Any]) -> Any:
    kinds = _KINDS
    changed = False
    items = []
    for v in obj:
        if kinds.get((type(v), leaf_type)) == _OPAQUE:
            items.append(v)
            continue
        w = map_futures(v, leaf_type, fn)
        changed = changed or w is not v
        items.append(w)
    if not changed:
        return obj
    return _rebuild(obj, items)


def _rebuild(obj: Any, items: list[Any]) -> Any:
    """A container of ``obj``'s type holding ``items`` (its plain base type if that fails)."""
    t = type(obj)
    if t in _PLAIN_SEQUENCES:
        return t(items)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # named tuple
        return t(*items)
    try:
        return t(items)
    except Exception:  # a subclass with another constructor: its base type
        for base in _PLAIN_SEQUENCES:
            if isinstance(obj, base):
                return base(items)
    return obj
