"""Loading a configuration: layers merged, then checked, expanded and resolved.

:func:`load_layers` does the whole load into plain dicts, remembering where each value came
from; :mod:`headwater.configuration` turns the result into a ``Config``. The value of every
known key is checked against its kind in :mod:`headwater._config.schema`, so a mistake is
reported at load with the key, the value and the file or variable it came from::

    from headwater._config.layers import DEFAULT_CONFIG
    from headwater._config.load import load_layers

    env = {"HEADWATER__DEBUG": "true"}
    loaded = load_layers(DEFAULT_CONFIG, "", env, "HEADWATER", frozenset())
    assert loaded.data["debug"] is True
    assert str(loaded.sources[("debug",)]) == "environment variable HEADWATER__DEBUG"
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from headwater._config.interpolate import expand, resolve_references
from headwater._config.layers import (
    DEFAULT_CONFIG,
    DEFAULT_USER_CONFIG,
    USER_CONFIG_VAR,
    KeyPath,
    Source,
    Sources,
    apply_env,
    dotted,
    env_layer,
    flatten,
    merge,
    read_toml,
    typed_text,
)
from headwater._config.schema import KEY, SECRETS, SECTIONS, defaults_tree, is_number
from headwater._config.types import Config
from headwater.exceptions import ConfigurationError

__all__ = [
    "Loaded",
    "Row",
    "check_structure",
    "check_value",
    "explain",
    "load_layers",
    "process_task_defaults",
]

StrPath = str | os.PathLike[str]


class Loaded(NamedTuple):
    """The result of :func:`load_layers`.

    Attributes:
        data: the configuration as nested dicts, values as written (before
            :func:`process_task_defaults`).
        sources: where each key (and each section) was last set.
        user_file: the user file that was read, the path looked for marked ``(not found)``, or
            ``None`` when no user file was asked for.
    """

    data: dict[str, Any]
    sources: Sources
    user_file: str | None


def check_value(key: KeyPath, value: Any, source: Source | None, note: str = "") -> None:
    """Check the value of a known key against its kind; other keys take any value.

    Raises:
        ConfigurationError: naming the key, what it must be, the value, where it came from and
            how to fix it.
    """
    spec = KEY.get(key)
    if spec is None or spec.kind.check(value):
        return
    expected = spec.kind.expected
    where = f" from {source}" if source else ""
    if source and source.kind == "env":
        fix = f"set {source.where} to {expected}"
    elif source and source.kind in ("default", "user"):
        fix = f"change {dotted(key)} in {source.where}"
    else:
        fix = f"set it to {expected}"
    raise ConfigurationError(
        f"configuration key {dotted(key)} must be {expected}, got {value!r} "
        f"({type(value).__name__}){where}{note}; {fix}"
    )


def check_structure(
    flat: Mapping[KeyPath, Any],
    sections: set[KeyPath],
    sources: Mapping[KeyPath, Source],
    reserved: frozenset[str],
) -> None:
    """Check that no key is named like a ``Config`` method and no section is set to a value.

    Raises:
        ConfigurationError: naming the key and where it was set.
    """
    for path in [*flat, *sections]:
        if path and path[-1] in reserved:
            src = sources.get(path)
            raise ConfigurationError(
                f"configuration key {dotted(path)!r}{f' from {src}' if src else ''} is not "
                f"allowed: {path[-1]!r} is the name of a Config method; rename it"
            )
    for key, value in flat.items():
        if key in SECTIONS:
            src = sources.get(key)
            raise ConfigurationError(
                f"configuration key {dotted(key)} is a section (a table of keys), but "
                f"{f'{src} sets' if src else 'it was set to'} the value {value!r}"
            )


def _read_defaults(path: str) -> dict[str, Any]:
    # The packaged file is generated from the schema (a test keeps them equal), so its
    # content comes from the schema without reading or parsing TOML.
    if os.path.abspath(path) == DEFAULT_CONFIG:
        return defaults_tree()
    return read_toml(path, "default")


def _merge_user_files(
    data: dict[str, Any],
    sources: Sources,
    env: Mapping[str, str],
    env_prefix: str | None,
    user_config_path: StrPath | None,
    backend_config_path: StrPath | None,
) -> str | None:
    if user_config_path is None and env_prefix is not None:
        user_config_path = env.get(f"{env_prefix}__{USER_CONFIG_VAR}", DEFAULT_USER_CONFIG)
    user_path: str | None = None
    if user_config_path:  # "" reads no user file
        user_path = expand(os.fspath(user_config_path), env)
        if os.path.exists(user_path):
            merge(data, read_toml(user_path, "user"), Source("user", user_path), sources)
        else:
            user_path += " (not found)"
    if backend_config_path:
        backend_path = expand(os.fspath(backend_config_path), env)
        if os.path.isfile(backend_path):
            merge(data, read_toml(backend_path, "user"), Source("user", backend_path), sources)
    return user_path


def _expand_env_vars(
    flat: dict[KeyPath, Any], env: Mapping[str, str], skip: frozenset[str], changed: set[KeyPath]
) -> None:
    for key, value in flat.items():
        if isinstance(value, str) and key[:2] != SECRETS:
            new = expand(value, env, skip)
            if new != value:
                flat[key] = new
                changed.add(key)


def _check_values(flat: dict[KeyPath, Any], changed: set[KeyPath], sources: Sources) -> None:
    for key, value in flat.items():
        if key in changed:
            if isinstance(value, str):
                value = flat[key] = typed_text(key, value)
            check_value(key, value, sources.get(key), note=" after interpolation")
        else:
            check_value(key, value, sources.get(key))


def _interpolate(
    data: dict[str, Any], sources: Sources, env: Mapping[str, str], reserved: frozenset[str]
) -> None:
    """Check the merged tree, expand and resolve its strings, and check the values, in place."""
    flat: dict[KeyPath, Any] = {}
    sections: set[KeyPath] = set()
    flatten(data, flat, sections)
    check_structure(flat, sections, sources, reserved)
    top = frozenset(k[0] for k in flat) | frozenset(k[0] for k in sections)
    changed: set[KeyPath] = set()
    _expand_env_vars(flat, env, top, changed)
    resolve_references(flat, sections, changed, SECRETS)
    _check_values(flat, changed, sources)
    for key in changed:
        node = data
        for part in key[:-1]:
            node = node[part]
        node[key[-1]] = flat[key]


def load_layers(
    path: StrPath,
    user_config_path: StrPath | None,
    env: Mapping[str, str] | None,
    env_prefix: str | None,
    reserved: frozenset[str],
    backend_config_path: StrPath | None = None,
) -> Loaded:
    """Merge the layers, expand and resolve, and check every known key.

    Args:
        path: the defaults file.
        user_config_path: the user file; ``None`` reads the one named by
            ``PREFIX__USER_CONFIG_PATH`` (default ``~/.headwater/config.toml``) when
            ``env_prefix`` is given, and none otherwise; ``""`` reads none.
        env: the environment (default ``os.environ``), for variables and ``$NAME`` expansion.
        env_prefix: the prefix of configuration variables to read; ``None`` reads none.
        reserved: names no key may take (the methods of ``Config``).
        backend_config_path: one more file merged over the user file, if it exists.

    Raises:
        ConfigurationError: naming the file, variable or key at fault.
    """
    env = os.environ if env is None else env
    sources: Sources = {}
    data: dict[str, Any] = {}
    default_path = os.fspath(path)
    merge(data, _read_defaults(default_path), Source("default", default_path), sources)
    user_file = _merge_user_files(
        data, sources, env, env_prefix, user_config_path, backend_config_path
    )
    if env_prefix is not None:
        for key, value, name in env_layer(env, env_prefix):
            apply_env(data, key, value, name, sources)
    _interpolate(data, sources, env, reserved)
    return Loaded(data, sources, user_file)


Row = tuple[str, Any, str]
"""``(dotted key, value as written, source)``."""


def explain(
    path: StrPath,
    user_config_path: StrPath | None,
    env: Mapping[str, str] | None,
    env_prefix: str,
    reserved: frozenset[str],
) -> tuple[list[Row], str | None]:
    """Load as :func:`load_layers` does and return one :data:`Row` per key, in file order.

    Returns:
        ``(rows, user_file)``, ``user_file`` as in :class:`Loaded`.
    """
    loaded = load_layers(path, user_config_path, env, env_prefix, reserved)
    flat: dict[KeyPath, Any] = {}
    flatten(loaded.data, flat, set())
    rows = [(dotted(k), v, str(loaded.sources.get(k, "unknown"))) for k, v in flat.items()]
    return rows, loaded.user_file


def process_task_defaults(config: Config) -> Config:
    """Normalise ``tasks.defaults`` in place: 0/None values mean "not set".

    ``max_retries`` becomes ``0`` when unset; ``retry_delay`` and ``timeout`` become ``None``
    when 0 or unset, and a ``timedelta`` when given in seconds.

    Returns:
        ``config`` itself.
    """
    tasks = config.setdefault("tasks", Config())
    defaults = tasks.setdefault("defaults", Config())
    defaults["max_retries"] = defaults.get("max_retries") or 0
    for key in ("retry_delay", "timeout"):
        value = defaults.get(key)
        if not value:
            defaults[key] = None
        elif is_number(value):
            defaults[key] = datetime.timedelta(seconds=value)
    return config
