"""Dict helpers: attribute-access dicts and flattening of nested mappings.

>>> d = DotDict(a=1, b={"c": 2})
>>> d.a, d["b"]["c"]
(1, 2)
>>> as_nested_dict({"x": {"y": 1}}).x.y
1
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

__all__ = [
    "CompoundKey",
    "DotDict",
    "as_nested_dict",
    "dict_to_flatdict",
    "flatdict_to_dict",
    "flatten_seq",
    "merge_dicts",
]


class DotDict(MutableMapping[str, Any]):
    """A dict whose keys are also attributes.

    Keys that are not valid identifiers can still be used with item access.
    """

    def __init__(self, init_dict: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if init_dict:
            self.update(init_dict)
        if kwargs:
            self.update(kwargs)

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__[key] = value

    def __setattr__(self, key: str, value: Any) -> None:
        self.__dict__[key] = value

    def __delitem__(self, key: str) -> None:
        del self.__dict__[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def __contains__(self, key: object) -> bool:
        return key in self.__dict__

    def __repr__(self) -> str:
        if self.__dict__:
            return f"<{type(self).__name__}: {', '.join(sorted(map(repr, self.__dict__)))}>"
        return f"<{type(self).__name__}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)

    def copy(self) -> DotDict:
        return type(self)(self.__dict__.copy())

    def to_dict(self) -> dict[str, Any]:
        """Return a plain (recursively converted) dict."""
        plain: dict[str, Any] = as_nested_dict(self, dict)
        return plain


class CompoundKey(tuple[Any, ...]):
    """A tuple key produced by :func:`dict_to_flatdict`."""


def merge_dicts(d1: Mapping[Any, Any], d2: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """Recursively merge ``d2`` into a copy of ``d1``; values of ``d2`` win."""
    new: Any = d1.copy()  # type: ignore[attr-defined]
    for k, v in d2.items():
        if isinstance(new.get(k), Mapping) and isinstance(v, Mapping):
            new[k] = merge_dicts(new[k], v)
        else:
            new[k] = v
    merged: Mapping[Any, Any] = new
    return merged


def as_nested_dict(obj: Any, dct_class: type = DotDict) -> Any:
    """Convert nested mappings (and mappings inside lists/tuples/sets) to ``dct_class``."""
    if isinstance(obj, (list, tuple, set)):
        return type(obj)(as_nested_dict(d, dct_class) for d in obj)
    if isinstance(obj, Mapping):
        return dct_class({k: as_nested_dict(v, dct_class) for k, v in obj.items()})
    return obj


def dict_to_flatdict(
    dct: Mapping[Any, Any], parent: CompoundKey | None = None
) -> dict[CompoundKey, Any]:
    """``{"a": {"b": 1}}`` -> ``{CompoundKey(("a", "b")): 1}``."""
    items: list[tuple[CompoundKey, Any]] = []
    parent = parent or CompoundKey()
    for k, v in dct.items():
        k_parent = CompoundKey(parent + (k,))
        if isinstance(v, Mapping):
            items.extend(dict_to_flatdict(v, parent=k_parent).items())
        else:
            items.append((k_parent, v))
    return dict(items)


def flatdict_to_dict(
    dct: Mapping[Any, Any], dct_class: type | None = None
) -> MutableMapping[Any, Any]:
    """Inverse of :func:`dict_to_flatdict`."""
    result: MutableMapping[Any, Any] = (dct_class or dict)()
    for k, v in dct.items():
        if isinstance(k, CompoundKey):
            current = result
            for ki in k[:-1]:
                current = current.setdefault(ki, (dct_class or dict)())
            current[k[-1]] = v
        else:
            result[k] = v
    return result


def flatten_seq(seq: Iterable[Any]) -> Iterator[Any]:
    """Yield the non-sequence items of arbitrarily nested lists, tuples and sets."""
    for item in seq:
        if isinstance(item, (list, tuple, set)):
            yield from flatten_seq(item)
        else:
            yield item
