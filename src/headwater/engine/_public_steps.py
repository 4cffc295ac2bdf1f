"""The steps of a task run with Prefect Core 1.x's names and signatures, for callers and subclasses.

:class:`PublicSteps` wraps each pure step of the task run (see
:mod:`headwater.engine._task_steps`) in a public method with Prefect Core 1.x's name and
signature: the steps that take ``inputs`` take a ``Result`` per argument of ``run()`` and read
the run context from :data:`headwater.context` unless one is given. As Prefect Core 1.x's
``@call_state_handlers`` steps, a public step called on its own applies the state handlers to
the change it makes (:meth:`PublicSteps._step`, through
:meth:`~headwater.engine._task_steps.TaskSteps.change_state`). The task runner's own pipeline
calls the pure steps and applies the handlers itself; it goes through these methods only for a
subclass that overrides one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine import signals
from headwater.engine._initialize_result import TaskRunnerInitializeResult
from headwater.engine._task_mapping import TaskMapping
from headwater.engine._task_steps import HandledEndRun, start_state
from headwater.engine.signals import ENDRUN
from headwater.engine.state import State

if TYPE_CHECKING:
    from headwater.core.edge import Edge

__all__ = ["PublicSteps", "values_of"]


def values_of(inputs: dict[str, Any]) -> dict[str, Any]:
    """The values of Prefect-style inputs (a ``Result`` per name; a plain value is kept)."""
    return {k: getattr(r, "value", r) for k, r in inputs.items()}


class PublicSteps(TaskMapping):
    """The public steps of a task run (see the module docstring)."""

    def _step(self, step: Callable[..., State], state: State, *args: Any) -> State:
        """Run one pure step for a caller of a public step: the handlers see its change.

        As Prefect Core 1.x's ``@call_state_handlers`` steps: a signal raised in the step
        becomes its state, and ``ENDRUN`` is raised again with the handled state.
        """
        try:
            new = step(state, *args)
        except HandledEndRun:
            raise
        except ENDRUN as end:
            if end.state is state or not self.has_handlers:
                raise
            raise HandledEndRun(self.change_state(state, end.state)) from None
        except signals.HeadwaterStateSignal as sig:
            new = sig.state
        if new is not state:
            new = self.change_state(state, new)
        return new

    # -- the steps, with Prefect Core 1.x's signatures --------------------------------------
    def initialize_run(
        self, state: State | None, context: dict[str, Any]
    ) -> TaskRunnerInitializeResult:
        """Prepare ``state`` and ``context`` for the run; ``context`` is updated in place.

        Sets ``task_run_count`` (one more than a ``Retrying`` state's ``run_count``),
        ``resume`` (for ``Resume``, or a ``Paused`` state whose time is up: it becomes
        ``Resume``), ``checkpointing`` (from the configuration, unless set), the loop keys of a
        retried loop, and ``task_name``, ``task_tags`` and ``logger``. A meta state is replaced
        by the state it wraps; ``None`` by ``Pending``.
        """
        state = start_state(state)
        new = self._init_run(state, context)
        if new is not state:
            new = self.change_state(state, new)
        context.update(task_name=self.task.name, task_tags=self.task.tags, logger=self._task_logger)
        return TaskRunnerInitializeResult(state=new, context=context)

    def check_task_is_ready(self, state: State) -> State:
        """Pending, ``Mapped`` and ``Cached`` states continue; others end the run as they are."""
        return self._step(self._ready, state)

    def check_task_reached_start_time(self, state: State) -> State:
        """A ``Scheduled`` state (``Retrying``, ``Paused``...) waits for its ``start_time``.

        One without a ``start_time`` (a ``Paused`` state waiting for a person) ends the run.
        """
        return self._step(self._reached_start_time, state)

    def check_upstream_finished(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """Every upstream state must be finished (mapped: every child too)."""
        return self._step(self._upstream_finished, state, upstream_states)

    def check_upstream_skipped(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """With ``skip_on_upstream_skip``, a skipped upstream (or mapped child) skips this task."""
        return self._step(self._upstream_skipped, state, upstream_states)

    def load_results(
        self, state: State, upstream_states: dict[Edge, State]
    ) -> tuple[State, dict[Edge, State]]:
        """``(state, upstream_states)``: results are read where they are used."""
        return state, upstream_states

    def get_task_inputs(self, state: State, upstream_states: dict[Edge, State]) -> dict[str, Any]:
        """The arguments of ``run()``, each in a ``Result``: upstream results, constants, retries.

        A keyed upstream state's own ``Result`` is used; other values are put in a ``Result``.
        """
        from headwater.engine.result import Result

        raw = self._task_inputs(state, upstream_states)
        holders = {e.key: s for e, s in upstream_states.items() if e.key is not None}
        out: dict[str, Any] = {}
        for key, value in raw.items():
            s = holders.get(key)
            holder = s.result_holder if s is not None else None
            out[key] = holder if holder is not None and holder.value is value else Result(value)
        return out

    def check_task_ready_to_map(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """End the parent's run: ``Mapped`` with ``n_map_states`` if it can be mapped, or ``Failed``.

        Raises:
            ENDRUN: always, with the state the parent ends in.
        """
        return self._step(self._ready_to_map, state, upstream_states)

    def set_task_run_name(self, task_inputs: dict[str, Any]) -> None:
        """Format ``task_run_name`` (template or callable) into ``context.task_run_name``."""
        name = self._run_name(values_of(task_inputs), _context)
        if name is not None:
            _context.update(task_run_name=name)

    def check_target(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """``Cached`` with the stored value if the task's ``target`` exists, else ``state``."""
        ctx = _context if context is None else context
        try:
            return self._step(self._check_target, state, values_of(inputs), ctx)
        except ENDRUN as end:
            return end.state

    def check_task_is_cached(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """A valid cached state (``state`` itself, or one in ``context.caches``), else ``state``.

        A ``Cached`` ``state`` that the task's ``cache_validator`` rejects becomes ``Pending``.
        """
        ctx = _context if context is None else context
        try:
            return self._step(self._check_cached, state, values_of(inputs), ctx)
        except ENDRUN as end:
            return end.state

    def check_task_trigger(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """Run the trigger; ``False`` or ``TRIGGERFAIL`` gives ``TriggerFailed``."""
        return self._step(self._trigger, state, upstream_states)

    def set_task_to_running(self, state: State, inputs: dict[str, Any]) -> State:
        """Move to ``Running`` (only from a pending state)."""
        return self._step(self._to_running, state)

    def get_task_run_state(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """Call ``task.run`` with the inputs' values (timeout, stdout capture) and checkpoint.

        Any exception the task raises — ``BaseException`` subclasses such as ``SystemExit``
        included — fails the task with the exception as its result; only ``KeyboardInterrupt``
        stops the whole run. Signals (``PAUSE`` too) set the state they stand for.

        Raises:
            ENDRUN: ``state`` is not ``Running``, or the task raised ``ENDRUN``.
        """
        ctx = _context if context is None else context
        return self._step(self._run_task, state, values_of(inputs), ctx)

    def cache_result(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """A success of a task with ``cache_for`` becomes ``Cached`` (kept in ``context.caches``)."""
        ctx = _context if context is None else context
        return self._step(self._cache_result, state, values_of(inputs), ctx)

    def check_for_retry(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """A failure with retries left becomes ``Retrying`` at ``now + retry_delay``."""
        ctx = _context if context is None else context
        return self._step(self._check_for_retry, state, values_of(inputs), ctx)

    def check_task_is_looping(
        self,
        state: State,
        inputs: dict[str, Any] | None = None,
        upstream_states: dict[Edge, State] | None = None,
        context: dict[str, Any] | None = None,
    ) -> State:
        """``state`` as it is: :meth:`run_unit` runs the next loop of a ``Looped`` state."""
        return state
