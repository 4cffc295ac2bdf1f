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
from headwater.core import _task_options as _opts
from headwater.core._task_operators import TaskOperators
from headwater.core.signature import RESERVED_ARGS, InstanceSignature, TaskSignature, infer_nout

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["RESERVED_ARGS", "Task", "TaskSignature"]

_ids = itertools.count(1)


if TYPE_CHECKING:
    # For type checkers a task is assignable to any type: passed as another task's input (or
    # returned from a Prefect 2/3-style flow), it stands for its result. At run time: object.
    _StandsForItsResult = Any
else:
    _StandsForItsResult = object


class Task(TaskOperators, _StandsForItsResult):  # type: ignore[misc]
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
        on_failure: ``fn(task, state)`` called when the task fails (a list: Prefect 3's hooks
            ``hook(task, task_run, state)``, see :mod:`headwater.modern.options`).
        log_stdout: send ``print`` output of ``run()`` to the task's logger.
        result: the :class:`~headwater.engine.result.Result` used to persist results.
        target: location template; if it exists, the task is skipped as ``Cached``.
        task_run_name: template (or callable) naming each run, formatted from inputs/context.
        nout: number of outputs, so that ``a, b = task()`` works.
        **modern: Prefect 3's options (``retries``, ``retry_delay_seconds``, ``cache_key_fn``,
            ``timeout_seconds``, ``log_prints``...), see :mod:`headwater.modern.options`.
    """

    _signature: TaskSignature  # set per class (or per instance for FunctionTask)
    _class_nout: int | None = None  # the outputs of the class's run(), from its annotation
    #: whether the task can be one of the flow's default reference tasks; helper tasks that
    #: should not decide the flow's final state (a resource's init and cleanup) set it False
    reference_by_default: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _init.wrap_subclass_init(cls)
        if "run" in cls.__dict__:
            cls._signature = TaskSignature(cls.run, f"Task {cls.__name__}", skip_self=True)
            cls._class_nout = infer_nout(cls.run)

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
        **modern: Any,
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

        defaults = _opts.task_defaults()
        self.max_retries, self.retry_delay, self.retry_on = _opts.retry_options(
            owner, max_retries, retry_delay, retry_on, defaults
        )
        self.timeout = _opts.timeout_option(owner, timeout, defaults)
        self.trigger = _opts.trigger_option(owner, trigger)
        self.skip_on_upstream_skip = skip_on_upstream_skip
        validator = _opts.cache_options(owner, cache_for, cache_validator, cache_key)
        self.cache_for = cache_for
        self.cache_validator = validator
        self.cache_key = cache_key
        self.checkpoint = checkpoint

        self.state_handlers = _options.check_callables(
            state_handlers, "state_handlers", owner, "fn(task, old_state, new_state)"
        )
        if isinstance(on_failure, (list, tuple)):  # Prefect 3's hooks
            modern["on_failure"], on_failure = on_failure, None
        _options.check_callable(on_failure, "on_failure", owner, "fn(task, state)")
        self.on_failure = on_failure
        self.log_stdout = log_stdout
        self.result = _opts.result_options(owner, result, target, task_run_name)
        self.target = target
        self.task_run_name = task_run_name
        self.nout = _opts.nout_option(owner, nout, self._class_nout)
        if modern:
            from headwater.modern.options import apply_modern_options

            apply_modern_options(self, modern)
        _init.track_created(self)

    # -- identity -------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<Task: {self.name}>"

    __hash__ = object.__hash__
    __signature__ = InstanceSignature()

    @property
    def logger(self) -> logging.Logger:
        from headwater.utilities.logging import get_logger

        return get_logger(self.name)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @property
    def slug_is_generated(self) -> bool:
        """Whether ``slug`` was generated by the first flow the task joined (not given)."""
        return self.slug is not None and self.slug == getattr(self, "_generated_slug", None)

    def use_generated_slug(self, slug: str) -> None:
        """Take ``slug``, generated by a flow the task joins (see :attr:`slug_is_generated`)."""
        self.slug = self._generated_slug = slug

    # -- running --------------------------------------------------------------------------
    if TYPE_CHECKING:
        # subclasses give run() the arguments they need
        run: Callable[..., Any]
    else:

        def run(self) -> Any:  # pragma: no cover - abstract
            """The work itself; override in subclasses."""

        _signature = TaskSignature(run, "Task", skip_self=True)

    def accepts_argument(self, name: str) -> bool:
        """Whether ``run()`` takes an argument ``name`` (by name, or through ``**kwargs``)."""
        return self._signature.accepts(name)

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
            and self in flow.graph.tasks
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
        """Copy the task and bind the arguments in the active flow (or ``flow``).

        Inside a running ``@flow`` the call runs the task instead (see :meth:`submit`).
        """
        if _init.runs_now(self, flow):
            return _init.modern_call("call")(self, args, kwargs)  # type: ignore[no-any-return]
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
        flow = flow if flow is not None else _init.active_flow(self, "bind")
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

    def _bind_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        return self._signature.bind(self, args, kwargs)

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
        if _init.runs_now(self, flow):
            return _init.modern_call("map_task")(self, args, kwargs)  # type: ignore[no-any-return]
        task_args = dict(task_args or {})
        task_args.setdefault("nout", None)
        new = self.copy(**task_args)
        try:
            return new.bind(*args, mapped=True, upstream_tasks=upstream_tasks, flow=flow, **kwargs)
        except BaseException:
            _init.untrack(new)
            raise

    # -- the @flow API ---------------------------------------------------------------------
    def submit(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task on the running ``@flow``'s task runner; returns a future at once.

        Takes the task's arguments, plus ``wait_for=[futures]`` and ``return_state=True``.
        """
        return _init.modern_call("submit")(self, args, kwargs)

    def with_options(self, **options: Any) -> Task:
        """A copy of the task with options changed (Prefect 3's names, ``name``, ``tags``)."""
        from headwater.modern.options import with_options

        return with_options(self, **options)  # type: ignore[no-any-return]

    @property
    def fn(self) -> Callable[..., Any]:
        """The function the task runs (``run``), to call it without any engine."""
        value: Callable[..., Any] = self.__dict__.get("fn", self.run)
        return value

    @fn.setter
    def fn(self, value: Callable[..., Any]) -> None:
        self.__dict__["fn"] = value

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
        flow = flow if flow is not None else _init.dependency_flow(self, "set_dependencies")
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
        flow = flow if flow is not None else _init.dependency_flow(self, "set_downstream")
        if key is not None:
            flow.set_dependencies(task=task, keyword_tasks={key: self}, mapped=mapped)
        else:
            flow.set_dependencies(task=task, upstream_tasks=[self], mapped=mapped)
        return self

    def pipe(_headwater_self, _task: Any, **kwargs: Any) -> Task:
        """``self.pipe(t, a=1)`` is ``t(self, a=1)``: chain calls fluently.

        ``_task`` may also be an edge annotation class (``flatten``, ``mapped``, ``unmapped``):
        as in Prefect 1, that gives this task back, to chain further. (The first parameter is
        not named ``self`` so that a ``self=`` keyword reaches the check below.)

        Raises:
            ValueError: a keyword argument is named ``self``.
        """
        if "self" in kwargs:
            raise ValueError(
                'You cannot use the keyword argument "self" in .pipe(): the piped task is '
                "passed as the first argument already; give the value another name."
            )
        from headwater.core.edge import EdgeAnnotation

        if isinstance(_task, type) and issubclass(_task, EdgeAnnotation):
            return _headwater_self
        return _task(_headwater_self, **kwargs)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Task]:
        if self.nout is None:
            raise TypeError(
                f"Task is not iterable: {self!r}. If it returns several values, give it "
                "nout=<n> (or annotate run()'s return as Tuple[...]) to unpack it; a mapped "
                "task's result is a list, which does not unpack."
            )
        return (self[i] for i in range(self.nout))
