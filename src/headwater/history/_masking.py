"""Keeping secrets out of the run history: every known secret value becomes ``********``.

The values come from what a run holds as secret: ``context.secrets`` (the run's and the
configuration's ``[context.secrets]``), the values of pydantic ``SecretStr``/``SecretBytes``
parameters, the environment variables read by ``EnvVarSecret`` tasks, and the results of secret
tasks (``is_secret``) once the run ends. They are collected once per run, never per task run.

The writer thread writes through a :class:`MaskedStore`: every text it sends to the database
(parameters, messages, error messages, tracebacks, log lines, artifacts) has each known value
replaced by :data:`MASK` first, so a secret never reaches the database file (nor its WAL).
Values shorter than :data:`MIN_LENGTH` characters are not masked: they would mask ordinary text.

>>> mask = SecretMask()
>>> mask.add({"DB_PASSWORD": "hunter2", "AWS": {"key": "AKIA1234"}})
>>> mask.text("login with hunter2 and AKIA1234")
'login with ******** and ********'
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = ["MASK", "MASKER", "MIN_LENGTH", "MaskedStore", "SecretMask", "secret_parameters"]

T = TypeVar("T")

MASK = "********"
"""What a secret value is written as."""

MIN_LENGTH = 3
"""Values shorter than this are not masked."""

_SECRET_TYPES = ("SecretStr", "SecretBytes")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _is_pydantic_secret(value: Any) -> bool:
    return type(value).__name__ in _SECRET_TYPES and callable(
        getattr(value, "get_secret_value", None)
    )


def _strings(value: Any, depth: int = 0) -> Iterable[str]:
    """The texts in ``value``: a string, a number, or those inside a mapping or a sequence."""
    if depth > 8 or value is None or isinstance(value, bool):
        return
    if _is_pydantic_secret(value):
        value = value.get_secret_value()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)):
        yield str(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item, depth + 1)


def _forms(text: str) -> set[str]:
    """``text`` and how it looks inside JSON and inside a ``repr``."""
    return {text, json.dumps(text)[1:-1], repr(text)[1:-1]}


class SecretMask:
    """The secret values known in this process, and their masking (thread-safe)."""

    def __init__(self) -> None:
        self.values: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, value: Any) -> None:
        """Mask every text in ``value`` (a string, a number, a mapping or a sequence of them)."""
        found = {f for s in _strings(value) if len(s) >= MIN_LENGTH for f in _forms(s)}
        found = {f for f in found if len(f) >= MIN_LENGTH}
        if not found.difference(self.values):
            return
        with self._lock:  # longest first: a secret inside another is masked with it
            known = found.union(self.values)
            self.values = tuple(sorted(known, key=lambda s: (-len(s), s)))

    def text(self, text: str) -> str:
        """``text`` with every known value replaced by :data:`MASK`."""
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def row(self, row: Sequence[Any]) -> Sequence[Any]:
        """A row of query parameters with its texts masked (a run's uuid stays as it is, unless
        it is a secret itself: rows are found by it)."""
        if not self.values:
            return row
        return [self.text(v) if isinstance(v, str) and not self._is_uuid(v) else v for v in row]

    def _is_uuid(self, text: str) -> bool:
        return len(text) == 36 and _UUID.match(text) is not None and text not in self.values

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self.values = ()


MASKER = SecretMask()
"""The secret values of this process."""


def secret_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with ``SecretStr``/``SecretBytes`` values as :data:`MASK` (their values
    are added to :data:`MASKER`)."""
    out = {}
    for name, value in parameters.items():
        if _is_pydantic_secret(value):
            MASKER.add(value)
            value = MASK
        out[name] = value
    return out


def secret_tasks(flow: Any) -> tuple[Any, ...]:
    """``flow``'s secret tasks (``is_secret``), found once per version of its graph."""
    graph = getattr(flow, "graph", None)
    if graph is None or not hasattr(graph, "memo"):
        return _secret_among(getattr(flow, "tasks", None) or ())
    found: tuple[Any, ...] = graph.memo(_SECRET_TASKS, lambda: _secret_among(graph.tasks))
    return found


def _secret_among(tasks: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(t for t in tasks if getattr(t, "is_secret", False))


_SECRET_TASKS = "history.secret_tasks"


def flow_secrets(flow: Any) -> None:
    """Add the values of the environment variables ``flow``'s ``EnvVarSecret`` tasks read."""
    for task in secret_tasks(flow):
        var = getattr(task, "var_name", None)
        if isinstance(var, str) and var in os.environ:
            MASKER.add(os.environ[var])


def state_secrets(flow_state: Any, flow: Any = None) -> None:
    """Add the results of the secret tasks in a flow's final state (those of ``flow``'s secret
    tasks, when it is given: a run's states are not all looked at)."""
    states = getattr(flow_state, "result", None)
    if not isinstance(states, Mapping):
        return
    if flow is not None and getattr(flow, "graph", None) is not None:
        found = [(t, states[t]) for t in secret_tasks(flow) if t in states]
    else:
        found = [(t, s) for t, s in states.items() if getattr(t, "is_secret", False)]
    for _task, state in found:
        MASKER.add(getattr(state, "result", None))
        for child in getattr(state, "map_states", None) or ():
            MASKER.add(getattr(child, "result", None))


class _MaskedCursor:
    """A cursor whose query parameters are masked before they reach the database."""

    def __init__(self, cursor: Any, mask: SecretMask) -> None:
        self.cursor = cursor
        self.mask = mask

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.cursor.execute(sql, self.mask.row(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        if not self.mask.values:
            return self.cursor.executemany(sql, rows)
        return self.cursor.executemany(sql, [self.mask.row(r) for r in rows])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


class MaskedStore:
    """``store`` for the writer: what it writes goes through :class:`SecretMask` first.

    Args:
        store: the store written to.
        mask: the values to mask.
    """

    def __init__(self, store: Any, mask: SecretMask = MASKER) -> None:
        self.store = store
        self.mask = mask

    def transaction(self, work: Callable[[Any], T]) -> T:
        """``store.transaction(work)``, ``work`` given a masking cursor."""
        return self.store.transaction(  # type: ignore[no-any-return]
            lambda cur: work(_MaskedCursor(cur, self.mask))
        )

    def insert_id(self, cur: Any, text: str, params: Sequence[Any]) -> int:
        """``store.insert_id()`` with ``params`` masked."""
        raw = cur.cursor if isinstance(cur, _MaskedCursor) else cur
        return int(self.store.insert_id(raw, text, self.mask.row(params)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
