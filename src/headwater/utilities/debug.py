"""Debugging helpers.

``raise_on_exception()`` makes ordinary exceptions raised by tasks propagate out of
``flow.run()`` instead of becoming ``Failed`` states, so ``pdb`` and test tracebacks point at
the failing line (signals such as ``SKIP`` still become states)::

    from headwater.utilities.debug import raise_on_exception

    with raise_on_exception():
        flow.run()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from headwater.context import context

__all__ = ["is_serializable", "raise_on_exception"]


@contextmanager
def raise_on_exception() -> Iterator[None]:
    """Let exceptions from user code propagate out of runs inside the block."""
    with context(raise_on_exception=True):
        yield


def is_serializable(obj: Any, raise_on_error: bool = False) -> bool:
    """Whether ``obj`` survives a cloudpickle round trip (as it must for process executors)."""
    import cloudpickle

    try:
        cloudpickle.loads(cloudpickle.dumps(obj))
        return True
    except Exception:
        if raise_on_error:
            raise
        return False
