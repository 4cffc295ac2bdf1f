"""``case``: run a block of tasks only when a task's result equals a value.

Tasks created inside ``with case(condition, value):`` run only if ``condition``'s result equals
``value``; otherwise they (and everything downstream of them) are ``Skipped``. Blocks can be
nested, and ``merge`` brings the branches back together::

    from headwater import Flow, Parameter, case, task
    from headwater.tasks.control_flow import merge

    @task
    def double(x):
        return 2 * x

    @task
    def negate(x):
        return -x

    with Flow("case") as flow:
        n = Parameter("n", default=3)
        with case(n, 3):
            a = double(n)
        with case(n, 4):
            b = negate(n)
        result = merge(a, b)

    assert flow.run().result[result].result == 6
    assert flow.run(n=4).result[result].result == -4

When the block ends, its tasks that have no upstream task inside the block are made to depend on
a :class:`~headwater.tasks.control_flow.conditional.CompareValue` task named ``case(<value>)``,
which skips when the comparison fails. Tasks in the block that would run after a skipped upstream
task (``skip_on_upstream_skip=False``: ``merge``, ``FilterTask``, resource cleanup) are skipped
too when the comparison fails. When ``condition`` is a mapped task, the comparison is
made item by item, and mapped tasks in the block run only for the items that matched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["case"]


def _is_mapped(task: Any, flow: Flow) -> bool:
    if not isinstance(task, Task):
        return False
    edges = flow.graph.upstream.get(task)
    return edges is not None and any(e.mapped for e in edges)


class case:
    """A block of tasks that runs only when ``task``'s result equals ``value``.

    Args:
        task: the task whose result is compared (a plain value works too).
        value: the value to compare with; a plain value, not a task.

    Raises:
        TypeError: if ``value`` is a task.
    """

    def __init__(self, task: Any, value: Any) -> None:
        if isinstance(value, Task):
            raise TypeError(
                "case(): `value` cannot be a task. "
                f"case() compares {task!r} with a fixed value, but the value given is the task "
                f"{value!r}. Compare the two tasks in a task of their own (e.g. "
                "`a.is_equal(b)`) and use `case(that_task, True)`."
            )
        self.task = task
        self.value = value
        self._tasks: dict[Task, None] = {}
        self._flow: Flow | None = None
        self._context_managers: list[Any] = []

    def __repr__(self) -> str:
        return f"<case: {self.task!r} == {self.value!r}>"

    def add_task(self, task: Task, flow: Flow) -> None:
        """Record ``task`` (added to or bound in ``flow``) as part of this block.

        Called by ``Flow.add_task`` and :meth:`Task.bind` while the block is open.

        Raises:
            ValueError: tasks of two different flows are added in the block.
        """
        if self._flow is None:
            self._flow = flow
        elif flow is not self._flow:
            raise ValueError(
                f"Multiple flows cannot be used with the same case statement: {task!r} is added "
                f"to {flow!r}, but the block already holds tasks of {self._flow!r}."
            )
        self._tasks[task] = None

    def __enter__(self) -> case:
        cm = _context(case=self)
        cm.__enter__()
        self._context_managers.append(cm)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        # restore the enclosing case first, so that the comparison task joins it
        self._context_managers.pop().__exit__(*exc_info)
        tasks, flow, self._tasks, self._flow = list(self._tasks), self._flow, {}, None
        if exc_info[0] is not None or flow is None:
            return
        self._wire(flow, tasks)

    def _wire(self, flow: Flow, tasks: list[Task]) -> None:
        from headwater.tasks.control_flow.conditional import CompareValue, gate_on_comparison

        block = set(tasks)
        cond_mapped = _is_mapped(self.task, flow)
        compare = CompareValue(self.value, name=f"case({self.value})")
        compare.bind(value=self.task, mapped=cond_mapped, flow=flow)
        for child in tasks:
            upstream = flow.upstream_tasks(child)
            # tasks that run even when an upstream task was skipped (merge, filters, cleanup)
            # see the condition directly, and skip when it did not match
            if block.isdisjoint(upstream) or not child.skip_on_upstream_skip:
                flow.add_edge(compare, child, mapped=cond_mapped and _is_mapped(child, flow))
                gate_on_comparison(child)
