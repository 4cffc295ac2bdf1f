"""Helpers for testing flows, and conformance suites for extension points.

- ``ExecutorContract``: subclass it in a pytest module, set ``make_executor``, and every
  behaviour an executor must have is checked (``headwater.testing.executor_contract``).
- ``ResultContract``: the same for ``Result`` implementations
  (``headwater.testing.result_contract``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ExecutorContract", "ResultContract"]


def __getattr__(name: str) -> Any:
    if name == "ExecutorContract":
        from headwater.testing.executor_contract import ExecutorContract

        return ExecutorContract
    if name == "ResultContract":
        from headwater.testing.result_contract import ResultContract

        return ResultContract
    raise AttributeError(f"module 'headwater.testing' has no attribute {name!r}")
