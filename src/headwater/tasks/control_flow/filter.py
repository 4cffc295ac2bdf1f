"""``FilterTask``: drop unwanted items from a list of results (typically a mapped task's).

A mapped task's children that failed or were skipped leave exceptions and ``None`` among its
results; a ``FilterTask`` downstream of it keeps only the useful ones. It runs whatever happened
upstream (trigger ``all_finished``)::

    from headwater import Flow, task
    from headwater.engine import signals
    from headwater.tasks.control_flow import FilterTask

    @task
    def invert(x):
        if x == 0:
            raise signals.SKIP("nothing to invert")
        return 1 / x

    keep_results = FilterTask()

    with Flow("filter") as flow:
        inverted = invert.map([0, 1, 2, 4])
        useful = keep_results(inverted)

    assert flow.run().result[useful].result == [1.0, 0.5, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.core.task import Task

__all__ = ["FilterTask"]


def _is_useful(value: Any) -> bool:
    return value is not None and not isinstance(value, BaseException)


class FilterTask(Task):
    """Keep the items of a list for which ``filter_func`` returns true.

    Args:
        filter_func: ``fn(item) -> bool``; the default drops ``None`` and exceptions.
        log_func: ``fn(kept_items) -> str``; if given, its message is logged at INFO level.
        **kwargs: any other :class:`~headwater.core.task.Task` option (defaults here:
            ``trigger=all_finished``, ``skip_on_upstream_skip=False``).
    """

    def __init__(
        self,
        filter_func: Callable[[Any], bool] | None = None,
        log_func: Callable[[list[Any]], str] | None = None,
        **kwargs: Any,
    ) -> None:
        if filter_func is not None and not callable(filter_func):
            raise TypeError(f"FilterTask filter_func must be callable, got {filter_func!r}")
        if log_func is not None and not callable(log_func):
            raise TypeError(f"FilterTask log_func must be callable, got {log_func!r}")
        if "trigger" not in kwargs:
            from headwater.triggers import all_finished

            kwargs["trigger"] = all_finished
        kwargs.setdefault("skip_on_upstream_skip", False)
        self.filter_func = filter_func if filter_func is not None else _is_useful
        self.log_func = log_func
        super().__init__(**kwargs)

    def run(self, task_results: Any) -> list[Any]:
        """The items of ``task_results`` that pass the filter, in order.

        Args:
            task_results: a list (or other iterable) of results.
        """
        try:
            items = list(task_results)
        except TypeError:
            raise TypeError(
                f"{self.name}: expected a list of results to filter, got "
                f"{type(task_results).__name__}: {task_results!r}"
            ) from None
        kept = [item for item in items if self.filter_func(item)]
        if self.log_func is not None:
            self.logger.info(self.log_func(kept))
        return kept
