"""Helpers for testing flows, and conformance suites for extension points.

- ``ExecutorContract``: subclass it in a pytest module, set ``make_executor``, and every
  behaviour an executor must have is checked, including what it declares it can do
  (``runs_inline``, ``pickles_calls``, ``reports_completion``; see
  ``headwater.testing.executor_contract``).
- ``ResultContract``: the same for ``Result`` implementations
  (``headwater.testing.result_contract``).
- ``run_flow``, ``assert_task_states``, ``task_state``: run a flow once in a test and check its
  task states, with failure messages naming each task that differs, its state, message and
  exception.

- ``headwater.testing.utilities``: Prefect 3's ``prefect_test_harness()`` (also
  ``headwater_test_harness()``), a temporary home directory, storage and history for a block,
  and ``disable_run_logger()``.

The pytest plugin (``headwater.testing.pytest_plugin``, loaded by pytest wherever headwater is
installed) adds the fixtures ``headwater_isolated``, ``headwater_home`` and
``headwater_fresh_caches``; see docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the real signatures; at run time they load on first use
    from headwater.testing._flow_checks import assert_task_states, run_flow, task_state

__all__ = ["ExecutorContract", "ResultContract", "assert_task_states", "run_flow", "task_state"]

_FLOW_CHECKS = frozenset({"assert_task_states", "run_flow", "task_state"})


def __getattr__(name: str) -> Any:
    if name == "ExecutorContract":
        from headwater.testing.executor_contract import ExecutorContract

        return ExecutorContract
    if name == "ResultContract":
        from headwater.testing.result_contract import ResultContract

        return ResultContract
    if name in _FLOW_CHECKS:
        from headwater.testing import _flow_checks

        return getattr(_flow_checks, name)
    raise AttributeError(f"module 'headwater.testing' has no attribute {name!r}")
