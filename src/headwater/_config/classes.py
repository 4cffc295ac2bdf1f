"""Importing the classes that configuration keys name (``engine.executor.default_class`` ...).

A class path is only imported when headwater needs the class. A path that does not import is a
:class:`~headwater.exceptions.ConfigurationError` naming the key, where its value came from,
what went wrong and an example of a valid path::

    from headwater._config.classes import import_configured
    from headwater.executors import LocalExecutor

    assert import_configured("my_app.cls", "headwater.executors.LocalExecutor") is LocalExecutor
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from headwater._config.layers import DEFAULT_CONFIG, ENV_PREFIX, env_name
from headwater.exceptions import ConfigurationError

__all__ = ["import_configured", "load_class_from_config"]

_CLASS_EXAMPLES = {
    "engine.executor.default_class": "headwater.executors.LocalDaskExecutor",
    "engine.flow_runner.default_class": "headwater.engine.flow_runner.FlowRunner",
    "engine.task_runner.default_class": "headwater.engine.task_runner.TaskRunner",
}


def _origin(key: str, value: Any) -> str:
    """Where the loaded configuration got ``key`` from (" (from user file ...)"), if it did.

    Only used to word errors: it loads the configuration again, with the process environment.
    """
    from headwater._config.current import reserved_names
    from headwater._config.load import explain

    try:
        rows, _ = explain(DEFAULT_CONFIG, None, os.environ, ENV_PREFIX, reserved_names())
    except ConfigurationError:
        return ""
    for dotted, loaded, source in rows:
        if dotted == key and loaded == value:
            return f" (from {source})"
    return ""


def import_configured(key: str, value: str) -> Any:
    """Import the object named by dotted path ``value``, the value of configuration ``key``.

    Raises:
        ConfigurationError: naming the key, where its value came from, and what is expected.
    """
    example = _CLASS_EXAMPLES.get(key, "package.module.Class")

    def error(problem: str) -> ConfigurationError:
        return ConfigurationError(
            f"configuration key {key} = {value!r}{_origin(key, value)}: {problem}; set {key} "
            f"(or {env_name(tuple(key.split('.')))}) to an importable dotted path such as "
            f"{example!r}"
        )

    import importlib

    parts = value.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                continue  # this prefix is not a module; try a shorter one
            raise error(f"importing {module_name} failed: {exc}") from exc
        except Exception as exc:
            raise error(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from exc
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            raise error(f"module {module_name} has no attribute {'.'.join(parts[i:])!r}") from None
        return obj
    raise error(f"no module {parts[0]!r} can be imported")


def load_class_from_config(key: str, config: Mapping[str, Any]) -> Any:
    """Import the class named by dotted configuration ``key`` in ``config``.

    A class object stored at ``key`` (e.g. by ``set_temporary_config``) is returned as it is.

    Raises:
        ConfigurationError: the key is not set, or its value does not name an importable object;
            the message names the key, the file or variable the value came from, and what is
            expected.
    """
    value: Any = config
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    fix = f"set {key} (or {env_name(tuple(key.split('.')))}) to an importable dotted path"
    if value is None:
        raise ConfigurationError(f"configuration key {key} is not set; {fix}")
    if not isinstance(value, str):
        if callable(value):
            return value
        raise ConfigurationError(f"configuration key {key} = {value!r} is not a class; {fix}")
    return import_configured(key, value)
