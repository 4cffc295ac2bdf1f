"""Building GraphQL query strings from Python objects, and ``GraphQLResult``.

headwater talks to no GraphQL server; these helpers are kept because Prefect 1 code imports
them (``GraphQLResult`` as a dict class, ``parse_graphql`` to build query text)::

    >>> print(parse_graphql({"query": {with_args("flow", {"where": {"id": 3}}): {"id", }}}))
    query {
        flow(where: { id: 3 }) {
            id
        }
    }
"""

from __future__ import annotations

import base64
import gzip
import json
import textwrap
import uuid
from collections.abc import KeysView, ValuesView
from typing import Any

from headwater.utilities.collections import DotDict

__all__ = [
    "EnumValue",
    "GQLObject",
    "GraphQLResult",
    "LiteralSetValue",
    "compress",
    "decompress",
    "lowercase_first_letter",
    "multiline_indent",
    "parse_graphql",
    "parse_graphql_arguments",
    "with_args",
]

_INDENT = "    "
_SEQUENCES = (tuple, list, set, frozenset, KeysView, ValuesView)


def lowercase_first_letter(s: str) -> str:
    """``s`` with its first letter in lower case."""
    return s[:1].lower() + s[1:]


def multiline_indent(string: str, spaces: int) -> str:
    """Indent every line of ``string`` but the first by ``spaces`` spaces."""
    return string.replace("\n", "\n" + " " * spaces)


class GraphQLResult(DotDict):
    """A nested result with attribute access; its repr is indented JSON when possible."""

    def __repr__(self) -> str:
        try:
            return json.dumps(self.to_dict(), indent=4)
        except TypeError:
            return repr(self.to_dict())


class EnumValue:
    """A string rendered without quotes in GraphQL arguments (an enum value)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"

    def __hash__(self) -> int:
        return hash((type(self), self.value))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EnumValue):
            return NotImplemented
        return self.value == other.value


def LiteralSetValue(value: list[str]) -> str:
    """``["a", "b"]`` as the literal set ``{a, b}``."""
    return "{" + ", ".join(value) + "}"


class GQLObject:
    """A named GraphQL field; calling it with arguments gives the field with arguments."""

    def __init__(self, name: str | None = None, _arguments: Any = None) -> None:
        self._name = name or lowercase_first_letter(type(self).__name__)
        self._arguments = _arguments

    def __call__(self, arguments: Any) -> GQLObject:
        return type(self)(name=self._name, _arguments=arguments)

    def __repr__(self) -> str:
        return f'<GQL: "{self._name}">'

    def __str__(self) -> str:
        return with_args(self._name, self._arguments) if self._arguments else self._name


def _document(document: Any) -> str:
    if isinstance(document, _SEQUENCES):
        return "\n".join(_document(item) for item in document)
    if isinstance(document, dict):
        parts = []
        for key, value in document.items():
            if value is True or value is Ellipsis:
                parts.append(str(key))
            else:
                parts.append(f"{key} {{\n{_document(value)}\n}}")
        return _document(parts)
    if isinstance(document, type) and issubclass(document, GQLObject):
        raise TypeError(
            f'The document holds the GQLObject class "{document.__name__}"; use an instance '
            f"of it: {document.__name__}()."
        )
    return str(document).replace("\n", "\n" + _INDENT)


def parse_graphql(document: Any) -> str:
    """A GraphQL query from nested dicts, sequences, strings and :class:`GQLObject` s.

    A dict value of ``True`` or ``...`` means the key alone is a field.

    Raises:
        TypeError: the document holds a ``GQLObject`` class instead of an instance.
    """
    text = _document(document).replace(_INDENT + "}", "}")
    lines = []
    depth = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("}"):
            depth -= 1
        lines.append(_INDENT * max(depth, 0) + stripped)
        if stripped.endswith("{"):
            depth += 1
    return textwrap.dedent("\n".join(lines)).strip()


def _arguments(arguments: Any) -> str:
    if isinstance(arguments, dict):
        if not arguments:
            return "{}"
        return "{ " + ", ".join(f"{k}: {_arguments(v)}" for k, v in arguments.items()) + " }"
    if isinstance(arguments, _SEQUENCES):
        return "[" + ", ".join(_arguments(a) for a in arguments) + "]"
    if isinstance(arguments, str):
        return json.dumps(arguments)
    if arguments is True:
        return "true"
    if arguments is False:
        return "false"
    if arguments is None:
        return "null"
    if isinstance(arguments, uuid.UUID):
        return json.dumps(str(arguments))
    return str(arguments)


def parse_graphql_arguments(arguments: Any) -> str:
    """GraphQL argument text for a dict (outer braces dropped); a string is returned as is."""
    if isinstance(arguments, str):
        return arguments
    parsed = _arguments(arguments)
    return parsed[2:-2] if isinstance(arguments, dict) else parsed


def with_args(field: Any, arguments: Any) -> str:
    """``field(arguments)`` as GraphQL text."""
    return f"{parse_graphql(field)}({parse_graphql_arguments(arguments)})"


def compress(input: Any) -> str:
    """JSON, gzipped, as base64 text."""
    return base64.b64encode(gzip.compress(json.dumps(input).encode())).decode()


def decompress(string: str) -> Any:
    """The value :func:`compress` encoded."""
    return json.loads(gzip.decompress(base64.b64decode(string)).decode())
