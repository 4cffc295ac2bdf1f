"""Edges: a dependency between two tasks, optionally passing data under ``key``.

>>> from headwater import Task
>>> a, b = Task(name="a"), Task(name="b")
>>> Edge(a, b, key="x")
<Edge (key=x): a to b>

``mapped=True`` maps the downstream task over the upstream's result; ``flattened=True`` first
flattens a list of lists. The annotations :func:`mapped`, :func:`unmapped` and :func:`flatten`
set these flags from the call site: ``t.map(x=items, y=unmapped(config))``.
"""

from __future__ import annotations

from typing import Any

from headwater.core.task import Task

__all__ = ["Edge", "EdgeAnnotation", "flatten", "mapped", "unmapped"]


class EdgeAnnotation:
    """Base of the call-site annotations that set edge flags.

    Annotations nest: ``mapped(flatten(x))`` is one annotation of ``x`` with both flags, the
    inner annotation winning where they disagree.
    """

    annotations: dict[str, bool] = {}
    value: Any

    def __init__(self, value: Any) -> None:
        self.annotations = dict(type(self).annotations)
        if isinstance(value, EdgeAnnotation):
            self.annotations.update(value.annotations)
            value = value.value
        self.value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class mapped(EdgeAnnotation):
    """Map over this argument (used with ``task(...)`` rather than ``task.map(...)``)."""

    annotations = {"mapped": True}


class unmapped(EdgeAnnotation):
    """Pass this argument whole to every mapped child."""

    annotations = {"mapped": False}


class flatten(EdgeAnnotation):
    """Flatten a list of lists (e.g. a mapped task's results) before mapping over it."""

    annotations = {"flattened": True}


class Edge:
    """A dependency of ``downstream_task`` on ``upstream_task``.

    Args:
        upstream_task: the task that runs first; a value that is not a task becomes one
            (:func:`~headwater.utilities.tasks.as_task`), and an annotation such as
            ``mapped(task)`` sets the edge's flags.
        downstream_task: the task that runs after it (converted the same way).
        key: if given, the upstream result is passed to the downstream ``run()`` under this
            keyword; must be a valid Python identifier.
        mapped: map the downstream task over the upstream result (an annotation wins).
        flattened: flatten the upstream result (a list of lists) first (an annotation wins).
        flow: the flow collection tasks made from list or dict values are added to (default:
            the flow in context).
    """

    __slots__ = ("upstream_task", "downstream_task", "key", "mapped", "flattened", "_hash")

    def __init__(
        self,
        upstream_task: Any,
        downstream_task: Any,
        key: str | None = None,
        mapped: bool | None = False,
        flattened: bool | None = False,
        flow: Any = None,
    ) -> None:
        if upstream_task is downstream_task:
            raise ValueError(
                f"Edges can not connect a task to itself: {upstream_task!r} cannot depend on itself."
            )
        if key is not None and not (isinstance(key, str) and key.isidentifier()):
            raise ValueError(
                f"Edge key {key!r} (from {upstream_task!r} to {downstream_task!r}) is not a valid "
                "Python identifier; keys name the downstream run() argument."
            )
        if not (isinstance(upstream_task, Task) and isinstance(downstream_task, Task)):
            flags: dict[str, bool] = {}
            for t in (upstream_task, downstream_task):
                if isinstance(t, EdgeAnnotation):
                    flags.update(t.annotations)
            mapped = flags.get("mapped", mapped)
            flattened = flags.get("flattened", flattened)
            from headwater.utilities.tasks import as_task

            upstream_task = as_task(upstream_task, flow=flow)
            downstream_task = as_task(downstream_task, flow=flow)
            if upstream_task is downstream_task:
                raise ValueError(
                    f"Edges can not connect a task to itself: {upstream_task!r} cannot depend on itself."
                )
        self.upstream_task = upstream_task
        self.downstream_task = downstream_task
        self.key = key
        self.mapped = bool(mapped)
        self.flattened = bool(flattened)
        self._hash = hash(
            (id(upstream_task), id(downstream_task), key, self.mapped, self.flattened)
        )

    @property
    def tasks(self) -> set[Task]:
        """The edge's two tasks."""
        return {self.upstream_task, self.downstream_task}

    def _key(self) -> tuple[int, int, str | None, bool, bool]:
        return (
            id(self.upstream_task),
            id(self.downstream_task),
            self.key,
            self.mapped,
            self.flattened,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        extra = []
        if self.key:
            extra.append(f"key={self.key}")
        if self.mapped:
            extra.append("mapped")
        if self.flattened:
            extra.append("flattened")
        info = f" ({', '.join(extra)})" if extra else ""
        return f"<Edge{info}: {self.upstream_task.name} to {self.downstream_task.name}>"

    def __getstate__(self) -> dict[str, Any]:
        return {s: getattr(self, s) for s in self.__slots__ if s != "_hash"}

    def __setstate__(self, d: dict[str, Any]) -> None:
        for k, v in d.items():
            object.__setattr__(self, k, v)
        self._hash = hash(self._key())

    def serialize(self) -> dict[str, Any]:
        """This edge as a JSON-compatible dict (Prefect 1's ``EdgeSchema`` shape)."""
        from headwater.serialization.edge import EdgeSchema

        return EdgeSchema().dump(self)
