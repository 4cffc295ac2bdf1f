"""How a mapped task is expanded, and how its children see their upstream states.

A task called with ``.map(...)`` is first checked as a whole (:func:`map_readiness`): it maps
only when at least one mapped input is a successful state, and every successful mapped input
holds something that can be indexed. Then child ``i`` sees, through each edge:

- a mapped edge from a mapped upstream task: that task's child ``i``;
- a mapped edge from an ordinary task: a copy of its state holding ``result[i]``;
- an unmapped edge: the whole upstream state (for a mapped upstream task: ``Mapped``, whose
  result is the list of its children's results — a reduce).

``flatten(x)`` removes one level of nesting first. Over the children of a mapped task, each
successful child contributes one item per element of its result; a child that failed or was
skipped stays one item (so the matching downstream child fails its trigger, or skips), and a
child whose result is not a sequence stays one item too, with a warning. Over an ordinary
result, ``[[1, 2], [3]]`` becomes ``[1, 2, 3]``; a result that is not a sequence of iterables
is left as it is.

>>> from headwater import Flow, task, flatten
>>> @task
... def pair(x):
...     return [x, x]
>>> @task
... def inc(x):
...     return x + 1
>>> with Flow("flat") as flow:
...     out = inc.map(flatten(pair.map([1, 2])))
>>> flow.run().result[out].result
[2, 2, 3, 3]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.engine.signals import ENDRUN, HeadwaterStateSignal
from headwater.engine.state import Failed, Mapped, Pending, Skipped, State

if TYPE_CHECKING:
    from headwater.core.edge import Edge

__all__ = [
    "FLATTEN",
    "NO_MAPPABLE_UPSTREAM",
    "UNMAPPABLE_RESULT",
    "child_upstream_states",
    "flatten_children",
    "flatten_state",
    "flatten_upstream",
    "index_state",
    "index_states",
    "map_length",
    "map_readiness",
    "mapped_items",
    "parent_view_state",
]

NO_MAPPABLE_UPSTREAM = "No upstream states can be mapped over."
UNMAPPABLE_RESULT = "At least one upstream state has an unmappable result."

# Marks an upstream value passed as ``(FLATTEN, state_or_children)``: the task run flattens it
# where it runs, once the executor has resolved the futures inside.
FLATTEN = "headwater.flatten"

_UNSET = object()
_MAPPED_MESSAGE = "Mapped tasks submitted for execution."


def index_state(state: State, value: Any) -> State:
    """A copy of ``state`` holding ``value`` (one item of a mapped-over result)."""
    return index_states(state, (value,))[0]


def index_states(state: State, values: Any) -> list[State]:
    """One copy of ``state`` per item of ``values``, each holding its item."""
    cls = type(state)
    slots = cls.all_slots()  # found once per class
    present = []  # the slots set on ``state``, read once for all the copies
    for slot in slots:
        v = getattr(state, slot, _UNSET)
        if v is not _UNSET:
            present.append((slot, v))
    extra = getattr(state, "__dict__", None)
    new_ = cls.__new__
    setattr_ = object.__setattr__
    out = []
    for value in values:
        new = new_(cls)
        for slot, v in present:
            setattr_(new, slot, v)
        if extra:
            new.__dict__.update(extra)
        new.result = value
        out.append(new)
    return out


# -- flatten ----------------------------------------------------------------------------------
def _should_flatten(state: State) -> bool:
    return state.is_successful() and not isinstance(state, Skipped)


def _can_flatten(value: Any) -> bool:
    return hasattr(value, "__len__") and hasattr(value, "__getitem__")


def flatten_children(children: list[State]) -> list[State]:
    """The children of a mapped task, one level flatter (see the module docstring)."""
    out: list[State] = []
    warned = False
    for child in children:
        if child is None or not _should_flatten(child):
            out.append(child)
            continue
        value = child.result
        if _can_flatten(value):
            out.extend(index_states(child, value))
            continue
        if not warned:
            from headwater.utilities.logging import get_logger

            get_logger("FlowRunner").warning(
                "`flatten` was used on upstream task that did not return an iterable "
                "(%s); the value will be passed downstream unmodified.",
                type(value).__name__,
            )
            warned = True
        out.append(child)
    return out


def flatten_state(state: State) -> State:
    """``state`` with its result flattened one level; unchanged if that is not possible."""
    try:
        flat = [y for x in state.result for y in x]
    except TypeError:
        return state
    return index_state(state, flat)


def flatten_upstream(value: Any) -> State:
    """The state an unmapped ``flatten`` edge gives: a list of children, or a state, flattened."""
    if type(value) is list:
        return Mapped(message=_MAPPED_MESSAGE, map_states=flatten_children(value))
    if type(value) is Mapped:
        return Mapped(message=value.message, map_states=flatten_children(value.map_states))
    return flatten_state(value)


# -- expanding a mapped task ------------------------------------------------------------------
def mapped_items(edge: Edge, state: State) -> list[State] | None:
    """The states the children see through mapped ``edge``, in order.

    ``None`` when ``state`` holds no result at all (a re-run whose upstream results are
    gone): the children then all see ``state`` and their number comes from the task's
    previous ``Mapped`` state.
    """
    if type(state) is Mapped:
        children = state.map_states
        return flatten_children(children) if edge.flattened else list(children)
    if edge.flattened:
        state = flatten_state(state)
    value = state.result
    if value is None:
        return None
    return index_states(state, value)


def _prior_length(prior: State | None) -> int | None:
    if type(prior) is not Mapped:
        return None
    n = getattr(prior, "n_map_states", None)
    return n if n else len(prior.map_states) or None


def map_length(upstream_states: dict[Any, State], prior: State | None = None) -> int:
    """Number of children: the shortest mapped upstream (capped by a previous ``Mapped``)."""
    lengths = []
    for e, s in upstream_states.items():
        if e.mapped:
            items = mapped_items(e, s)
            if items is not None:
                lengths.append(len(items))
    n_prior = _prior_length(prior)
    if n_prior is not None:
        lengths.append(n_prior)
    return min(lengths) if lengths else 0


def child_upstream_states(
    upstream_states: dict[Any, State], i: int, items: dict[Any, list[State] | None] | None = None
) -> dict[Any, State]:
    """The upstream states child ``i`` of a mapped task sees.

    ``items`` may hold :func:`mapped_items` already computed per mapped edge.
    """
    out: dict[Any, State] = {}
    for e, s in upstream_states.items():
        if not e.mapped:
            out[e] = flatten_upstream(s) if e.flattened else s
            continue
        found = items.get(e) if items is not None and e in items else mapped_items(e, s)
        out[e] = s if found is None else found[i]
    return out


def map_readiness(
    runner: Any, state: State, upstream_states: dict[Edge, State]
) -> tuple[bool, State]:
    """``(True, state)`` if the task can be expanded into children, else ``(False, final)``.

    ``runner`` is the task's :class:`~headwater.engine.task_runner.TaskRunner`; its checks of
    the start time, of unfinished and of skipped upstream states run first. A previous
    ``Mapped`` state starts a new expansion (its children keep their own states).
    """
    rerun = isinstance(state, Mapped)
    if rerun:
        state = Pending()
    try:
        state = runner.check_task_reached_start_time(state)
        runner.check_upstream_finished(state, upstream_states)
        runner.check_upstream_skipped(state, upstream_states)
    except ENDRUN as exc:
        return False, exc.state
    except HeadwaterStateSignal as sig:  # PAUSE raised by a state handler
        return False, sig.state
    mapped_edges = [e for e in upstream_states if e.mapped]
    if not any(upstream_states[e].is_successful() for e in mapped_edges):
        return False, _changed(runner, state, Failed(NO_MAPPABLE_UPSTREAM))
    for e in mapped_edges:
        s = upstream_states[e]
        if type(s) is Mapped:
            continue
        name = e.upstream_task.name
        if not s.is_successful():
            try:
                runner.check_task_trigger(state, upstream_states)
            except ENDRUN as exc:
                return False, exc.state
            except HeadwaterStateSignal as sig:
                return False, sig.state
            return False, _changed(
                runner, state, Failed(f"Upstream task {name!r} did not produce a mappable result.")
            )
        value = (flatten_state(s) if e.flattened else s).result
        if value is None and rerun:
            continue  # its result is gone: the previous Mapped state gives the length
        if isinstance(value, Mapping):
            from headwater.core._options import mapping_hint

            return False, _changed(
                runner,
                state,
                Failed(
                    f"Task {runner.task.name!r} cannot map over the result of upstream task "
                    f"{name!r}: it returned a dict, and {mapping_hint()}."
                ),
            )
        if not _can_flatten(value):
            err = TypeError(
                f"Task {runner.task.name!r} cannot map over the result of upstream task "
                f"{name!r}: it returned {type(value).__name__} {value!r:.60}, which cannot be "
                "indexed; return a list (or tuple), or pass it with unmapped(...) to give "
                "every child all of it."
            )
            runner.logger.error("%s", err)
            return False, _changed(runner, state, Failed(UNMAPPABLE_RESULT, result=err))
    return True, state


def _changed(runner: Any, old: State, new: State) -> State:
    """``new`` after the task's state handlers (and ``on_failure``) have seen the change."""
    change = getattr(runner, "change_state", None)
    if change is None:
        return new
    try:
        return change(old, new)  # type: ignore[no-any-return]
    except ENDRUN as exc:
        return exc.state


def parent_view_state(value: Any) -> State:
    """A mapped upstream's handle as the parent check sees it (a list of children: ``Mapped``)."""
    if type(value) is list:
        return Mapped(message=_MAPPED_MESSAGE, map_states=value)
    return value  # type: ignore[no-any-return]
