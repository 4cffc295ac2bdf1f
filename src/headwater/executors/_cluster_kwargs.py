"""Checking ``DaskExecutor(cluster_kwargs=...)`` against the cluster class it is meant for.

A misspelt key (``n_worker`` for ``n_workers``) would otherwise reach the cluster's workers and
fail there as ``Server.__init__() got an unexpected keyword argument``, with no word about
``cluster_kwargs``. :func:`check_cluster_kwargs` names the key and suggests close matches::

    >>> from distributed import LocalCluster
    >>> check_cluster_kwargs(LocalCluster, {"n_worker": 2})
    Traceback (most recent call last):
    ...
    TypeError: DaskExecutor: cluster_kwargs has 'n_worker', which distributed.LocalCluster does not accept; did you mean 'n_workers'?...
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["check_cluster_kwargs", "known_cluster_kwargs"]


def _parameters(fn: Any) -> tuple[set[str], bool]:
    """(names of the keyword arguments ``fn`` takes, whether it takes ``**kwargs`` too)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


def known_cluster_kwargs(cluster_class: Callable[..., Any]) -> set[str] | None:
    """The keyword arguments ``cluster_class`` accepts, or ``None`` if any may be right.

    ``distributed.LocalCluster`` passes the keys it does not know to its workers, so for it
    (and its subclasses) the keys of ``Worker``, ``Nanny`` and their server are known too.
    """
    names, open_ended = _parameters(cluster_class)
    if not open_ended:
        return names
    try:
        from distributed import LocalCluster, Nanny, Worker
        from distributed.core import Server
    except ImportError:  # pragma: no cover - distributed is needed to start a cluster anyway
        return None
    if not (isinstance(cluster_class, type) and issubclass(cluster_class, LocalCluster)):
        return None
    for extra in (LocalCluster, Worker, Nanny, Server.__init__):
        names |= _parameters(extra)[0]
    return names - {"self", "handlers", "stream_handlers"}


def check_cluster_kwargs(cluster_class: Callable[..., Any], kwargs: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` for a key of ``kwargs`` that ``cluster_class`` does not accept.

    Raises:
        TypeError: a key is unknown; the message names it and lists close matches.
    """
    if not kwargs:
        return
    known = known_cluster_kwargs(cluster_class)
    if known is None:
        return
    module = getattr(cluster_class, "__module__", "") or ""
    if module.startswith("distributed."):
        module = "distributed"
    name = getattr(cluster_class, "__qualname__", repr(cluster_class))
    where = f"{module}.{name}" if module else name
    for key in kwargs:
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.8)
        hint = (
            f"did you mean {' or '.join(repr(c) for c in close)}?"
            if close
            else "it accepts " + ", ".join(sorted(k for k in known if not k.startswith("_")))
        )
        raise TypeError(
            f"DaskExecutor: cluster_kwargs has {key!r}, which {where} does not accept; {hint} "
            "(cluster_kwargs are passed to cluster_class when the executor starts.)"
        )
