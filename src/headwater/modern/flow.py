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
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from headwater.modern.options import check_delay
from headwater.modern.parameters import Parameters

__all__ = ["Flow", "flow"]

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


class Flow:
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
    """

    def __init__(
        self,
        fn: Callable[..., Any],
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
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@flow decorates a function; got {type(fn).__name__}: {fn!r}.")
        self.fn = fn
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

    def __call__(self, *args: Any, return_state: bool = False, **kwargs: Any) -> Any:
        """Run the flow with these arguments: its value (or its final state)."""
        from headwater.modern import flow_engine

        if self.isasync:
            return flow_engine.run_flow_async(self, args, kwargs, return_state)
        return flow_engine.run_flow_sync(self, args, kwargs, return_state)

    def with_options(self, **changes: Any) -> Flow:
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

    def from_source(self, *args: Any, **kwargs: Any) -> Any:
        """Needs Prefect's server: raises with the local alternative."""
        from headwater._server_only import server_only

        server_only("Flow.from_source()", "import the flow's module and call the flow")


def flow(__fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Make a function a :class:`Flow`; bare (``@flow``) or with options (``@flow(name=...)``).

    See :class:`Flow` for the options.
    """
    if __fn is None:
        return lambda fn: Flow(fn, **options)
    return Flow(__fn, **options)
