"""``TaskRunner``: one task run as a pipeline of small state -> state steps.

:meth:`TaskRunner.run` takes the task's current state and its upstream states and passes the
state through these steps, each a method that can be called on its own (Prefect Core 1.x's
names and signatures)::

    initialize_run -> check_task_is_ready -> check_task_reached_start_time
    -> check_upstream_finished -> check_upstream_skipped -> load_results -> get_task_inputs
    -> (mapped parent: check_task_ready_to_map) -> set_task_run_name
    -> check_target (a task with a target) or check_task_is_cached -> check_task_trigger
    -> set_task_to_running -> get_task_run_state -> cache_result -> check_for_retry
    -> check_task_is_looping

A step stops the pipeline by raising :class:`~headwater.engine.signals.ENDRUN` with the final
state. The steps that take ``inputs`` take them as Prefect Core 1.x does, a ``Result`` per
argument of ``run()``, and read the run context from :data:`headwater.context` unless one is
given::

    from headwater import Task
    from headwater.engine.result import Result
    from headwater.engine.state import Running
    from headwater.engine.task_runner import TaskRunner

    class Add(Task):
        def run(self, x, y):
            return x + y

    state = TaskRunner(Add()).get_task_run_state(Running(), {"x": Result(1), "y": Result(2)})
    assert state.is_successful() and state.result == 3

Mapped tasks are expanded by the flow runner, which runs one pipeline per child; called
directly on a mapped task, ``run`` maps inline (``is_mapped_parent=True``: it only checks that
the task can be mapped and returns ``Mapped`` with ``n_map_states``). A ``LOOP`` signal runs the
pipeline again with ``task_loop_count`` and ``task_loop_result`` in the context. A subclass that
overrides any of the steps taking ``inputs`` has its overrides called, with inputs as ``Result``
objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from headwater.context import context as _context
from headwater.engine import signals
from headwater.engine._initialize_result import TaskRunnerInitializeResult
from headwater.engine._task_mapping import TaskMapping
from headwater.engine._task_reuse import PROCESS_CACHES as _PROCESS_CACHES
from headwater.engine._task_steps import task_hash, wants_task_hash
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Failed, Looped, Pending, State
from headwater.utilities.logging import get_logger

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["ENDRUN", "TaskRunner", "TaskRunnerInitializeResult"]

_ = _PROCESS_CACHES  # ``context.caches`` of runs outside a flow run; flow runs import it here

_run_ids = itertools.count(1)
# the steps whose override makes the pipeline call the public steps (Prefect signatures)
_INPUT_STEPS = (
    "initialize_run",
    "load_results",
    "get_task_inputs",
    "check_task_ready_to_map",
    "set_task_run_name",
    "check_target",
    "check_task_is_cached",
    "get_task_run_state",
    "cache_result",
    "check_for_retry",
    "check_task_is_looping",
)


def _values(inputs: dict[str, Any]) -> dict[str, Any]:
    """The values of Prefect-style inputs (a ``Result`` per name; a plain value is kept)."""
    return {k: getattr(r, "value", r) for k, r in inputs.items()}


class TaskRunner(TaskMapping):
    """Runs one task (or, with ``context["map_index"]``, one mapped child of it).

    Args:
        task: the task to run.
        state_handlers: runner-level state handlers ``fn(runner, old, new)``.
        flow_result: the flow's default ``Result``, used when the task has none.
    """

    _public_steps: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._public_steps = any(
            getattr(cls, name) is not getattr(TaskRunner, name) for name in _INPUT_STEPS
        )

    def __init__(
        self,
        task: Task,
        state_handlers: list[Callable[..., Any]] | None = None,
        flow_result: Any = None,
    ) -> None:
        # (Runner.__init__ inlined: one TaskRunner is made per task per flow run)
        if state_handlers is not None and not isinstance(state_handlers, (list, tuple)):
            raise TypeError("state_handlers must be a list of callables.")
        self.state_handlers = list(state_handlers) if state_handlers else []
        self.logger = get_logger("TaskRunner")
        self.task = task
        self._created_in = _context._get()  # noqa: SLF001 - see ``context``
        result = task.result if task.result is not None else flow_result
        target = task.target
        self._task_hash: str | None = None
        self._warned_unwritten_target = False
        # a secret task's value is never checkpointed and is shown as ****
        self._secret = bool(getattr(task, "is_secret", False))
        self._secret_inputs: frozenset[str] | None = None  # inputs fed by secret tasks
        if target is not None:
            if result is None:
                # a target needs somewhere to look: LocalResult in {home_dir}/results
                from headwater.engine.results import LocalResult

                result = LocalResult(validate_dir=False)
            if result.location is not target:
                result = result.copy()
                result.location = target
        if result is not None and wants_task_hash(getattr(result, "location_template", None)):
            self._task_hash = task_hash(task)
        self.result = result
        self.flow_result = flow_result
        self.constants: dict[str, Any] = {}
        self._has_handlers = bool(task.state_handlers or self.state_handlers or task.on_failure)
        self._task_logger = get_logger(task.name)
        self._static_ctx = {
            "task_name": task.name,
            "task_slug": task.slug,
            "task_tags": task.tags,
            "task_id": task.slug or str(task.id),
            "logger": self._task_logger,
        }

    @property
    def context(self) -> dict[str, Any]:
        """The run context as it was when this runner was created (a copy)."""
        created = self._created_in
        if type(created) is not _Snapshot:
            created = self._created_in = _Snapshot(created)
        return created

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._created_in = _Snapshot(value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.task.name}>"

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d.pop("logger", None)
        d.pop("_task_logger", None)
        d.pop("_created_in", None)
        d["_static_ctx"] = {k: v for k, v in self._static_ctx.items() if k != "logger"}
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__dict__.update(d)
        self.logger = get_logger("TaskRunner")
        self._task_logger = self.task.logger
        self._static_ctx["logger"] = self._task_logger
        self._created_in = {}

    # -- entry points ---------------------------------------------------------------------
    def run(
        self,
        state: State | None = None,
        upstream_states: dict[Edge, State] | None = None,
        context: dict[str, Any] | None = None,
        is_mapped_parent: bool = False,
    ) -> State:
        """Run the task once and return its new state.

        Args:
            state: the task's current state (default ``Pending``).
            upstream_states: ``{edge: state}`` for every upstream edge.
            context: extra context for the run (``map_index`` makes this a mapped child).
            is_mapped_parent: run the parent of a mapped task: check that it can be mapped and
                return ``Mapped`` with ``n_map_states`` (its children are not run).
        """
        upstream_states = upstream_states or {}
        ctx = dict(context or {})
        map_index = ctx.pop("map_index", None)
        if not is_mapped_parent and map_index is None and any(e.mapped for e in upstream_states):
            return self.run_mapped_task(state, upstream_states, ctx)
        base = {**_context._get(), **ctx}  # noqa: SLF001 - the current values, not a copy
        return self.run_unit(
            state, upstream_states, base, map_index, mapped_parent=is_mapped_parent
        )

    def run_unit(
        self,
        state: State | None,
        upstream_states: dict[Edge, State],
        base_ctx: dict[str, Any],
        map_index: int | None = None,
        *,
        mapped_parent: bool = False,
    ) -> State:
        """Run the pipeline once (a plain task, or child ``map_index`` of a mapped task)."""
        if state is None:
            state = Pending()
        ctx = base_ctx.copy()
        ctx.update(self._static_ctx)
        name = self.task.name
        full_name = name if map_index is None else f"{name}[{map_index}]"
        ctx["map_index"] = map_index
        ctx["task_full_name"] = full_name
        ctx["task_run_name"] = full_name
        ctx["task_run_id"] = f"{base_ctx.get('flow_run_id', 'run')}-{next(_run_ids)}"
        logger = self.logger
        info = logger.isEnabledFor(20)
        var = _context._var  # noqa: SLF001 - set once per task run, reset below
        token = var.set(ctx)
        try:
            if info:
                logger.info("Task '%s': Starting task run...", full_name)
            while True:
                state = self._pipeline(state, upstream_states, ctx, mapped_parent)
                if type(state) is not Looped:
                    break
                n = state.loop_count or 1
                ctx["task_loop_count"] = n + 1
                ctx["task_loop_result"] = state.result
                state = Pending(message=f"Looping task (on loop index {n})")
            if info:
                logger.info(
                    "Task '%s': Finished task run for task with final state: '%s'",
                    full_name,
                    type(state).__name__,
                )
        finally:
            var.reset(token)
        return state

    # -- the pipeline ---------------------------------------------------------------------
    def _pipeline(
        self,
        state: State,
        upstream_states: dict[Edge, State],
        ctx: dict[str, Any],
        mapped_parent: bool = False,
    ) -> State:
        try:
            if self._public_steps:
                return self._public_pipeline(state, upstream_states, ctx, mapped_parent)
            state = self._init_run(state, ctx)
            state = self.check_task_is_ready(state)
            state = self.check_task_reached_start_time(state)
            state = self.check_upstream_finished(state, upstream_states)
            state = self.check_upstream_skipped(state, upstream_states)
            inputs = self._task_inputs(state, upstream_states)
            if mapped_parent:
                self.check_task_ready_to_map(state, upstream_states)
            task = self.task
            if task.task_run_name is not None:
                ctx["task_run_name"] = self._run_name(inputs, ctx, state)
            if task.target is not None:
                state = self._check_target(state, inputs, ctx)
            else:
                state = self._check_cached(state, inputs, ctx)
            state = self.check_task_trigger(state, upstream_states)
            state = self.set_task_to_running(state, inputs)
            state = self._run_task(state, inputs, ctx)
            state = self._cache_result(state, inputs, ctx)
            state = self._check_for_retry(state, inputs, ctx)
        except ENDRUN as exc:
            state = exc.state
        except signals.HeadwaterStateSignal as exc:
            # PAUSE from the task, or a signal raised by a state handler
            try:
                state = self._change(state, exc.state)
            except ENDRUN as end:
                state = end.state
            except signals.HeadwaterStateSignal as again:
                state = again.state
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - SystemExit, GeneratorExit...: fail this task
            if ctx.get("raise_on_exception"):
                raise
            msg = f"Unexpected error while running task: {exc!r}"
            self.logger.exception("Task '%s': %s", ctx["task_full_name"], msg)
            state = Failed(msg, result=exc)
        return state

    def _public_pipeline(
        self,
        state: State,
        upstream_states: dict[Edge, State],
        ctx: dict[str, Any],
        mapped_parent: bool,
    ) -> State:
        """The pipeline through the public steps, for subclasses that override some of them."""
        _context._var.set(ctx)  # noqa: SLF001 - each loop sees the keys run_unit set
        state = self.initialize_run(state, ctx).state
        state = self.check_task_is_ready(state)
        state = self.check_task_reached_start_time(state)
        state = self.check_upstream_finished(state, upstream_states)
        state = self.check_upstream_skipped(state, upstream_states)
        state, upstream_states = self.load_results(state, upstream_states)
        inputs = self.get_task_inputs(state, upstream_states)
        if mapped_parent:
            state = self.check_task_ready_to_map(state, upstream_states)
        self.set_task_run_name(inputs)
        if self.task.target is not None:
            state = self.check_target(state, inputs)
        else:
            state = self.check_task_is_cached(state, inputs)
        state = self.check_task_trigger(state, upstream_states)
        state = self.set_task_to_running(state, inputs)
        state = self.get_task_run_state(state, inputs)
        state = self.cache_result(state, inputs)
        state = self.check_for_retry(state, inputs)
        return self.check_task_is_looping(state, inputs, upstream_states, ctx)

    # -- the steps ------------------------------------------------------------------------
    def initialize_run(
        self, state: State | None, context: dict[str, Any]
    ) -> TaskRunnerInitializeResult:
        """Prepare ``state`` and ``context`` for the run; ``context`` is updated in place.

        Sets ``task_run_count`` (one more than a ``Retrying`` state's ``run_count``),
        ``resume`` (for ``Resume``, or a ``Paused`` state whose time is up), ``checkpointing``
        (from the configuration, unless set), the loop keys of a retried loop, and
        ``task_name``, ``task_tags`` and ``logger``. A meta state is replaced by the state it
        wraps; ``None`` by ``Pending``.
        """
        state = self._init_run(state, context)
        context.update(task_name=self.task.name, task_tags=self.task.tags, logger=self._task_logger)
        return TaskRunnerInitializeResult(state=state, context=context)

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
            holder = s._result if s is not None else None  # noqa: SLF001 - the state's Result
            out[key] = holder if holder is not None and holder.value is value else Result(value)
        return out

    def set_task_run_name(self, task_inputs: dict[str, Any]) -> None:
        """Format ``task_run_name`` (template or callable) into ``context.task_run_name``."""
        name = self._run_name(_values(task_inputs), _context, None)
        if name is not None:
            _context.update(task_run_name=name)

    def check_target(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """``Cached`` with the stored value if the task's ``target`` exists, else ``state``."""
        ctx = _context if context is None else context
        try:
            return self._check_target(state, _values(inputs), ctx)
        except ENDRUN as exc:
            return exc.state

    def check_task_is_cached(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """A valid cached state (``state`` itself, or one in ``context.caches``), else ``state``.

        A ``Cached`` ``state`` that the task's ``cache_validator`` rejects becomes ``Pending``.
        """
        ctx = _context if context is None else context
        try:
            return self._check_cached(state, _values(inputs), ctx)
        except ENDRUN as exc:
            return exc.state

    def get_task_run_state(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """Call ``task.run`` with the inputs' values (timeout, stdout capture) and checkpoint.

        Any exception the task raises — ``BaseException`` subclasses such as ``SystemExit``
        included — fails the task with the exception as its result; only ``KeyboardInterrupt``
        stops the whole run. Signals set the state they stand for.

        Raises:
            ENDRUN: ``state`` is not ``Running``, or the task raised ``ENDRUN``.
        """
        ctx = _context if context is None else context
        try:
            return self._run_task(state, _values(inputs), ctx)
        except signals.PAUSE as sig:
            return self._change(state, sig.state)

    def cache_result(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """A success of a task with ``cache_for`` becomes ``Cached`` (kept in ``context.caches``)."""
        ctx = _context if context is None else context
        return self._cache_result(state, _values(inputs), ctx)

    def check_for_retry(
        self, state: State, inputs: dict[str, Any], context: dict[str, Any] | None = None
    ) -> State:
        """A failure with retries left becomes ``Retrying`` at ``now + retry_delay``."""
        ctx = _context if context is None else context
        return self._check_for_retry(state, _values(inputs), ctx)

    def check_task_is_looping(
        self,
        state: State,
        inputs: dict[str, Any] | None = None,
        upstream_states: dict[Edge, State] | None = None,
        context: dict[str, Any] | None = None,
    ) -> State:
        """``state`` as it is: :meth:`run_unit` runs the next loop of a ``Looped`` state."""
        return state


class _Snapshot(dict):  # type: ignore[type-arg]
    """A copy of the run context made when ``TaskRunner.context`` is first read."""

    __slots__ = ()
