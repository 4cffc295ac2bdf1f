"""Typing text, expanding ``$NAME`` and ``~``, and resolving ``${section.key}`` references.

:func:`string_to_type` and :func:`interpolate_env_vars` are public through
:mod:`headwater.configuration`::

    from headwater.configuration import interpolate_env_vars, string_to_type

    assert string_to_type("TRUE") is True and string_to_type("[1, 2]") == [1, 2]
    assert interpolate_env_vars("$N/x", env={"N": "a"}) == "a/x"

:func:`resolve_references` replaces references to other keys in a flattened configuration;
a value that is exactly one reference takes the referenced value with its type.
"""

from __future__ import annotations

import os
import re
from collections.abc import Container, Mapping
from typing import Any

from headwater.exceptions import ConfigurationError

__all__ = [
    "MAX_ROUNDS",
    "expand",
    "interpolate_env_vars",
    "resolve_references",
    "string_to_type",
]

MAX_ROUNDS = 10
"""How many rounds of expansion (or of nested references) a value may take to settle."""

_ENV_REF = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")
_CONFIG_REF = re.compile(r"\$\{([^${}]+)\}")


def string_to_type(val: str) -> Any:
    """Type a string the way environment variable values are typed.

    ``"true"``/``"false"`` (any case) become booleans; text that is a Python literal (numbers,
    ``None``, lists, dicts, quoted strings ...) becomes that value; anything else stays text.

    >>> string_to_type("TRUE"), string_to_type("3"), string_to_type("2.5")
    (True, 3, 2.5)
    >>> string_to_type("[1, 'a']"), string_to_type("hello")
    ([1, 'a'], 'hello')
    """
    low = val.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    import ast

    try:
        return ast.literal_eval(val)
    except Exception:  # not a literal: SyntaxError, ValueError, MemoryError ...
        return val


def _expand_once(text: str, env: Mapping[str, str], skip: Container[str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if m.group(2) and name in skip:  # ${home_dir}: a config reference, resolved later
            return m.group(0)
        return env.get(name, m.group(0))

    if "$" in text:
        text = _ENV_REF.sub(sub, text)
    if text[:1] == "~" and (len(text) == 1 or text[1] in "/\\"):
        home = env.get("HOME") or os.path.expanduser("~")
        text = home + text[1:]
    elif text[:1] == "~":
        text = os.path.expanduser(text)
    return text


def expand(text: str, env: Mapping[str, str], skip: Container[str] = ()) -> str:
    """``text`` with ``$NAME``, ``${NAME}`` and a leading ``~`` expanded until it settles.

    Args:
        text: the text to expand.
        env: the environment variables to read.
        skip: names that ``${name}`` leaves as written (the top-level configuration keys,
            whose references :func:`resolve_references` replaces later).

    Raises:
        ConfigurationError: expansion does not settle after :data:`MAX_ROUNDS` rounds.
    """
    for _ in range(MAX_ROUNDS):
        new = _expand_once(text, env, skip)
        if new == text:
            return new
        text = new
    raise ConfigurationError(
        f"expanding environment variables in {text!r} does not settle after {MAX_ROUNDS} "
        "rounds; an environment variable probably refers to itself"
    )


def interpolate_env_vars(env_var: Any, env: Mapping[str, str] | None = None) -> Any:
    """Expand ``$NAME``/``${NAME}`` and a leading ``~`` in a string.

    Expansion repeats while it changes the text (a variable may name another). Variables that
    are not set are left as written. When anything was expanded, the result is typed with
    :func:`string_to_type`; other values are returned unchanged.

    Args:
        env_var: the value to expand; non-strings are returned as they are.
        env: the environment to read (default ``os.environ``).

    >>> interpolate_env_vars("$N/x", env={"N": "a"}), interpolate_env_vars("$N", env={"N": "4"})
    ('a/x', 4)
    """
    if not isinstance(env_var, str) or not env_var:
        return env_var
    new = expand(env_var, os.environ if env is None else env)
    return env_var if new == env_var else string_to_type(new)


def _dotted(key: tuple[str, ...]) -> str:
    return ".".join(key)


class _Resolver:
    """Resolves the references of a flattened configuration, depth first, detecting cycles."""

    def __init__(
        self,
        flat: dict[tuple[str, ...], Any],
        sections: set[tuple[str, ...]],
        changed: set[tuple[str, ...]],
        verbatim: tuple[str, ...],
    ) -> None:
        self.flat, self.sections, self.changed, self.verbatim = flat, sections, changed, verbatim
        self.done: set[tuple[str, ...]] = set()
        self.stack: list[tuple[str, ...]] = []

    def lookup(self, name: str, referrer: tuple[str, ...]) -> Any:
        target = tuple(name.strip().split("."))
        if target in self.flat:
            return self.resolve(target)
        if target in self.sections:
            raise ConfigurationError(
                f"configuration key {_dotted(referrer)} refers to ${{{name}}}, which is a "
                "section; a reference must name a single key"
            )
        import warnings

        warnings.warn(
            f"configuration key {_dotted(referrer)} refers to ${{{name}}}, but {name!r} is "
            "neither a configuration key nor a set environment variable; the reference is "
            "replaced by an empty string",
            UserWarning,
            stacklevel=2,
        )
        return ""

    def resolve(self, key: tuple[str, ...]) -> Any:
        value = self.flat[key]
        verbatim = key[: len(self.verbatim)] == self.verbatim
        if key in self.done or not isinstance(value, str) or verbatim:
            return value
        if key in self.stack:
            cycle = [*self.stack[self.stack.index(key) :], key]
            raise ConfigurationError(
                "configuration references form a cycle: " + " -> ".join(_dotted(k) for k in cycle)
            )
        self.stack.append(key)
        # Substituting an inner reference may complete an outer one (``${a.${b}}``): repeat.
        for _ in range(MAX_ROUNDS):
            matches = list(_CONFIG_REF.finditer(value)) if isinstance(value, str) else []
            if not matches:
                break
            if len(matches) == 1 and matches[0].span() == (0, len(value)):
                value = self.lookup(matches[0].group(1), key)
            else:
                value = _CONFIG_REF.sub(lambda m: str(self.lookup(m.group(1), key)), value)
            self.flat[key] = value
            self.changed.add(key)
        self.stack.pop()
        self.done.add(key)
        return value


def resolve_references(
    flat: dict[tuple[str, ...], Any],
    sections: set[tuple[str, ...]],
    changed: set[tuple[str, ...]],
    verbatim: tuple[str, ...] = ("context", "secrets"),
) -> None:
    """Replace ``${section.key}`` references in the values of ``flat``, in place.

    Args:
        flat: ``{key path: value}`` of the whole configuration.
        sections: the paths that are sections (a reference to one is an error).
        changed: receives the paths whose value changed.
        verbatim: values under this section are left as written.

    Raises:
        ConfigurationError: a reference names a section, or references form a cycle. A
            reference to a key that does not exist becomes ``""`` with a ``UserWarning``.
    """
    resolver = _Resolver(flat, sections, changed, verbatim)
    for key in list(flat):
        resolver.resolve(key)
