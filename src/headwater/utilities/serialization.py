"""Qualified names of objects, and the fields and schemas of :mod:`headwater.serialization`.

>>> import json
>>> to_qualified_name(json.dumps)
'json.dumps'
>>> from_qualified_name("json.dumps") is json.dumps
True
"""

from __future__ import annotations

import sys
from typing import Any

from headwater.serialization._fields import (
    UUID,
    Bytes,
    DateTimeTZ,
    FunctionReference,
    JSONCompatible,
    Nested,
    SortedList,
    StatefulFunctionReference,
    missing,
    to_qualified_name,
)
from headwater.serialization._schema import ObjectSchema, OneOfSchema

__all__ = [
    "UUID",
    "Bytes",
    "DateTimeTZ",
    "FunctionReference",
    "JSONCompatible",
    "Nested",
    "ObjectSchema",
    "OneOfSchema",
    "SortedList",
    "StatefulFunctionReference",
    "from_qualified_name",
    "missing",
    "to_qualified_name",
]


def from_qualified_name(obj_str: str) -> Any:
    """The object at the dotted path ``obj_str``; its module must already be imported.

    Raises:
        ValueError: nothing importable is at that path (or its module is not imported yet).
    """
    parts = obj_str.split(".")
    for i in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is None:
            continue
        obj: Any = module
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        return obj
    raise ValueError(f"Couldn't load \"{obj_str}\"; maybe it hasn't been imported yet?")
