"""headwater: embeddable, in-process workflow orchestration.

::

    from headwater import Flow, task

    @task
    def add(x, y):
        return x + y

    with Flow("math") as flow:
        total = add(1, 2)

    state = flow.run()
    assert state.result[total].result == 3

Importing headwater creates its configuration and context and nothing else: no signal
handlers, no root-logger changes, no import of dask, distributed or pendulum's parsers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lazily imported names, typed for type checkers
    from headwater.modern.flow import flow as flow

__version__ = "0.1.0"

from headwater.configuration import config, global_config
from headwater.context import context

# The loaded configuration lives in the base context, which every thread sees; blocks override
# it with ``set_temporary_config`` or ``context(config=...)``. ``config`` follows the context.
context.base_values["config"] = global_config()

import headwater.triggers as triggers  # noqa: E402
import headwater.utilities.context  # noqa: E402,F401  (new Context objects start from config)
from headwater.core import Flow, Parameter, Task  # noqa: E402
from headwater.core.edge import flatten, mapped, unmapped  # noqa: E402
from headwater.utilities.tasks import apply_map, tags, task  # noqa: E402

__all__ = [
    "Flow",
    "Parameter",
    "State",
    "Task",
    "__version__",
    "allow_failure",
    "apply_map",
    "case",
    "config",
    "context",
    "flatten",
    "flow",
    "get_run_logger",
    "mapped",
    "quote",
    "resource_manager",
    "serve",
    "tags",
    "task",
    "triggers",
    "unmapped",
]


# the @flow API (Prefect 2/3), imported on first use
_MODERN = {
    "flow": "headwater.modern.flow",
    "State": "headwater.modern.states",
    "allow_failure": "headwater.modern.annotations",
    "quote": "headwater.modern.annotations",
    "get_run_logger": "headwater.modern.log",
    "deploy": "headwater.modern.server_only",
    "get_client": "headwater.modern.server_only",
    "serve": "headwater.deployments",
}


def __getattr__(name: str) -> Any:
    if name in _MODERN:
        import importlib

        return getattr(importlib.import_module(_MODERN[name]), name)
    if name == "case":
        from headwater.tasks.control_flow import case

        return case
    if name == "resource_manager":
        from headwater.tasks.core.resource_manager import resource_manager

        return resource_manager
    if name == "Client":
        from headwater.client import Client

        return Client
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"headwater.{name}")
    raise AttributeError(f"module 'headwater' has no attribute {name!r}")


_SUBMODULES = frozenset(
    {
        "agent",
        "backend",
        "client",
        "engine",
        "exceptions",
        "executors",
        "flows",
        "futures",
        "logging",
        "run_configs",
        "runtime",
        "schedules",
        "serialization",
        "states",
        "storage",
        "task_runners",
        "tasks",
        "utilities",
    }
)
