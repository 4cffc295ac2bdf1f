"""headwater's task library, and ``task_input_hash`` (Prefect 3's ``prefect.tasks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded on first use, so that importing a task module stays cheap
    from headwater.cache_policies import task_input_hash

__all__ = ["task_input_hash"]


def __getattr__(name: str) -> Any:
    if name == "task_input_hash":
        from headwater.cache_policies import task_input_hash

        return task_input_hash
    raise AttributeError(f"module 'headwater.tasks' has no attribute {name!r}")
