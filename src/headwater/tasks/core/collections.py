"""Collection tasks: gather the results of several tasks into a list, tuple, set or dict.

``as_task([a, b, 3])`` builds a ``List`` task whose upstream tasks are ``a`` and ``b``.
"""

from __future__ import annotations

from typing import Any

from headwater.core.task import Task

__all__ = ["Dict", "List", "Set", "Tuple", "VarArgsTask"]


def _in_order(task_results: dict[str, Any]) -> list[Any]:
    """The values of ``arg_1``, ``arg_2``, ... in index order."""
    start = 0 if "arg_0" in task_results else 1
    try:
        return [task_results[f"arg_{i}"] for i in range(start, start + len(task_results))]
    except KeyError:  # keys with gaps: sort them by index
        return [task_results[k] for k in sorted(task_results, key=lambda k: int(k.split("_")[1]))]


class VarArgsTask(Task):
    """Base of collection tasks: accepts its items as keyword arguments ``arg_1, arg_2 ...``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("name", type(self).__name__)
        super().__init__(*args, **kwargs)
        self.auto_generated = True

    def _bind_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        out = {f"arg_{i + 1}": a for i, a in enumerate(args)}
        out.update(kwargs)
        return out

    def run(self, **task_results: Any) -> Any:
        return _in_order(task_results)


class List(VarArgsTask):
    """Collects its inputs into a list."""

    def run(self, **task_results: Any) -> list[Any]:
        return _in_order(task_results)


class Tuple(VarArgsTask):
    """Collects its inputs into a tuple."""

    def run(self, **task_results: Any) -> tuple[Any, ...]:
        return tuple(_in_order(task_results))


class Set(VarArgsTask):
    """Collects its inputs into a set."""

    def run(self, **task_results: Any) -> set[Any]:
        return set(task_results.values())


class Dict(Task):
    """Builds a dict from ``keys`` and ``values`` (lists of equal length)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("name", "Dict")
        super().__init__(*args, **kwargs)
        self.auto_generated = True

    def run(self, keys: list[Any], values: list[Any]) -> dict[Any, Any]:
        if len(keys) != len(values):
            raise ValueError(f"Dict task: {len(keys)} keys but {len(values)} values.")
        return dict(zip(keys, values))
