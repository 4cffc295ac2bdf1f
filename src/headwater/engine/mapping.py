"""How a mapped task's children see their upstream states.

For child ``i``: a mapped edge from a mapped upstream task gives that task's child ``i``; a
mapped edge from an ordinary task gives a state holding ``result[i]`` (after flattening, for
``flatten`` edges); an unmapped edge gives the whole upstream state.
"""

from __future__ import annotations

from typing import Any

from headwater.engine.state import Mapped, State, Success

__all__ = ["child_upstream_states", "flatten_result", "index_state", "map_length"]


def flatten_result(value: Any) -> list[Any]:
    """One level of flattening: ``[[1, 2], [3]] -> [1, 2, 3]`` (non-list items kept)."""
    out: list[Any] = []
    for item in value:
        if isinstance(item, (list, tuple)):
            out.extend(item)
        else:
            out.append(item)
    return out


def _mapped_values(edge: Any, state: State) -> Any:
    if type(state) is Mapped:
        if edge.flattened:
            return flatten_result([s.result for s in state.map_states])
        return state.map_states
    if edge.flattened:
        return flatten_result(state.result)
    return state.result


def map_length(upstream_states: dict[Any, State]) -> int:
    """Number of children: the shortest mapped upstream."""
    lengths = [len(_mapped_values(e, s)) for e, s in upstream_states.items() if e.mapped]
    return min(lengths) if lengths else 0


def index_state(state: State, value: Any) -> State:
    """A state like ``state`` holding ``value`` (one item of a mapped-over result)."""
    new = type(state).__new__(type(state))
    for slot in type(state)._all_slots():
        try:
            object.__setattr__(new, slot, getattr(state, slot))
        except AttributeError:
            pass
    new.result = value
    new._result = None
    return new


def child_upstream_states(upstream_states: dict[Any, State], i: int) -> dict[Any, State]:
    """The upstream states child ``i`` of a mapped task sees."""
    out: dict[Any, State] = {}
    for e, s in upstream_states.items():
        if not e.mapped:
            out[e] = s
            continue
        values = _mapped_values(e, s)
        item = values[i]
        if type(s) is Mapped and not e.flattened:
            out[e] = item
        else:
            out[e] = Success(result=item) if type(s) is Mapped else index_state(s, item)
    return out
