"""The run objects of Prefect 3's ``prefect.client.schemas``, as headwater's runs have them.

Prefect reads these from its server; in headwater they are the objects hooks and
``headwater.runtime`` see, so a hook annotated with Prefect's types keeps its annotations
after the rename (see :mod:`headwater.client.schemas.objects`).
"""

from __future__ import annotations

from headwater.client.schemas.objects import FlowRun, State, StateType, TaskRun

__all__ = ["FlowRun", "State", "StateType", "TaskRun"]
