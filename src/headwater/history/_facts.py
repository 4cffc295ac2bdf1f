"""What the history records of a state: its kind's name, whether it is cached or failed.

The recorder reads them for every task run, so those of a Prefect 1 state class are worked out
once per class (:data:`FACTS`); an ``@flow`` state, whose one class has a ``name``, says them
itself (:func:`instance_facts`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FACTS", "instance_facts", "reused", "state_facts", "state_name"]

FACTS: dict[type, tuple[str, int, int] | None] = {}
""":func:`state_facts` by state class, as computed so far."""


def state_facts(cls: type) -> tuple[str, int, int] | None:
    """``(name, is Cached, is Failed)`` of a Prefect 1 state class (kept in :data:`FACTS`);
    ``None`` for a class of another kind, whose instances say (:func:`instance_facts`)."""
    from headwater.engine.state import Cached, Failed, State

    facts = None
    if issubclass(cls, State):
        facts = (cls.__name__, int(issubclass(cls, Cached)), int(issubclass(cls, Failed)))
    FACTS[cls] = facts
    return facts


def instance_facts(state: Any) -> tuple[tuple[str, int, int], Any]:
    """The facts of a state of another kind than Prefect 1's (the ``@flow`` API's, whose one
    class has a ``name`` and ``is_failed()``), and its error if it failed."""
    name = getattr(state, "name", None)
    name = name if isinstance(name, str) else type(state).__name__
    failed = _asks(state, "is_failed") or _asks(state, "is_crashed")
    cached = int(name == "Cached")
    return (name, cached, failed), (getattr(state, "data", None) if failed else cached)


def _asks(state: Any, method: str) -> int:
    ask = getattr(state, method, None)
    try:
        return int(bool(ask())) if callable(ask) else 0
    except Exception:  # a state that cannot say
        return 0


def state_name(state: Any) -> str:
    """The name of ``state``'s kind: its class name, or the ``name`` of an ``@flow`` state."""
    cls = type(state)
    facts = FACTS[cls] if cls in FACTS else state_facts(cls)
    return facts[0] if facts is not None else instance_facts(state)[0][0]


def reused(cache_for: Any, expiration: Any, started_at: float | None) -> int:
    """Whether a ``Cached`` state was made before its task run started (a cache hit), not by
    the run: its ``cached_result_expiration`` less the task's ``cache_for`` is when it was
    made. A run that started elsewhere (``started_at`` unknown) is taken to have made it."""
    if started_at is None:
        return 0
    if cache_for is None or not hasattr(expiration, "timestamp"):
        return 1
    return int(expiration.timestamp() - cache_for.total_seconds() < started_at)
