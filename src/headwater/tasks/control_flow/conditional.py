"""Conditional tasks: compare a value, pick a branch, merge the branches.

``switch`` runs one of several tasks depending on a condition's result; the branches not taken
are ``Skipped``, and so is everything downstream of them. ``merge`` joins the branches again,
returning the result of the one that ran::

    from headwater import Flow, task
    from headwater.tasks.control_flow import ifelse, merge

    @task
    def is_big(x):
        return x > 10

    @task
    def shout(x):
        return f"{x}!"

    @task
    def whisper(x):
        return f"{x}..."

    with Flow("branching") as flow:
        loud, quiet = shout(42), whisper(42)
        ifelse(is_big(42), loud, quiet)
        result = merge(loud, quiet)

    assert flow.run().result[result].result == "42!"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core.task import Task
from headwater.engine import signals
from headwater.engine.state import Mapped, State

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = [
    "CaseGate",
    "CompareValue",
    "Merge",
    "gate_on_comparison",
    "ifelse",
    "merge",
    "merge_trigger",
    "switch",
]


class CompareValue(Task):
    """Succeeds when its input equals ``value``; otherwise raises ``SKIP``.

    Tasks downstream of a ``CompareValue`` are therefore skipped when the comparison fails
    (unless they set ``skip_on_upstream_skip=False``).

    Args:
        value: the value to compare the input with.
        **kwargs: any other :class:`~headwater.core.task.Task` option.
    """

    def __init__(self, value: Any, **kwargs: Any) -> None:
        if isinstance(value, Task):
            raise TypeError(
                f"CompareValue compares with a fixed value, not a task (got {value!r}); pass "
                "the task as the input instead."
            )
        self.value = value
        kwargs.setdefault("name", f'CompareValue: "{value}"')
        super().__init__(**kwargs)

    def run(self, value: Any) -> None:
        """Raise ``SKIP`` unless ``value`` equals the expected value.

        Args:
            value: the result of the condition task.
        """
        if value != self.value:
            raise signals.SKIP(f'Provided value "{value}" did not match "{self.value}"')


def _all_skipped(state: State) -> bool:
    if type(state) is Mapped:
        return bool(state.map_states) and all(s.is_skipped() for s in state.map_states)
    return state.is_skipped()


def merge_trigger(upstream_states: dict[Any, State]) -> bool:
    """The trigger of :class:`Merge`.

    Runs unless every data input was skipped. An upstream dependency that passes no data (such
    as the condition of an enclosing ``case`` block) that was skipped skips the merge too, so a
    merge inside a ``case`` block whose value did not match is skipped like the rest of the
    block. A failed input fails the merge with ``TriggerFailed``.
    """
    from headwater.triggers import not_all_skipped

    data: dict[Any, State] = {}
    for edge, state in upstream_states.items():
        if getattr(edge, "key", None) is None:
            if _all_skipped(state):
                raise signals.SKIP("An upstream condition of this merge was skipped.")
            continue
        data[edge] = state
    return not_all_skipped(data)


class CaseGate:
    """A trigger wrapper: skip the task when a :class:`CompareValue` gating it was skipped.

    Tasks with ``skip_on_upstream_skip=False`` (a ``FilterTask``, a resource cleanup, or any
    task of yours that runs after skipped upstream tasks) would otherwise run inside a ``case``
    block whose value did not match, or on a ``switch`` branch that was not chosen. ``case`` and
    ``switch`` wrap the trigger of such tasks in a ``CaseGate``: when one of the task's
    comparisons was skipped the task is ``Skipped`` too; otherwise the task's own trigger
    decides.

    Args:
        trigger: the task's own trigger.
    """

    def __init__(self, trigger: Any) -> None:
        self.trigger = trigger
        self.__name__ = getattr(trigger, "__name__", repr(trigger))

    def __repr__(self) -> str:
        return f"<CaseGate: {self.__name__}>"

    def __call__(self, upstream_states: dict[Any, State]) -> bool:
        """Raise ``SKIP`` if a gating comparison was skipped, else run the wrapped trigger."""
        for edge, state in upstream_states.items():
            gate = getattr(edge, "upstream_task", None)
            if getattr(edge, "key", None) is None and isinstance(gate, CompareValue):
                if _all_skipped(state):
                    raise signals.SKIP(
                        f"{gate.name} did not match, and this task belongs to its branch."
                    )
        return bool(self.trigger(upstream_states))


def gate_on_comparison(task: Task) -> None:
    """Make ``task`` skip when a comparison it depends on is skipped (see :class:`CaseGate`).

    Tasks that skip on an upstream skip anyway, merges (whose trigger already does this) and
    tasks already gated are left as they are.
    """
    trigger = task.trigger
    if task.skip_on_upstream_skip or trigger is merge_trigger or isinstance(trigger, CaseGate):
        return
    task.trigger = CaseGate(trigger)


class Merge(Task):
    """Returns the first of its inputs that is not ``None`` (in the order they were given).

    Its inputs are usually the branches of a ``switch``, ``ifelse`` or ``case`` blocks, of which
    only one ran; skipped branches are passed over. The merge itself is skipped when all of its
    inputs were skipped.

    Args:
        **kwargs: any other :class:`~headwater.core.task.Task` option
            (``skip_on_upstream_skip`` must stay ``False``).
    """

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.setdefault("skip_on_upstream_skip", False):
            raise ValueError(
                "Merge tasks must have skip_on_upstream_skip=False: they exist to run when some "
                "of their inputs were skipped."
            )
        kwargs.setdefault("trigger", merge_trigger)
        super().__init__(**kwargs)

    def run(self, **task_results: Any) -> Any:
        """The first non-``None`` value among ``task1``, ``task2``, ... in that order."""

        def position(key: str) -> tuple[int, str]:
            digits = key[4:] if key.startswith("task") else ""
            return (int(digits), key) if digits.isdigit() else (1 << 30, key)

        for key in sorted(task_results, key=position):
            value = task_results[key]
            # a skipped branch gives None, or the SKIP signal that skipped it
            if value is not None and not isinstance(value, signals.SKIP):
                return value
        return None


def merge(*tasks: Any, flow: Flow | None = None, mapped: bool = False, **kwargs: Any) -> Merge:
    """A task returning the result of the first of ``tasks`` that ran and returned a value.

    Args:
        *tasks: the branches to merge, in order of preference.
        flow: the flow to add the merge to (default: the active flow).
        mapped: merge item by item (the branches are mapped tasks).
        **kwargs: Task options of the :class:`Merge` task (``checkpoint=False``, ``name`` ...).

    Returns:
        the :class:`Merge` task.
    """
    if not tasks:
        raise ValueError("merge() needs at least one task to merge.")
    task = Merge(**kwargs)
    task.bind(**{f"task{i}": t for i, t in enumerate(tasks, start=1)}, flow=flow, mapped=mapped)
    return task


def switch(condition: Any, cases: dict[Any, Any], mapped: bool = False) -> None:
    """Run the task of ``cases`` whose key equals the result of ``condition``; skip the others.

    Each task in ``cases`` gets an upstream :class:`CompareValue` that succeeds only for its key,
    so the tasks not chosen (and everything downstream of them) are ``Skipped``.

    Args:
        condition: a task (or value) whose result selects the branch.
        cases: ``{value: task}``; keys are plain values, not tasks.
        mapped: compare item by item (``condition`` and the branch tasks are mapped).
    """
    from headwater.utilities.tasks import as_task

    if not isinstance(cases, dict):
        raise TypeError(
            f"switch() takes cases as a dict of {{value: task}}, got {type(cases).__name__}: "
            f"{cases!r}"
        )
    flow = _context.get("flow")
    if flow is None:
        raise ValueError("switch() needs an active flow: call it inside `with Flow(...):`.")
    for value, branch in cases.items():
        if isinstance(value, Task):
            raise TypeError(
                f"switch() case keys must be plain values, not tasks (got {value!r} for "
                f"{branch!r})."
            )
        branch_task = as_task(branch, flow=flow)
        match = CompareValue(value=value).bind(value=condition, mapped=mapped, flow=flow)
        branch_task.set_dependencies(flow=flow, upstream_tasks=[match], mapped=mapped)
        gate_on_comparison(branch_task)


class _AsBool(Task):
    """``bool(x)``, so that ``ifelse`` accepts any truthy or falsy result."""

    def run(self, x: Any) -> bool:
        return bool(x)


def ifelse(condition: Any, true_task: Any, false_task: Any, mapped: bool = False) -> None:
    """Run ``true_task`` if ``condition``'s result is truthy, else ``false_task``.

    The branch not taken is ``Skipped``. Either task may be ``None`` (no branch).

    Args:
        condition: a task (or value) whose truthiness selects the branch.
        true_task: the task to run when it is truthy.
        false_task: the task to run when it is falsy.
        mapped: decide item by item (``condition`` and the branch tasks are mapped).
    """
    cases = {c: t for c, t in ((True, true_task), (False, false_task)) if t is not None}
    if not cases:
        return
    flow = _context.get("flow")
    if flow is None:
        raise ValueError("ifelse() needs an active flow: call it inside `with Flow(...):`.")
    as_bool = _AsBool(name="as_bool").bind(condition, mapped=mapped, flow=flow)
    switch(condition=as_bool, cases=cases, mapped=mapped)
