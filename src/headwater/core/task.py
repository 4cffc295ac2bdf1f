"""Tasks: the units of work in a flow.

Subclass :class:`Task` and implement ``run()``, or decorate a function with ``@task``::

    from headwater import Flow, Task, task

    class Add(Task):
        def run(self, x, y=1):
            return x + y

    @task(max_retries=2, retry_delay=timedelta(seconds=1))
    def fetch(url):
        ...

    with Flow("example") as flow:
        total = Add()(x=1, y=2)

Calling a task inside a ``with Flow(...)`` block copies it and binds the arguments as its
inputs; ``task.run(...)`` calls the function directly, which is how you unit-test a task.
"""

from __future__ import annotations

import copy as _copy
import datetime
import inspect
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core import _options
from headwater.core import _task_init as _init
from headwater.core._task_operators import TaskOperators

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["RESERVED_ARGS", "Task", "TaskSignature"]

RESERVED_ARGS = frozenset({"upstream_tasks", "mapped", "task_args", "flow"})
_ids = itertools.count(1)
_NOT_SET = object()


class TaskSignature:
    """What the engine needs to know about a ``run()`` signature, computed once per function."""

    __slots__ = ("names", "required", "defaults", "var_kw", "params")

    def __init__(self, fn: Callable[..., Any], owner: str, skip_self: bool) -> None:
        try:
            sig = inspect.signature(fn)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"This function can not be inspected (it is likely a built-in or C function): "
                f"{owner} runs {fn!r} ({exc}). Wrap it in a def or lambda that calls it."
            ) from exc
        params = list(sig.parameters.values())
        if skip_self and params and params[0].name == "self":
            params = params[1:]
        names: list[str] = []
        required: list[str] = []
        defaults: dict[str, Any] = {}
        var_kw = False
        for p in params:
            if p.kind is p.VAR_POSITIONAL:
                raise ValueError(
                    f"Tasks cannot have *args in run(): {owner} declares *{p.name}. Use named "
                    "arguments (or a single list argument) instead."
                )
            if p.kind is p.POSITIONAL_ONLY:
                raise ValueError(
                    f"Tasks cannot have positional-only arguments in run(): {owner} declares "
                    f"{p.name!r} before '/'."
                )
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
                continue
            if p.name in RESERVED_ARGS:
                raise ValueError(
                    f"{owner}: run() argument {p.name!r} is reserved by headwater "
                    f"({', '.join(sorted(RESERVED_ARGS))}); rename it."
                )
            names.append(p.name)
            if p.default is p.empty:
                required.append(p.name)
            else:
                defaults[p.name] = p.default
        self.names = tuple(names)
        self.required = tuple(required)
        self.defaults = defaults
        self.var_kw = var_kw
        self.params = params


def _infer_nout(fn: Callable[..., Any]) -> int | None:
    ann = getattr(fn, "__annotations__", {}).get("return")
    if ann is None:
        return None
    if isinstance(ann, str):
        try:
            import typing

            ann = typing.get_type_hints(fn).get("return")
        except Exception:  # noqa: BLE001 - unresolvable annotations just mean "unknown"
            return None
    import typing

    origin = typing.get_origin(ann)
    if origin is tuple and ann not in (typing.Tuple, tuple):  # noqa: UP006 - bare: any length
        args = typing.get_args(ann)
        if not args or args == ((),):
            return 0  # Tuple[()]
        if args[-1] is not Ellipsis:
            return len(args)
    return None


def _seconds(value: Any, what: str, owner: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        secs = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        secs = float(value)
    else:
        raise TypeError(
            f"{owner}: {what} must be a number of seconds or a datetime.timedelta, got "
            f"{type(value).__name__}: {value!r}"
        )
    if secs < 0:
        raise ValueError(f"{owner}: {what} must not be negative, got {value!r}")
    return secs


class Task(TaskOperators):
    """A unit of work. Subclass and implement ``run()``.

    Args:
        name: display name (default: the class name).
        slug: unique identifier within a flow (default: generated when added to a flow).
        tags: an iterable of tag strings (a bare string is a ``TypeError``).
        max_retries: how many times a failed run is retried (needs ``retry_delay``).
        retry_delay: ``timedelta`` to wait before a retry.
        retry_on: exception type(s) that trigger a retry; others fail at once.
        timeout: seconds (int) or ``timedelta`` after which the run is ``TimedOut``.
        trigger: ``fn(upstream_states) -> bool`` deciding whether the task runs
            (default ``all_successful``).
        skip_on_upstream_skip: become ``Skipped`` when an upstream task was skipped.
        cache_for: how long a successful result may be reused.
        cache_validator: ``fn(state, inputs, parameters) -> bool`` checking a cached state.
        cache_key: share cached states between tasks under this key.
        checkpoint: set to ``False`` to never persist this task's results.
        state_handlers: ``fn(task, old_state, new_state) -> Optional[State]`` called on changes.
        on_failure: ``fn(task, state)`` called when the task fails.
        log_stdout: send ``print`` output of ``run()`` to the task's logger.
        result: the :class:`~headwater.engine.result.Result` used to persist results.
        target: location template; if it exists, the task is skipped as ``Cached``.
        task_run_name: template (or callable) naming each run, formatted from inputs/context.
        nout: number of outputs, so that ``a, b = task()`` works.
    """

    _signature: TaskSignature  # set per class (or per instance for FunctionTask)
    #: whether the task can be one of the flow's default reference tasks; helper tasks that
    #: should not decide the flow's final state (a resource's init and cleanup) set it False
    reference_by_default: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _init.wrap_subclass_init(cls)
        if "run" in cls.__dict__:
            cls._signature = TaskSignature(cls.run, f"Task {cls.__name__}", skip_self=True)
            cls._class_nout = _infer_nout(cls.run)

    def __init__(
        self,
        name: str | None = None,
        slug: str | None = None,
        tags: Iterable[str] | None = None,
        max_retries: int | None = None,
        retry_delay: datetime.timedelta | None = None,
        retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        timeout: int | datetime.timedelta | None = None,
        trigger: Callable[..., bool] | None = None,
        skip_on_upstream_skip: bool = True,
        cache_for: datetime.timedelta | None = None,
        cache_validator: Callable[..., bool] | None = None,
        cache_key: str | None = None,
        checkpoint: bool | None = None,
        state_handlers: list[Callable[..., Any]] | None = None,
        on_failure: Callable[..., Any] | None = None,
        log_stdout: bool = False,
        result: Any = None,
        target: str | Callable[..., str] | None = None,
        task_run_name: str | Callable[..., str] | None = None,
        nout: int | None = None,
    ) -> None:
        if type(self) is not Task:
            _init.warn_reserved_attributes(self)
        self.name = name if name is not None else type(self).__name__
        if not isinstance(self.name, str):
            raise TypeError(
                f"Task name must be a string, got {type(self.name).__name__}: {self.name!r}"
            )
        self.slug = slug
        self._generated_slug: str | None = None  # set by the first flow the task joins
        owner = f"Task {self.name!r}"
        self.id = next(_ids)
        self.auto_generated = False

        self.tags = _options.check_tags(tags, owner)
        ctx_tags = _context.get("tags")
        if ctx_tags:
            self.tags.update(ctx_tags)

        defaults = _task_defaults()
        self.max_retries, self.retry_delay, self.retry_on = _init.retry_options(
            owner, max_retries, retry_delay, retry_on, defaults
        )
        if timeout is None:
            timeout = defaults[2]
        t = _seconds(timeout, "timeout", owner)
        self.timeout = None if not t else (int(t) if float(t).is_integer() else t)

        if trigger is None:
            from headwater.triggers import all_successful

            trigger = all_successful
        else:
            _options.check_callable(trigger, "trigger", owner, "fn(upstream_states) -> bool")
        self.trigger = trigger
        self.skip_on_upstream_skip = skip_on_upstream_skip

        if cache_for is not None and not isinstance(cache_for, datetime.timedelta):
            raise TypeError(f"{owner}: cache_for must be a datetime.timedelta, got {cache_for!r}")
        _options.check_callable(
            cache_validator, "cache_validator", owner, "fn(state, inputs, parameters) -> bool"
        )
        _options.check_cache_key(cache_key, owner)
        self.cache_for = cache_for
        self.cache_validator = _init.cache_validator_for(
            owner, cache_for, cache_validator, cache_key
        )
        self.cache_key = cache_key
        self.checkpoint = checkpoint

        self.state_handlers = _options.check_callables(
            state_handlers, "state_handlers", owner, "fn(task, old_state, new_state)"
        )
        _options.check_callable(on_failure, "on_failure", owner, "fn(task, state)")
        self.on_failure = on_failure
        self.log_stdout = log_stdout

        _options.check_result(result, owner)
        _options.check_template(target, "target", owner)
        _options.check_template(task_run_name, "task_run_name", owner)
        if result is not None and target is not None:
            result = result.copy()
            result.location = target
        self.result = result
        self.target = target
        self.task_run_name = task_run_name

        if nout is None:
            nout = getattr(type(self), "_class_nout", None)
        if nout is not None and (not isinstance(nout, int) or nout < 0):
            raise ValueError(f"{owner}: nout must be a non-negative int, got {nout!r}")
        self.nout = nout
        _init.track_created(self)

    # -- identity -------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<Task: {self.name}>"

    __hash__ = object.__hash__
    __signature__ = _init.InstanceSignature()

    @property
    def logger(self) -> logging.Logger:
        from headwater.utilities.logging import get_logger

        return get_logger(self.name)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()

    # -- running --------------------------------------------------------------------------
    def run(self) -> Any:  # pragma: no cover - abstract
        """The work itself; override in subclasses."""

    def inputs(self) -> dict[str, dict[str, Any]]:
        """``{argument: {"type": annotation, "required": bool, "default": value}}`` of ``run()``."""
        out: dict[str, dict[str, Any]] = {}
        sig = self._signature
        for p in sig.params:
            if p.kind is p.VAR_KEYWORD:
                continue
            ann = p.annotation if p.annotation is not p.empty else Any
            required = p.default is p.empty
            out[p.name] = {
                "type": ann,
                "required": required,
                "default": None if required else p.default,
            }
        return out

    def outputs(self) -> Any:
        """The return annotation of ``run()``, or ``Any``."""
        ret = inspect.signature(self._run_callable()).return_annotation
        return Any if ret is inspect.Signature.empty else ret

    def _run_callable(self) -> Callable[..., Any]:
        return self.run

    def serialize(self) -> dict[str, Any]:
        """The task's settings as a JSON-compatible dict (Prefect 1's ``TaskSchema`` shape;
        ``ParameterSchema`` for parameters)."""
        from headwater.serialization.task import serialize_task

        return serialize_task(self)

    # -- graph building -------------------------------------------------------------------
    def copy(self, **task_args: Any) -> Task:
        """A copy with a new identity; ``task_args`` override attributes (e.g. ``name``)."""
        flow = _context.get("flow")
        if (
            flow is not None
            and self in flow.tasks
            and (flow.edges_to(self) or flow.edges_from(self))
        ):
            import warnings

            warnings.warn(
                f"You are making a copy of {self!r} after it was added to a flow with edges; "
                "the copy does not keep them.",
                stacklevel=2,
            )
        if task_args:
            _options.check_overrides(task_args, f"Task {task_args.get('name', self.name)!r}")
        new = _copy.copy(self)
        d = new.__dict__
        d["id"] = next(_ids)
        user_slug = self.slug is not None and self.slug != self._generated_slug
        d["slug"] = f"{self.slug}-copy" if user_slug else None
        d["tags"] = set(self.tags)
        d["state_handlers"] = list(self.state_handlers)
        for k, v in task_args.items():
            if k not in d:
                raise AttributeError(f"{self!r} has no attribute {k!r} to override in copy()")
            if k == "tags":
                v = set(self.tags).union(v or ())  # new tags are added to the task's own
            d[k] = v
        ctx_tags = _context.get("tags")
        if ctx_tags:
            d["tags"].update(ctx_tags)
        if "target" in task_args and d["result"] is not None:
            res = d["result"].copy()
            res.location = task_args["target"]
            d["result"] = res
        _init.track_copy(self, new)
        return new

    def __call__(
        self,
        *args: Any,
        mapped: bool = False,
        task_args: dict[str, Any] | None = None,
        upstream_tasks: Iterable[Any] | None = None,
        flow: Flow | None = None,
        **kwargs: Any,
    ) -> Task:
        """Copy the task and bind the arguments in the active flow (or ``flow``)."""
        new = self.copy(**(task_args or {}))
        try:
            return new.bind(
                *args, mapped=mapped, upstream_tasks=upstream_tasks, flow=flow, **kwargs
            )
        except BaseException:
            _init.untrack(new)  # the error says enough: no "not added" warning too
            raise

    def bind(
        self,
        *args: Any,
        mapped: bool = False,
        upstream_tasks: Iterable[Any] | None = None,
        flow: Flow | None = None,
        **kwargs: Any,
    ) -> Task:
        """Bind arguments to this task (no copy) in the active flow (or ``flow``); returns it.

        Raises:
            TypeError: the arguments do not fit ``run()`` (too many, unknown or missing).
            ValueError: no flow is given or active.
        """
        callargs = self._bind_arguments(args, kwargs)
        flow = flow if flow is not None else _active_flow(self, "bind")
        flow.set_dependencies(
            task=self,
            upstream_tasks=upstream_tasks,
            keyword_tasks=callargs,
            mapped=mapped,
            validate=False,
        )
        ctx_tags = _context.get("tags")
        if ctx_tags:
            self.tags.update(ctx_tags)
        return self

    def _bind_arguments(self, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
        sig = self._signature
        if len(args) > len(sig.names):
            raise TypeError(
                f"{self!r} takes {len(sig.names)} positional argument(s) "
                f"({', '.join(sig.names) or 'none'}) but {len(args)} were given."
            )
        callargs = dict(zip(sig.names, args))
        for k, v in kwargs.items():
            if k in callargs:
                raise TypeError(f"{self!r} got multiple values for argument {k!r}")
            if k not in sig.names and not sig.var_kw:
                raise TypeError(
                    f"{self!r} got an unexpected keyword argument {k!r}; run() accepts "
                    f"{', '.join(sig.names) or 'no arguments'}."
                )
            callargs[k] = v
        missing = [n for n in sig.required if n not in callargs]
        if missing:
            raise TypeError(
                f"{self!r}: missing a required argument: {missing[0]!r} (run() needs "
                f"{', '.join(map(repr, missing))}; pass it as an argument of the call)."
            )
        return callargs

    def map(
        self,
        *args: Any,
        upstream_tasks: Iterable[Any] | None = None,
        flow: Flow | None = None,
        task_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Task:
        """Copy the task and map it over the arguments (wrap one in ``unmapped`` to pass it whole).

        The copy's ``nout`` is ``None`` (a mapped task's result is a list, not a tuple) unless
        ``task_args`` sets it.

        Raises:
            TypeError: an argument cannot be mapped over (it cannot be indexed).
        """
        task_args = dict(task_args or {})
        task_args.setdefault("nout", None)
        new = self.copy(**task_args)
        try:
            return new.bind(*args, mapped=True, upstream_tasks=upstream_tasks, flow=flow, **kwargs)
        except BaseException:
            _init.untrack(new)
            raise

    def set_dependencies(
        self,
        flow: Flow | None = None,
        upstream_tasks: Iterable[Any] | None = None,
        downstream_tasks: Iterable[Any] | None = None,
        keyword_tasks: dict[str, Any] | None = None,
        mapped: bool = False,
        validate: bool | None = None,
    ) -> Task:
        """Set dependencies of this task in ``flow`` (default: the active flow); returns it."""
        flow = flow if flow is not None else _dependency_flow(self, "set_dependencies")
        flow.set_dependencies(
            task=self,
            upstream_tasks=upstream_tasks,
            downstream_tasks=downstream_tasks,
            keyword_tasks=keyword_tasks,
            mapped=mapped,
            validate=validate,
        )
        return self

    def set_upstream(
        self, task: Any, flow: Flow | None = None, key: str | None = None, mapped: bool = False
    ) -> Task:
        """Make this task depend on ``task`` (passing its result as ``key`` if given).

        Returns:
            This task, so calls chain.
        """
        if key is not None:
            self.set_dependencies(flow=flow, keyword_tasks={key: task}, mapped=mapped)
        else:
            self.set_dependencies(flow=flow, upstream_tasks=[task], mapped=mapped)
        return self

    def set_downstream(
        self, task: Any, flow: Flow | None = None, key: str | None = None, mapped: bool = False
    ) -> Task:
        """Make ``task`` depend on this task (receiving its result as ``key`` if given).

        Returns:
            This task, so calls chain.
        """
        flow = flow if flow is not None else _dependency_flow(self, "set_downstream")
        if key is not None:
            flow.set_dependencies(task=task, keyword_tasks={key: self}, mapped=mapped)
        else:
            flow.set_dependencies(task=task, upstream_tasks=[self], mapped=mapped)
        return self

    def pipe(self, _task: Task, **kwargs: Any) -> Task:
        """``self.pipe(t, a=1)`` is ``t(self, a=1)``: chain calls fluently."""
        return _task(self, **kwargs)

    def __iter__(self) -> Iterator[Task]:
        if self.nout is None:
            raise TypeError(
                f"Task is not iterable: {self!r}. If it returns several values, give it "
                "nout=<n> (or annotate run()'s return as Tuple[...]) to unpack it; a mapped "
                "task's result is a list, which does not unpack."
            )
        return (self[i] for i in range(self.nout))


Task._signature = TaskSignature(Task.run, "Task", skip_self=True)
Task._class_nout = None  # type: ignore[attr-defined]


def _active_flow(task: Task, what: str) -> Flow:
    flow = _context.get("flow")
    if flow is None:
        from headwater.tasks.core.function import FunctionTask

        shown = task.name if isinstance(task, FunctionTask) else f"{type(task).__name__}(...)"
        raise ValueError(
            f"Could not infer an active Flow context while creating edge to {task!r} (in "
            f"{what}()): no flow is active. This often means you called a task outside a "
            "`with Flow(...)` block (or pass flow=...). If you're trying to run this task "
            f"outside of a Flow context, you need to call `{shown}.run(...)`."
        )
    return flow


def _dependency_flow(task: Task, what: str) -> Flow:
    flow = _context.get("flow")
    if flow is None:
        raise ValueError(
            f"No Flow was passed, and could not infer an active Flow context: {what}() on "
            f"{task!r} needs flow=... or a `with Flow(...):` block."
        )
    return flow


_defaults_cache: list[Any] = [None, None]


def _task_defaults() -> tuple[int, datetime.timedelta | None, Any]:
    """(max_retries, retry_delay, timeout) defaults from ``config.tasks.defaults``."""
    from headwater.configuration import config

    try:
        d = config.tasks.defaults
        key = (d.get("max_retries"), d.get("retry_delay"), d.get("timeout"))
    except AttributeError:
        key = (0, None, None)
    if _defaults_cache[0] == key:
        return _defaults_cache[1]
    mr, rd, to = key
    mr = int(mr or 0)
    if isinstance(rd, (int, float)) and not isinstance(rd, bool):
        rd = datetime.timedelta(seconds=rd) if rd else None
    to = to or None
    out = (mr, rd, to)
    _defaults_cache[0] = key
    _defaults_cache[1] = out
    return out
