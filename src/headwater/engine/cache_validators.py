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


def _now() -> Any:
    import pendulum

    return pendulum.now("UTC")


def _not_expired(state: Any) -> bool:
    exp = getattr(state, "cached_result_expiration", None)
    return exp is None or exp > _now()


def never_use(state: Any, inputs: dict[str, Any] | None, parameters: dict[str, Any] | None) -> bool:
    """Never reuse a cached state."""
    return False


def duration_only(
    state: Any, inputs: dict[str, Any] | None, parameters: dict[str, Any] | None
) -> bool:
    """Reuse while ``cache_for`` has not expired (the default)."""
    return _not_expired(state)


def all_inputs(
    state: Any, inputs: dict[str, Any] | None, parameters: dict[str, Any] | None
) -> bool:
    """Reuse while unexpired and the inputs are equal to the cached run's.

    The state's ``cached_inputs`` (values, or ``Result`` objects holding them) are compared;
    a state that has none but has ``hashed_inputs`` is compared by the inputs' tokens (their
    stable hashes; dask's tokens for a state made with them, when dask is installed).
    """
    if not _not_expired(state):
        return False
    inputs = inputs or {}
    cached = _values(state.cached_inputs)
    hashed = getattr(state, "hashed_inputs", None)
    if not cached and hashed is not None:
        tokens = _tokens(inputs, hashed)
        if tokens is not None:
            return bool(hashed == tokens)
    return _eq(cached, inputs)


def all_parameters(
    state: Any, inputs: dict[str, Any] | None, parameters: dict[str, Any] | None
) -> bool:
    """Reuse while unexpired and the flow parameters are equal to the cached run's."""
    return _not_expired(state) and _eq(state.cached_parameters, parameters)


def partial_inputs_only(validate_on: Iterable[str] | None = None) -> Callable[..., bool]:
    """A validator comparing only the inputs named in ``validate_on``.

    With ``validate_on=None`` every unexpired state is reused; an input missing from both runs
    counts as equal. Inputs are compared as :func:`all_inputs` compares them.
    """
    keys = None if validate_on is None else set(validate_on)

    def validator(
        state: Any, inputs: dict[str, Any] | None, parameters: dict[str, Any] | None
    ) -> bool:
        if not _not_expired(state):
            return False
        if keys is None:
            return True
        provided = {k: v for k, v in (inputs or {}).items() if k in keys}
        cached = _values(state.cached_inputs)
        hashed = getattr(state, "hashed_inputs", None)
        if not cached and hashed is not None:
            wanted = {k: v for k, v in hashed.items() if k in keys}
            tokens = _tokens(provided, wanted)
            if tokens is not None:
                return bool(tokens == wanted)
        return _eq(provided, {k: v for k, v in cached.items() if k in keys})

    validator.__name__ = "partial_inputs_only"
    return validator


def partial_parameters_only(validate_on: Iterable[str] | None = None) -> Callable[..., bool]:
    """A validator comparing only the parameters named in ``validate_on``.

    With ``validate_on=None`` every unexpired state is reused; a parameter missing from both
    runs counts as equal.
    """
    keys = None if validate_on is None else set(validate_on)

    def validator(
        state: Any, inputs: dict[str, Any] | None, parameters: dict[str, Any] | None
    ) -> bool:
        if not _not_expired(state):
            return False
        if keys is None:
            return True
        provided = {k: v for k, v in (parameters or {}).items() if k in keys}
        cached = state.cached_parameters or {}
        return _eq(provided, {k: v for k, v in cached.items() if k in keys})

    validator.__name__ = "partial_parameters_only"
    return validator


def _values(cached: dict[str, Any] | None) -> dict[str, Any]:
    """The cached inputs as values (a ``Result`` gives its ``value``)."""
    from headwater.engine.result import Result

    return {k: v.value if isinstance(v, Result) else v for k, v in (cached or {}).items()}


def _tokens(values: dict[str, Any], hashed: dict[str, str]) -> dict[str, str] | None:
    """The token of each value, or ``None`` if one of them has none.

    The tokens are the values' stable hashes; when those differ from ``hashed`` (a state whose
    tokens dask made, as in Prefect Core 1.x), dask's tokens, if dask is installed.
    """
    from headwater.engine.caching.hashing import dask_token, input_token

    for token in (input_token, dask_token):
        tokens = {k: token(v) for k, v in values.items()}
        if tokens == hashed:
            break
    known = {k: t for k, t in tokens.items() if t is not None}
    return known if len(known) == len(values) else None


def _eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays/frames compare element-wise
        return a is b
