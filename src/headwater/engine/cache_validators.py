"""Cache validators: decide whether a ``Cached`` state may be reused.

A validator is ``fn(state, inputs, parameters) -> bool``; ``state`` is the candidate
``Cached`` state, ``inputs`` the task's inputs for this run and ``parameters`` the flow run's
parameters::

    @task(cache_for=timedelta(hours=1), cache_validator=all_inputs)
    def expensive(x):
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "all_inputs",
    "all_parameters",
    "duration_only",
    "never_use",
    "partial_inputs_only",
    "partial_parameters_only",
]


def _now():
    import pendulum

    return pendulum.now("UTC")


def _not_expired(state: Any) -> bool:
    exp = getattr(state, "cached_result_expiration", None)
    return exp is None or exp > _now()


def never_use(state: Any, inputs: dict | None, parameters: dict | None) -> bool:
    """Never reuse a cached state."""
    return False


def duration_only(state: Any, inputs: dict | None, parameters: dict | None) -> bool:
    """Reuse while ``cache_for`` has not expired (the default)."""
    return _not_expired(state)


def all_inputs(state: Any, inputs: dict | None, parameters: dict | None) -> bool:
    """Reuse while unexpired and the inputs are equal to the cached run's."""
    return _not_expired(state) and _eq(state.cached_inputs, inputs)


def all_parameters(state: Any, inputs: dict | None, parameters: dict | None) -> bool:
    """Reuse while unexpired and the flow parameters are equal to the cached run's."""
    return _not_expired(state) and _eq(state.cached_parameters, parameters)


def partial_inputs_only(validate_on: Iterable[str] | None = None) -> Callable[..., bool]:
    """A validator comparing only the inputs named in ``validate_on``."""
    keys = list(validate_on or [])

    def validator(state: Any, inputs: dict | None, parameters: dict | None) -> bool:
        if not _not_expired(state):
            return False
        cached = state.cached_inputs or {}
        inputs = inputs or {}
        return all(k in cached and k in inputs and _eq(cached[k], inputs[k]) for k in keys)

    validator.__name__ = "partial_inputs_only"
    return validator


def partial_parameters_only(validate_on: Iterable[str] | None = None) -> Callable[..., bool]:
    """A validator comparing only the parameters named in ``validate_on``."""
    keys = list(validate_on or [])

    def validator(state: Any, inputs: dict | None, parameters: dict | None) -> bool:
        if not _not_expired(state):
            return False
        cached = state.cached_parameters or {}
        parameters = parameters or {}
        return all(k in cached and k in parameters and _eq(cached[k], parameters[k]) for k in keys)

    validator.__name__ = "partial_parameters_only"
    return validator


def _eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - arrays/frames compare element-wise
        return a is b
