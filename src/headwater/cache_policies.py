"""Cache policies of Prefect 3 style tasks: what a task run's cache key is made of.

A policy computes a key from the task run; two runs with the same key share one cached result.
The building blocks, combined with ``+`` (and ``-`` to leave an input out of :data:`INPUTS`):

- :data:`INPUTS`: the task's inputs (``INPUTS - "debug"`` ignores the ``debug`` argument);
- :data:`TASK_SOURCE`: the source code of the task's function;
- :data:`FLOW_PARAMETERS`: the parameters of the flow run the task runs in;
- :data:`RUN_ID`: the id of that flow run (the task run's own id outside a flow);
- :data:`NO_CACHE`: no key, so no caching;
- :data:`DEFAULT`: ``INPUTS + TASK_SOURCE + RUN_ID``, what tasks use when results are persisted.

>>> from headwater.cache_policies import DEFAULT, INPUTS, NO_CACHE, TASK_SOURCE
>>> (INPUTS + TASK_SOURCE) + NO_CACHE == INPUTS + TASK_SOURCE
True
>>> (INPUTS - "debug").exclude
['debug']

``cache_key_fn=f`` (``f(context, arguments) -> str | None``) is :class:`CacheKeyFnPolicy`;
:func:`task_input_hash` is the usual such function. Keys are SHA-256 digests computed by
:func:`hash_objects`, which hashes values the same way in every process: a canonical encoding
for numbers, strings, collections, dates, dataclasses, arrays and frames, else their JSON, else
their pickle. A value with none of these (a lock, an open file) cannot be part of a key: the
task run is then not cached, with a :class:`CachePolicyWarning`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import warnings
from collections.abc import Callable
from typing import Any

__all__ = [
    "DEFAULT",
    "FLOW_PARAMETERS",
    "INPUTS",
    "NONE",
    "NO_CACHE",
    "RUN_ID",
    "TASK_SOURCE",
    "CacheKeyContext",
    "CacheKeyFnPolicy",
    "CachePolicy",
    "CachePolicyWarning",
    "CompoundCachePolicy",
    "FlowParameters",
    "HashError",
    "Inputs",
    "RunId",
    "TaskSource",
    "hash_objects",
    "task_input_hash",
]

UNHASHABLE_HINT = (
    "This often occurs when task inputs contain objects that cannot be cached like locks, "
    "file handles, or other system resources. To resolve this, exclude these arguments with "
    "a custom cache_key_fn or cache_policy=INPUTS - 'name', or disable caching with "
    "cache_policy=NO_CACHE."
)


class HashError(ValueError):
    """Values could not be hashed: they have no canonical encoding, JSON or pickle."""


class CachePolicyWarning(UserWarning):
    """A task run's cache key could not be computed, so its result is not cached."""


def _canonical(value: Any) -> str:
    from headwater.engine.caching.hashing import stable_hash

    return stable_hash(value)


def hash_objects(*args: Any, raise_on_failure: bool = False, **kwargs: Any) -> str | None:
    """A SHA-256 hex digest of the arguments that is the same in every process.

    Tried in order: headwater's canonical encoding of values, their JSON (sorted keys), their
    pickle (``cloudpickle``).

    Args:
        *args: values to hash.
        raise_on_failure: raise :class:`HashError` instead of returning ``None``.
        **kwargs: more values to hash, by name.

    Raises:
        HashError: if no encoding works and ``raise_on_failure`` is true.
    """
    payload = (args, kwargs)
    errors = []
    try:
        return _canonical(payload)
    except TypeError as exc:
        errors.append(f"canonical: {exc}")
    try:
        text = json.dumps(payload, sort_keys=True)
        return hashlib.sha256(b"json:" + text.encode("utf-8", "surrogatepass")).hexdigest()
    except (TypeError, ValueError) as exc:
        errors.append(f"JSON: {exc}")
    try:
        import cloudpickle

        data = cloudpickle.dumps(payload)
        return hashlib.sha256(b"pickle:" + data).hexdigest()
    except Exception as exc:  # anything that cannot be pickled
        errors.append(f"pickle: {type(exc).__name__}: {exc}")
    if raise_on_failure:
        raise HashError(
            "Unable to create hash - objects could not be serialized. " + "; ".join(errors)
        )
    return None


# -- what a policy sees ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TaskView:
    """The task a key is computed for: its function, name and a key naming its function."""

    fn: Callable[..., Any]
    name: str
    task_key: str


@dataclasses.dataclass(frozen=True)
class TaskRunView:
    """The task run a key is computed for."""

    id: str | None
    flow_run_id: str | None
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class CacheKeyContext:
    """What a cache policy and a ``cache_key_fn`` are given as their context argument.

    Attributes:
        task: ``task.fn``, ``task.name``, ``task.task_key``.
        task_run: ``task_run.id``, ``task_run.flow_run_id``, ``task_run.name``.
        parameters: the task run's inputs, by name.
    """

    task: TaskView
    task_run: TaskRunView
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)


def task_key_of(fn: Callable[..., Any], name: str) -> str:
    """A key naming a task function: its qualified name and a hash of its module's name."""
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or name
    return f"{qualname}-{hashlib.sha256(module.encode()).hexdigest()[:8]}"


# -- policies ----------------------------------------------------------------------------------
@dataclasses.dataclass
class CachePolicy:
    """Base class of cache policies: :meth:`compute_key` gives a run's key, or ``None``."""

    def compute_key(
        self,
        task_ctx: CacheKeyContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        """The cache key of a task run (``None``: this policy adds nothing to the key)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement compute_key().")

    @classmethod
    def from_cache_key_fn(
        cls, cache_key_fn: Callable[[CacheKeyContext, dict[str, Any]], str | None]
    ) -> CacheKeyFnPolicy:
        """The policy of a ``cache_key_fn``."""
        return CacheKeyFnPolicy(cache_key_fn=cache_key_fn)

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if not isinstance(other, CachePolicy):
            return NotImplemented
        if isinstance(other, _None):
            return self
        return CompoundCachePolicy(policies=[self, other])

    def __sub__(self, other: str) -> CachePolicy:
        _check_input_name(other)
        return self  # only policies that read inputs have anything to leave out


def _check_input_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(
            f"Only input names (strings) can be subtracted from a cache policy, not "
            f"{type(name).__name__} {name!r}; e.g. INPUTS - 'debug'."
        )


@dataclasses.dataclass
class _None(CachePolicy):
    """No key at all: the task run is neither looked up nor stored."""

    def compute_key(
        self,
        task_ctx: CacheKeyContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        return None

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if not isinstance(other, CachePolicy):
            return NotImplemented
        return other


@dataclasses.dataclass
class Inputs(CachePolicy):
    """A hash of the task run's inputs, leaving out those named in ``exclude``."""

    exclude: list[str] = dataclasses.field(default_factory=list)

    def compute_key(
        self,
        task_ctx: CacheKeyContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        kept = {k: v for k, v in (inputs or {}).items() if k not in self.exclude}
        if not kept:
            return None
        try:
            return hash_objects(kept, raise_on_failure=True)
        except HashError as exc:
            raise HashError(f"{exc}. {UNHASHABLE_HINT}") from exc

    def __sub__(self, other: str) -> CachePolicy:
        _check_input_name(other)
        return Inputs(exclude=[*self.exclude, other])


@dataclasses.dataclass
class TaskSource(CachePolicy):
    """A hash of the task function's source (its bytecode when the source is unavailable)."""

    def compute_key(
        self,
        task_ctx: CacheKeyContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        if task_ctx is None:
            return None
        return source_hash(task_ctx.task.fn)


def source_hash(fn: Callable[..., Any]) -> str:
    """A hash of the source of ``fn`` (or of its bytecode and constants)."""
    target = inspect.unwrap(fn)
    try:
        text = inspect.getsource(target)
        return hashlib.sha256(b"src:" + text.encode("utf-8", "surrogatepass")).hexdigest()
    except (OSError, TypeError):
        pass
    code = getattr(target, "__code__", None) or getattr(type(target).__call__, "__code__", None)
    if code is None:
        return hashlib.sha256(repr(type(target)).encode()).hexdigest()
    parts = [code.co_code.hex(), repr(code.co_names), repr(code.co_consts)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclasses.dataclass
class FlowParameters(CachePolicy):
    """A hash of the parameters of the flow run (``None`` outside a flow or with none)."""

    def compute_key(
        self,
        task_ctx: CacheKeyContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        if not flow_parameters:
            return None
        return hash_objects(flow_parameters, raise_on_failure=True)


@dataclasses.dataclass
class RunId(CachePolicy):
    """The flow run's id, or the task run's own id for a task called outside a flow."""

    def compute_key(
        self,
        task_ctx: CacheKeyContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        if task_ctx is None:
            return None
        run_id = task_ctx.task_run.flow_run_id or task_ctx.task_run.id
        return None if run_id is None else str(run_id)


@dataclasses.dataclass
class CacheKeyFnPolicy(CachePolicy):
    """The key a user's ``cache_key_fn(context, arguments)`` returns."""

    cache_key_fn: Callable[[CacheKeyContext, dict[str, Any]], str | None] | None = None

    def compute_key(
        self,
        task_ctx: CacheKeyContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        if self.cache_key_fn is None:
            return None
        key = self.cache_key_fn(task_ctx, inputs)
        if key is not None and not isinstance(key, str):
            name = getattr(self.cache_key_fn, "__name__", repr(self.cache_key_fn))
            raise TypeError(f"cache_key_fn {name} must return a string or None, not {key!r}.")
        return key


@dataclasses.dataclass
class CompoundCachePolicy(CachePolicy):
    """Several policies at once: a hash of the keys they give (those giving ``None`` left out).

    Nested compounds are flattened and every :class:`Inputs` merged into one, whose
    ``exclude`` is the union of theirs.
    """

    policies: list[CachePolicy] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        flat: list[CachePolicy] = []
        for p in self.policies:
            flat.extend(p.policies if isinstance(p, CompoundCachePolicy) else [p])
        inputs = [p for p in flat if isinstance(p, Inputs)]
        flat = [p for p in flat if not isinstance(p, Inputs | _None)]
        if inputs:
            excluded = sorted({name for p in inputs for name in p.exclude})
            flat.append(Inputs(exclude=excluded))
        self.policies = flat

    def compute_key(
        self,
        task_ctx: CacheKeyContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        keys = [
            key
            for policy in self.policies
            if (key := policy.compute_key(task_ctx, inputs, flow_parameters, **kwargs)) is not None
        ]
        if not keys:
            return None
        return hash_objects(*keys, raise_on_failure=True)

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if not isinstance(other, CachePolicy):
            return NotImplemented
        return CompoundCachePolicy(policies=[*self.policies, other])

    def __sub__(self, other: str) -> CachePolicy:
        _check_input_name(other)
        if not any(isinstance(p, Inputs) for p in self.policies):
            return self
        return CompoundCachePolicy(policies=[*self.policies, Inputs(exclude=[other])])


def task_input_hash(context: CacheKeyContext, arguments: dict[str, Any]) -> str | None:
    """A ``cache_key_fn`` hashing the task's name, its function's bytecode and all its inputs.

    Returns ``None`` (no caching, with a :class:`CachePolicyWarning`) when an input cannot be
    hashed.

    Args:
        context: the task run's context (``context.task.fn`` is read).
        arguments: the task run's inputs.
    """
    fn = inspect.unwrap(context.task.fn)
    code = getattr(fn, "__code__", None)
    try:
        return hash_objects(
            context.task.task_key,
            code.co_code.hex() if code is not None else source_hash(fn),
            arguments,
            raise_on_failure=True,
        )
    except HashError as exc:
        warnings.warn(
            f"Task {context.task.name!r}: error encountered when computing the cache key - "
            f"the result will not be cached or persisted. {exc}. {UNHASHABLE_HINT}",
            CachePolicyWarning,
            stacklevel=2,
        )
        return None


INPUTS = Inputs()
NONE = _None()
NO_CACHE = _None()
TASK_SOURCE = TaskSource()
FLOW_PARAMETERS = FlowParameters()
RUN_ID = RunId()
DEFAULT = INPUTS + TASK_SOURCE + RUN_ID
