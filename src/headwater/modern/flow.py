"""The ``@flow`` decorator and the class of modern flows.

::

    from headwater import flow, task

    @task(retries=2)
    def fetch(n: int) -> int:
        return n * 10

    @flow(log_prints=True)
    def total(n: int = 3) -> int:
        values = fetch.map(range(n))
        return sum(values.result())

    assert total() == 30
    assert total(n="2") == 10  # validated and coerced by pydantic

Calling a flow runs it in this process and returns its value (``return_state=True``: its
final state); a flow called while another runs is a subflow of it. ``async def`` flows
return a coroutine to await.

For type checkers a flow is generic in its function's parameters and return type,
``Flow[P, R]``: ``@flow`` on ``def total(n: int = 3) -> int`` gives a ``Flow[[int], int]``,
whose calls are checked against ``total``'s parameters and return an ``int``; ``.fn`` is typed
as ``total`` and ``.with_options(...)`` keeps the type. An ``async def`` flow returns
``Coroutine[Any, Any, R]``; with ``return_state=True`` a call returns a
:class:`~headwater.modern.states.State` (its arguments are then checked loosely: a keyword
option cannot follow a signature's ``*args`` for type checkers).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    ParamSpec,
    TypedDict,
    TypeVar,
    Unpack,
    overload,
)

from headwater.modern.options import check_delay
from headwater.modern.parameters import Parameters

if TYPE_CHECKING:
    from headwater.modern.runners import TaskRunner
    from headwater.modern.states import State

__all__ = ["Flow", "FlowDecorator", "FlowOptions", "flow"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=Coroutine[Any, Any, Any])
FlowHook = Callable[..., Any]
"""A hook ``hook(flow, flow_run, state)``."""


class FlowOptions(TypedDict, total=False):
    """The keyword options of ``@flow(...)`` and ``Flow.with_options(...)`` (see :class:`Flow`).

    Type checkers check the options against these types; an option added to :class:`Flow`
    needs its line here too.
    """

    name: str | None
    version: str | None
    flow_run_name: str | Callable[..., str] | None
    retries: int | None
    retry_delay_seconds: float | None
    task_runner: TaskRunner | type[TaskRunner] | None
    description: str | None
    timeout_seconds: float | None
    validate_parameters: bool
    persist_result: bool | None
    result_storage: Any
    result_serializer: Any
    cache_result_in_memory: bool
    log_prints: bool | None
    on_completion: FlowHook | Sequence[FlowHook] | None
    on_failure: FlowHook | Sequence[FlowHook] | None
    on_cancellation: FlowHook | Sequence[FlowHook] | None
    on_crashed: FlowHook | Sequence[FlowHook] | None
    on_running: FlowHook | Sequence[FlowHook] | None
    observers: Any
    history: bool | None


_HOOKS = ("on_completion", "on_failure", "on_cancellation", "on_crashed", "on_running")


def _hook_list(value: Any, option: str, owner: str) -> tuple[Callable[..., Any], ...]:
    if value is None:
        return ()
    hooks = [value] if callable(value) else value
    if not isinstance(hooks, (list, tuple)) or not all(callable(h) for h in hooks):
        raise TypeError(
            f"{owner}: {option} takes a list of hooks hook(flow, flow_run, state), got {value!r}."
        )
    return tuple(hooks)


class Flow(Generic[P, R]):
    """A flow function and its options (what ``@flow`` makes); call it to run it.

    Args:
        fn: the function.
        name: the flow's name (default: the function's name, ``_`` written ``-``).
        version: a version string.
        flow_run_name: a template formatted with the run's parameters, or a callable.
        retries: how often a failed run is run again.
        retry_delay_seconds: seconds between those runs.
        task_runner: where submitted tasks run (default: a ``ThreadPoolTaskRunner``).
        description: a description (default: the docstring).
        timeout_seconds: the run fails ``TimedOut`` after this long.
        validate_parameters: validate and coerce the arguments with pydantic.
        persist_result, result_storage, result_serializer: how results are persisted
            (the flow's default for its tasks, and for its own return value).
        log_prints: send ``print`` output of the flow and its tasks to the run logger.
        on_completion, on_failure, on_cancellation, on_crashed, on_running: lists of hooks
            ``hook(flow, flow_run, state)``.
        observers: headwater run observers told about each run (besides the default ones).
        history: record the flow's runs in the run history (``True``), keep them out
            (``False``), or as ``history.enabled`` says (``None``, the default).
    """

    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        version: str | None = None,
        flow_run_name: str | Callable[[], str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: float | None = None,
        task_runner: Any = None,
        description: str | None = None,
        timeout_seconds: float | None = None,
        validate_parameters: bool = True,
        persist_result: bool | None = None,
        result_storage: Any = None,
        result_serializer: Any = None,
        cache_result_in_memory: bool = True,
        log_prints: bool | None = None,
        on_completion: Any = None,
        on_failure: Any = None,
        on_cancellation: Any = None,
        on_crashed: Any = None,
        on_running: Any = None,
        observers: Any = None,
        history: bool | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@flow decorates a function; got {type(fn).__name__}: {fn!r}.")
        self.fn: Callable[P, R] = fn
        self.name = name or getattr(fn, "__name__", "flow").replace("_", "-")
        owner = f"Flow {self.name!r}"
        self.version = version
        self.flow_run_name = flow_run_name
        if retries is not None and (not isinstance(retries, int) or retries < 0):
            raise ValueError(f"{owner}: retries must be an int >= 0, got {retries!r}.")
        self.retries = retries or 0
        delay = check_delay(retry_delay_seconds, owner)
        self.retry_delay_seconds = float(delay) if isinstance(delay, (int, float)) else 0.0
        self.task_runner = self._check_runner(task_runner, owner)
        self.description = description if description is not None else inspect.getdoc(fn)
        self.timeout_seconds = float(timeout_seconds) if timeout_seconds else None
        self.should_validate_parameters = validate_parameters
        self.persist_result = persist_result
        self.result_storage = result_storage
        self.result_serializer = result_serializer
        self.cache_result_in_memory = cache_result_in_memory
        self.log_prints = log_prints
        given = (on_completion, on_failure, on_cancellation, on_crashed, on_running)
        self.hooks = {k: _hook_list(v, k, owner) for k, v in zip(_HOOKS, given)}
        from headwater.engine.observers import check_observers

        self.observers = check_observers(observers, owner)
        if history is not None and not isinstance(history, bool):
            raise TypeError(
                f"{owner}: history must be True, False or None (as history.enabled says), "
                f"got {type(history).__name__} {history!r}."
            )
        self.history = history
        self.isasync = inspect.iscoroutinefunction(fn)
        self.parameters = Parameters(fn, owner)
        self._settings = {
            "name": name,
            "version": version,
            "flow_run_name": flow_run_name,
            "retries": retries,
            "retry_delay_seconds": retry_delay_seconds,
            "task_runner": task_runner,
            "description": description,
            "timeout_seconds": timeout_seconds,
            "validate_parameters": validate_parameters,
            "persist_result": persist_result,
            "result_storage": result_storage,
            "result_serializer": result_serializer,
            "cache_result_in_memory": cache_result_in_memory,
            "log_prints": log_prints,
            **dict(zip(_HOOKS, given)),
            "observers": observers,
            "history": history,
        }
        functools.update_wrapper(self, fn)

    @staticmethod
    def _check_runner(runner: Any, owner: str) -> Any:
        from headwater.modern.runners import TaskRunner

        if isinstance(runner, type) and issubclass(runner, TaskRunner):
            runner = runner()
        if runner is not None and not isinstance(runner, TaskRunner):
            raise TypeError(
                f"{owner}: task_runner must be a task runner such as ThreadPoolTaskRunner(), "
                f"got {runner!r}."
            )
        return runner

    def __repr__(self) -> str:
        return f"<Flow {self.name!r}>"

    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...
    @overload
    def __call__(
        self: Flow[P, C], *args: Any, return_state: Literal[True], **kwargs: Any
    ) -> Coroutine[Any, Any, State]: ...
    @overload
    def __call__(self, *args: Any, return_state: Literal[True], **kwargs: Any) -> State: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the flow with these arguments: its value (``return_state=True``: its final state)."""
        from headwater.modern import flow_engine

        return_state = kwargs.pop("return_state", False)
        if self.isasync:
            return flow_engine.run_flow_async(self, args, kwargs, return_state)
        return flow_engine.run_flow_sync(self, args, kwargs, return_state)

    def with_options(self, **changes: Unpack[FlowOptions]) -> Flow[P, R]:
        """A copy of the flow with some options changed (any keyword of ``@flow``)."""
        unknown = set(changes) - set(self._settings)
        if unknown:
            raise TypeError(
                f"Flow {self.name!r}.with_options(): unknown options {sorted(unknown)}."
            )
        return Flow(self.fn, **{**self._settings, **changes})

    def validate_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """``parameters`` validated and coerced as a run would.

        Raises:
            ParameterTypeError: a value does not validate.
        """
        bound = self.parameters.bind((), parameters)
        return self.parameters.validate(bound, True)

    # -- scheduling (in this process) --------------------------------------------------------
    def serve(self, name: str | None = None, **kwargs: Any) -> Any:
        """Run this flow on its schedule in this process (``cron=``, ``interval=``, ``rrule=``)."""
        from headwater.modern import serving

        return serving.serve_flow(self, name=name, **kwargs)

    def to_deployment(self, name: str | None = None, **kwargs: Any) -> Any:
        """A deployment of this flow for ``headwater.serve(...)``."""
        from headwater.modern import serving

        return serving.to_deployment(self, name=name, **kwargs)

    def deploy(self, *args: Any, **kwargs: Any) -> Any:
        """Needs Prefect's server and a work pool: raises with the local alternative."""
        from headwater._server_only import server_only

        server_only(
            "Flow.deploy() (deployments to work pools)",
            "run the flow on a schedule in this process with flow.serve(cron=...)",
        )

    @classmethod
    def from_source(cls, source: Any = None, entrypoint: str | None = None) -> Flow[..., Any]:
        """Needs Prefect's server (a flow loaded from stored code): raises with the local way.

        Raises:
            ServerNotAvailableError: always.
        """
        from headwater._server_only import server_only

        server_only(
            "Flow.from_source() (flows loaded from a repository or storage for a deployment)",
            "import the flow's module and call the flow, or serve it in this process with "
            "flow.serve(...)",
        )


class FlowDecorator:
    """The type of :data:`flow`: ``@flow``, ``@flow(...)`` and ``flow.from_source(...)``."""

    @overload
    def __call__(self, fn: Callable[P, R], /, **options: Unpack[FlowOptions]) -> Flow[P, R]: ...
    @overload
    def __call__(
        self, fn: None = None, /, **options: Unpack[FlowOptions]
    ) -> Callable[[Callable[P, R]], Flow[P, R]]: ...
    def __call__(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Make a function a :class:`Flow`: bare (``@flow``) or with options (``@flow(...)``).

        See :class:`Flow` for the options.
        """
        if fn is None:
            return lambda f: Flow(f, **options)
        return Flow(fn, **options)

    from_source = staticmethod(Flow.from_source)

    def __repr__(self) -> str:
        return "<the @flow decorator>"


flow: FlowDecorator = FlowDecorator()
"""Make a function a :class:`Flow`: ``@flow`` or ``@flow(name=..., retries=...)``."""
