"""Running flows: states, signals, runners, results and serializers.

The default runner and executor classes come from configuration
(``engine.flow_runner.default_class``, ``engine.task_runner.default_class``,
``engine.executor.default_class``). A configured class that cannot be imported gives a
``UserWarning`` naming the key and the value, and the built-in class is used instead (as in
Prefect Core 1.x).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FlowRunner",
    "TaskRunner",
    "get_default_executor_class",
    "get_default_flow_runner_class",
    "get_default_task_runner_class",
]


def _load(key: str, value: Any, fallback: str) -> Any:
    """The class configured at ``key``; if it cannot be imported, a warning and ``fallback``."""
    if isinstance(value, type):
        return value
    from headwater._config.classes import import_configured
    from headwater.exceptions import ConfigurationError

    if value:
        try:
            return import_configured(key, str(value))
        except ConfigurationError as exc:
            import warnings

            warnings.warn(f"{exc}. Using {fallback} instead.", UserWarning, stacklevel=3)
    import importlib

    module, _, name = fallback.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _cfg(*path: str) -> Any:
    from headwater.configuration import config

    node: Any = config
    for p in path:
        try:
            node = node[p]
        except (KeyError, TypeError):
            return None
    return node


def get_default_executor_class() -> type:
    """The executor class named by ``config.engine.executor.default_class``."""
    cls: type = _load(
        "engine.executor.default_class",
        _cfg("engine", "executor", "default_class"),
        "headwater.executors.LocalExecutor",
    )
    return cls


def get_default_flow_runner_class() -> type:
    """The flow runner class named by ``config.engine.flow_runner.default_class``."""
    cls: type = _load(
        "engine.flow_runner.default_class",
        _cfg("engine", "flow_runner", "default_class"),
        "headwater.engine.flow_runner.FlowRunner",
    )
    return cls


def get_default_task_runner_class() -> type:
    """The task runner class named by ``config.engine.task_runner.default_class``."""
    cls: type = _load(
        "engine.task_runner.default_class",
        _cfg("engine", "task_runner", "default_class"),
        "headwater.engine.task_runner.TaskRunner",
    )
    return cls


def __getattr__(name: str) -> Any:
    if name == "FlowRunner":
        from headwater.engine.flow_runner import FlowRunner

        return FlowRunner
    if name == "TaskRunner":
        from headwater.engine.task_runner import TaskRunner

        return TaskRunner
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"headwater.engine.{name}")
    raise AttributeError(f"module 'headwater.engine' has no attribute {name!r}")


_SUBMODULES = frozenset(
    {
        "cache_validators",
        "cloud",
        "executors",
        "flow_runner",
        "result",
        "results",
        "runner",
        "serializers",
        "signals",
        "state",
        "task_runner",
    }
)
