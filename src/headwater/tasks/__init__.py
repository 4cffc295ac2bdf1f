"""headwater's task library, and Prefect 3's ``prefect.tasks`` helpers: ``task_input_hash`` and
``exponential_backoff``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded on first use, so that importing a task module stays cheap
    from headwater.cache_policies import task_input_hash
    from headwater.modern.options import exponential_backoff

__all__ = ["exponential_backoff", "task_input_hash"]


def __getattr__(name: str) -> Any:
    if name == "task_input_hash":
        from headwater.cache_policies import task_input_hash

        return task_input_hash
    if name == "exponential_backoff":
        from headwater.modern.options import exponential_backoff

        return exponential_backoff
    raise AttributeError(f"module 'headwater.tasks' has no attribute {name!r}")
