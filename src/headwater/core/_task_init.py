"""Bookkeeping done when a task is created, copied or bound.

:class:`~headwater.core.task.Task` calls these (its options are checked in
:mod:`headwater.core._task_options`); they hold the rules in one place:

* warnings for two common mistakes in ``Task`` subclasses: passing a task to the
  constructor (tasks are inputs of the call, not of ``__init__``), and ``__init__`` setting an
  attribute that ``Task.__init__`` then overwrites;
* the tasks created inside a ``with Flow(...)`` block but never added to it, which the flow
  warns about when the block ends (``context._unused_task_tracker``);
* the ``case`` and resource blocks a task joins when it is added inside them.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = [
    "MODERN_RUN",
    "TRACKER_KEY",
    "runs_now",
    "active_flow",
    "constant_class",
    "dependency_flow",
    "join_open_blocks",
    "modern_call",
    "parameter_class",
    "track_copy",
    "track_created",
    "untrack",
    "untracked",
    "untracked_on_error",
    "unused_tasks_warning",
    "warn_reserved_attributes",
    "wrap_subclass_init",
]

TRACKER_KEY = "_unused_task_tracker"

#: Set while a ``@flow`` (or a task called outside flows) runs: a task call then runs the task
#: (``headwater.modern``) instead of adding it to a graph.
MODERN_RUN: contextvars.ContextVar[Any] = contextvars.ContextVar("headwater_modern", default=None)


_modern_calls: dict[str, Callable[..., Any]] = {}


def modern_call(name: str) -> Callable[..., Any]:
    """``headwater.modern.calls.<name>``, which runs task calls made in a ``@flow`` run."""
    fn = _modern_calls.get(name)
    if fn is None:
        from headwater.modern import calls

        fn = _modern_calls[name] = getattr(calls, name)
    return fn


def runs_now(task: Task, flow: Any) -> bool:
    """Whether calling ``task`` runs it (a ``@flow`` API call) rather than adding it to a graph.

    It runs inside a running ``@flow`` or modern task, and, outside any flow, when it is a
    function task (``@task``) or was given Prefect 3 options, as Prefect 3 runs it; a ``with
    Flow(...)`` block (or ``flow=``) always builds the graph. A ``Task`` subclass called outside
    any flow has no graph to join: that raises.
    """
    if flow is not None or _ctx().get("flow") is not None:
        return False
    if MODERN_RUN.get() is not None:
        return True
    options = task.__dict__.get("modern_options")
    if options is not None and options.explicit:
        return True
    return type(task) in _function_task_types()


def _function_task_types() -> tuple[type, ...]:
    cls = _lazy_classes.get("FunctionTask")
    if cls is None:
        from headwater.tasks.core.function import FunctionTask

        cls = _lazy_classes["FunctionTask"] = FunctionTask
    return (cls,)


# Building a flow reads a few context keys per task: straight from the context's variable.
_ctx = _context.current


_lazy_classes: dict[str, type] = {}


def parameter_class() -> type:
    """``headwater.core.parameter.Parameter`` (imported once, on first use)."""
    cls = _lazy_classes.get("Parameter")
    if cls is None:
        from headwater.core.parameter import Parameter

        cls = _lazy_classes["Parameter"] = Parameter
    return cls


def constant_class() -> type:
    """``headwater.tasks.core.constants.Constant`` (imported once, on first use)."""
    cls = _lazy_classes.get("Constant")
    if cls is None:
        from headwater.tasks.core.constants import Constant

        cls = _lazy_classes["Constant"] = Constant
    return cls


# ------------------------------------------------------------------------- subclass checks --
_reserved: list[frozenset[str]] = []
_wrapped_inits: weakref.WeakSet[Callable[..., None]] = weakref.WeakSet()  # (checking args)


def _reserved_attributes() -> frozenset[str]:
    """The attributes ``Task.__init__`` sets (those of a plain ``Task()``)."""
    if not _reserved:
        from headwater.core.task import Task

        with _context(**{TRACKER_KEY: set()}):
            _reserved.append(frozenset(Task().__dict__))
    return _reserved[0]


def warn_reserved_attributes(task: Task) -> None:
    """Warn when a subclass's ``__init__`` set an attribute ``Task.__init__`` overwrites."""
    if not task.__dict__:
        return
    for attr in sorted(task.__dict__.keys() & _reserved_attributes()):
        warnings.warn(
            f"`{type(task).__name__}` sets a `{attr}` attribute, which will be overwritten by "
            "`headwater.Task`. Please rename this attribute to avoid this issue.",
            UserWarning,
            stacklevel=4,
        )


def wrap_subclass_init(cls: type) -> None:
    """Make ``cls.__init__`` warn when it is given a task (which belongs in the call)."""
    init = cls.__dict__.get("__init__")
    if init is None or init in _wrapped_inits:
        return

    from headwater.core.task import Task

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if any(isinstance(a, Task) for a in args) or any(
            isinstance(v, Task) for v in kwargs.values()
        ):
            name = type(self).__name__
            warnings.warn(
                f"A Task was passed as an argument to {name}, you likely want to first "
                f"initialize {name} with any static (non-Task) arguments, then call the "
                "initialized task with any dynamic (Task) arguments instead. For example:\n\n"
                f"  my_task = {name}(...)  # static (non-Task) args go here\n"
                "  res = my_task(...)  # dynamic (Task) args go here\n",
                UserWarning,
                stacklevel=2,
            )
        init(self, *args, **kwargs)

    _wrapped_inits.add(__init__)
    cls.__init__ = __init__  # type: ignore[misc]


# ------------------------------------------------------------------------ open blocks --
def join_open_blocks(task: Task, flow: Any) -> None:
    """Make ``task`` part of the ``case`` and resource blocks open here, if any.

    Parameters and constants never join: they are inputs, and must stay root tasks.
    """
    ctx = _ctx()
    block = ctx.get("case")
    resource = ctx.get("resource")
    if block is None and resource is None:
        return
    if isinstance(task, (parameter_class(), constant_class())):
        return
    if block is not None:
        block.add_task(task, flow)
    if resource is not None:
        resource.add_task(task, flow)


# ----------------------------------------------------------------------- unused tasks --
def track_created(task: Task) -> None:
    """Remember ``task`` as created inside the active ``with Flow(...)`` block."""
    tracker = _ctx().get(TRACKER_KEY)
    if tracker is not None and not isinstance(task, constant_class()):
        tracker.add(task)


def track_copy(original: Task, new: Task) -> None:
    """``original`` was used (copied); its copy ``new`` is the task to account for now."""
    tracker = _ctx().get(TRACKER_KEY)
    if tracker is not None:
        tracker.discard(original)
        if not isinstance(new, constant_class()):
            tracker.add(new)


@contextlib.contextmanager
def untracked() -> Iterator[None]:
    """Tasks created in this block are helpers of the code creating them: do not track them."""
    if _context.get(TRACKER_KEY) is None:
        yield
        return
    with _context(**{TRACKER_KEY: set()}):
        yield


def untrack(task: Task) -> None:
    """Forget ``task`` (e.g. a copy whose binding failed): no "not added" warning for it."""
    tracker = _ctx().get(TRACKER_KEY)
    if tracker is not None:
        tracker.discard(task)


@contextlib.contextmanager
def untracked_on_error(task: Task) -> Iterator[None]:
    """Forget ``task`` (a task being bound) if the block fails: the error says enough."""
    try:
        yield
    except BaseException:
        untrack(task)
        raise


def unused_tasks_warning(flow: Any, tracker: set[Task]) -> None:
    """Warn about the tasks of ``tracker`` that did not end up in ``flow``."""
    unused = tracker.difference(flow.tasks)
    if unused:
        names = ", ".join(sorted(repr(t) for t in unused))
        warnings.warn(
            f"Tasks were created but not added to the flow: {names}. This can occur when "
            "`Task` classes, including `Parameters`, are instantiated inside a "
            f"`with Flow({flow.name!r}):` block but not added to the flow either explicitly "
            "(flow.add_task) or as the input to another task.",
            UserWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------- active flow --
def active_flow(task: Task, what: str) -> Flow:
    """The flow in context, which ``task.<what>()`` binds the task in.

    Raises:
        ValueError: no flow is active (the message says how to run the task instead).
    """
    flow: Flow | None = _context.get("flow")
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


def dependency_flow(task: Task, what: str) -> Flow:
    """The flow in context, which ``task.<what>()`` sets dependencies in.

    Raises:
        ValueError: no flow is active.
    """
    flow: Flow | None = _context.get("flow")
    if flow is None:
        raise ValueError(
            f"No Flow was passed, and could not infer an active Flow context: {what}() on "
            f"{task!r} needs flow=... or a `with Flow(...):` block."
        )
    return flow
