"""The layers of a configuration: TOML files and ``HEADWATER__`` variables, merged into one tree.

Each value merged in is recorded with its :class:`Source` (the file or variable it came from),
so errors and ``headwater config show`` can say where a value was set. Helpers here also go the
other way: :func:`env_text` writes a value as environment-variable text that loads back the same.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from headwater._config.interpolate import string_to_type
from headwater._config.schema import KEY
from headwater.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_USER_CONFIG",
    "ENV_PREFIX",
    "USER_CONFIG_VAR",
    "KeyPath",
    "Source",
    "Sources",
    "apply_env",
    "dotted",
    "env_layer",
    "env_name",
    "env_text",
    "flatten",
    "merge",
    "read_toml",
    "typed_text",
]

DEFAULT_CONFIG = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config.toml"
)
"""Path of the packaged defaults (``headwater/config.toml``)."""
ENV_PREFIX = "HEADWATER"
"""The prefix of configuration environment variables."""
USER_CONFIG_VAR = "USER_CONFIG_PATH"
"""``HEADWATER__USER_CONFIG_PATH`` names the user file (it is not a configuration key)."""
DEFAULT_USER_CONFIG = "~/.headwater/config.toml"
"""The user file read when ``HEADWATER__USER_CONFIG_PATH`` is not set."""

KeyPath = tuple[str, ...]


class Source(NamedTuple):
    """Where a value came from.

    Attributes:
        kind: ``"default"``, ``"user"``, ``"env"`` or ``"set"``.
        where: the file path, the variable name, or a description.
    """

    kind: str
    where: str

    def __str__(self) -> str:
        return {
            "default": "default file {}",
            "user": "user file {}",
            "env": "environment variable {}",
        }.get(self.kind, "{}").format(self.where)


Sources = dict[KeyPath, Source]


def dotted(key: KeyPath) -> str:
    """``("a", "b")`` -> ``"a.b"``."""
    return ".".join(key)


def env_name(key: KeyPath, prefix: str = ENV_PREFIX) -> str:
    """The environment variable that sets ``key`` (``HEADWATER__SECTION__KEY``)."""
    return "__".join((prefix, *key)).upper()


def read_toml(path: str, kind: str) -> dict[str, Any]:
    """Parse TOML file ``path``, a ``kind`` ("default" or "user") configuration file.

    Raises:
        ConfigurationError: the file cannot be read, is not UTF-8, or is not valid TOML; the
            message names the file and, where known, the line.
    """
    import tomllib  # only when a file is read: the packaged defaults come from the schema

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        where = ""
        if "end of document" in str(exc):
            with open(path, "rb") as f:
                last = f.read().count(b"\n") + 1
            where = f" (line {last} is the end of the file)"
        raise ConfigurationError(
            f"{kind} configuration file {path} is not valid TOML: {exc}{where}"
        ) from exc
    except UnicodeDecodeError as exc:
        before = bytes(exc.object[: exc.start])
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigurationError(
            f"{kind} configuration file {path} is not UTF-8 text: byte "
            f"{exc.object[exc.start : exc.start + 1]!r} at line {line}, column {column} cannot be "
            "decoded. TOML files must be UTF-8: save the file with UTF-8 encoding."
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {kind} configuration file {path}: {exc.strerror or exc}"
        ) from exc


def _copy_tree(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy_tree(x) for k, x in value.items()}
    return value


def _mark(key: KeyPath, value: Any, source: Source, sources: Sources) -> None:
    sources[key] = source
    if isinstance(value, Mapping):
        for k, x in value.items():
            _mark((*key, k), x, source, sources)


def merge(
    dst: dict[str, Any],
    src: Mapping[str, Any],
    source: Source,
    sources: Sources,
    parent: KeyPath = (),
) -> None:
    """Merge ``src`` into ``dst`` section by section, recording ``source`` for each value."""
    for k, v in src.items():
        key = (*parent, k)
        if isinstance(v, Mapping) and isinstance(dst.get(k), dict):
            merge(dst[k], v, source, sources, key)
            continue
        dst[k] = _copy_tree(v)
        _mark(key, v, source, sources)


def env_layer(env: Mapping[str, str], prefix: str) -> Iterator[tuple[KeyPath, Any, str]]:
    """``(key, value, variable name)`` for each ``PREFIX__...`` variable, in name order.

    Parts are lower-cased, except secret names (``PREFIX__CONTEXT__SECRETS__Name``). Values are
    typed for their key (:meth:`~headwater._config.schema.Kind.parse`).

    Raises:
        ConfigurationError: a variable has an empty part (``PREFIX__A____B``).
    """
    start = prefix + "__"
    skip = start + USER_CONFIG_VAR
    for name in sorted(env):
        if not name.startswith(start) or name == skip:
            continue
        parts = name[len(start) :].split("__")
        if not all(parts):
            raise ConfigurationError(
                f"environment variable {name} has an empty section or key name; write "
                f"{start}SECTION__KEY=value (two underscores between parts)"
            )
        if len(parts) >= 3 and parts[0].lower() == "context" and parts[1].lower() == "secrets":
            key: KeyPath = ("context", "secrets", *parts[2:])  # secret names keep their case
        else:
            key = tuple(p.lower() for p in parts)
        yield key, typed_text(key, env[name]), name


def typed_text(key: KeyPath, text: str) -> Any:
    """``text`` typed for ``key``: verbatim for text kinds, else :func:`string_to_type`."""
    spec = KEY.get(key)
    return spec.kind.parse(text) if spec is not None else string_to_type(text)


def apply_env(data: dict[str, Any], key: KeyPath, value: Any, name: str, sources: Sources) -> None:
    """Set ``key`` to ``value`` (from variable ``name``), creating missing sections.

    Raises:
        ConfigurationError: the variable passes through a value, or replaces a section.
    """
    node = data
    for i, part in enumerate(key[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigurationError(
                f"environment variable {name} treats {dotted(key[: i + 1])} as a section, but "
                f"it is a value ({child!r}); set {env_name(key[: i + 1])} instead"
            )
        node = child
    if isinstance(node.get(key[-1]), dict) and not isinstance(value, Mapping):
        raise ConfigurationError(
            f"environment variable {name} sets {dotted(key)}, which is a section; set one of "
            f"its keys instead, e.g. {name}__KEY=value"
        )
    node[key[-1]] = _copy_tree(value)
    _mark(key, value, Source("env", name), sources)


def flatten(
    data: Mapping[str, Any],
    flat: dict[KeyPath, Any],
    sections: set[KeyPath],
    parent: KeyPath = (),
) -> None:
    """Fill ``flat`` with ``{key path: value}`` and ``sections`` with the section paths."""
    for k, v in data.items():
        key = (*parent, k)
        if isinstance(v, Mapping):
            sections.add(key)
            flatten(v, flat, sections, key)
        else:
            flat[key] = v


def env_text(key: KeyPath, value: Any) -> str:
    """``value`` as environment-variable text that loads back as ``value`` for ``key``."""
    if isinstance(value, str):
        spec = KEY.get(key)
        if spec is not None and spec.kind.text:
            return value  # read back verbatim
        typed = string_to_type(value)
        # Quote text that would otherwise come back as another value ("123", "true", "None").
        return value if type(typed) is str and typed == value else repr(value)
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        return str(int(seconds)) if seconds.is_integer() else str(seconds)
    if isinstance(value, (list, tuple, set, dict)):
        return repr(value)
    return str(value)
