"""Flows, tasks, states, schedules, run configs and storages as JSON-compatible dicts.

The dicts have the shape Prefect 1's marshmallow schemas gave them (``type`` and
``__version__`` keys included); headwater builds them with plain code. ``flow.serialize()``,
``task.serialize()``, ``state.serialize()`` and ``edge.serialize()`` use these schemas, and
each schema's ``load`` reads a dump back::

    from headwater import Flow, Task
    from headwater.serialization.flow import FlowSchema

    flow = Flow("example", tasks=[Task(name="a")])
    data = flow.serialize()
    assert data["tasks"][0]["name"] == "a"
    assert FlowSchema().load(data).name == "example"

Loaded tasks are plain :class:`~headwater.core.task.Task` objects (their code is not part of
the dump), and loaded results carry only their location.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["edge", "flow", "result", "run_config", "schedule", "state", "storage", "task"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
