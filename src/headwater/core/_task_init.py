"""Checks and bookkeeping done when a task is created, copied or bound.

:class:`~headwater.core.task.Task` calls these; they hold the rules in one place:

* run options: ``max_retries``/``retry_delay``/``retry_on``/``timeout`` and their defaults
  from ``config.tasks.defaults`` (a ``retry_delay`` needs ``max_retries > 0`` and the other
  way round; the configured ``retry_delay`` is only used when the task retries);
* cache options: the default ``cache_validator`` (``never_use``, or ``duration_only`` with
  ``cache_for``), and a warning when a validator is given with nothing to validate;
* warnings for two common mistakes in ``Task`` subclasses: passing a task to the
  constructor (tasks are inputs of the call, not of ``__init__``), and ``__init__`` setting an
  attribute that ``Task.__init__`` then overwrites;
* the tasks created inside a ``with Flow(...)`` block but never added to it, which the flow
  warns about when the block ends (``context._unused_task_tracker``).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import inspect
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context

if TYPE_CHECKING:
    from headwater.core.task import Task

__all__ = [
    "TRACKER_KEY",
    "InstanceSignature",
    "cache_validator_for",
    "call_signature",
    "constant_class",
    "join_open_blocks",
    "parameter_class",
    "retry_options",
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

# Building a flow reads a few context keys per task: straight from the context's variable.
_CTX_VAR = _context._var  # noqa: SLF001
_CTX_BASE = _context._base  # noqa: SLF001


def _ctx() -> dict[str, Any]:
    d = _CTX_VAR.get()
    return _CTX_BASE if d is None else d


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


# --------------------------------------------------------------------------- run options --
def retry_options(
    owner: str,
    max_retries: Any,
    retry_delay: Any,
    retry_on: Any,
    defaults: tuple[int, datetime.timedelta | None, Any],
) -> tuple[int, datetime.timedelta | None, set[type[BaseException]] | None]:
    """``(max_retries, retry_delay, retry_on)`` checked, with config defaults filled in.

    Raises:
        ValueError: retries without a delay, a delay or ``retry_on`` without retries, or a
            negative ``max_retries``.
        TypeError: a ``retry_delay`` that is not a ``timedelta``, or ``retry_on`` holding
            something other than exception types.
    """
    if max_retries is None:
        max_retries = defaults[0]
    if max_retries is False:
        max_retries = 0
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise ValueError(f"{owner}: max_retries must be a non-negative int, got {max_retries!r}")
    if retry_delay is None and max_retries:
        retry_delay = defaults[1]
    if retry_delay is not None and not isinstance(retry_delay, datetime.timedelta):
        raise TypeError(
            f"{owner}: retry_delay must be a datetime.timedelta, got "
            f"{type(retry_delay).__name__}: {retry_delay!r}"
        )
    if max_retries > 0 and retry_delay is None:
        raise ValueError(
            f"{owner}: a datetime.timedelta `retry_delay` must be provided if max_retries > 0."
        )
    if retry_delay is not None and not max_retries:
        raise ValueError(
            f"{owner}: A `max_retries` argument greater than 0 must be provided if specifying "
            f"a retry delay (got retry_delay={retry_delay!r})."
        )
    if not retry_on:
        return max_retries, retry_delay, None
    if not max_retries:
        raise ValueError(
            f"{owner}: retry_on is only meaningful with max_retries > 0 (a number of "
            "`max_retries` must be provided if `retry_on` is set)."
        )
    kinds = (
        {retry_on}
        if isinstance(retry_on, type) or not isinstance(retry_on, Iterable)
        else set(retry_on)
    )
    for kind in kinds:
        if not isinstance(kind, type):
            raise TypeError(
                f"{owner}: invalid `retry_on` value {kind!r}: expected an exception type but got "
                f"an instance of {type(kind).__name__}"
            )
        if not issubclass(kind, BaseException):
            raise TypeError(
                f"{owner}: invalid `retry_on` value {kind!r}: expected an exception subclass"
            )
    return max_retries, retry_delay, kinds


def cache_validator_for(
    owner: str, cache_for: Any, cache_validator: Callable[..., bool] | None, cache_key: Any
) -> Callable[..., bool]:
    """The validator a task uses: the given one, else ``duration_only`` / ``never_use``.

    Warns (``UserWarning``) when a validator is given without ``cache_for`` or ``cache_key``:
    nothing would ever be cached for it to check.
    """
    from headwater.engine import cache_validators

    if (
        cache_validator is not None
        and cache_validator is not cache_validators.never_use
        and cache_for is None
        and cache_key is None
    ):
        warnings.warn(
            f"{owner}: cache_validator provided without specifying cache expiration (cache_for); "
            "this Task will not be cached.",
            UserWarning,
            stacklevel=4,
        )
    if cache_validator is not None:
        return cache_validator
    return cache_validators.never_use if cache_for is None else cache_validators.duration_only


# ------------------------------------------------------------------------- subclass checks --
_reserved: list[frozenset[str]] = []


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
    if init is None or getattr(init, "_headwater_checks_args", False):
        return

    from headwater.core.task import Task

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
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

    __init__._headwater_checks_args = True  # type: ignore[attr-defined]
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


# --------------------------------------------------------------------------- signature --
_CALL_PARAMETERS = [
    inspect.Parameter("mapped", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool),
    inspect.Parameter("task_args", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=dict),
    inspect.Parameter("upstream_tasks", inspect.Parameter.KEYWORD_ONLY, default=None),
    inspect.Parameter("flow", inspect.Parameter.KEYWORD_ONLY, default=None),
]


def call_signature(run: Callable[..., Any]) -> inspect.Signature:
    """The signature of calling a task: ``run()``'s parameters plus the call's own options."""
    params = list(inspect.signature(run).parameters.values())
    kinds = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.VAR_POSITIONAL,
    )
    ordered = [p for p in params if p.kind in kinds]
    ordered += [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    taken = {p.name for p in params}
    ordered += [p for p in _CALL_PARAMETERS if p.name not in taken]
    ordered += [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    return inspect.Signature(parameters=ordered, return_annotation="Task")


class InstanceSignature:
    """``task.__signature__``: the call signature of a task instance (see :func:`call_signature`).

    On the class it is absent, so ``inspect.signature(TaskClass)`` describes ``__init__``.
    """

    def __get__(self, obj: Any, cls: type | None = None) -> inspect.Signature:
        if obj is None:
            raise AttributeError("__signature__")
        return call_signature(obj.run)
