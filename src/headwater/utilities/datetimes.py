"""Retry delays that grow: ``Task(retry_delay=...)`` may be a function of the run number.

>>> from datetime import timedelta
>>> delay = retry_delay(minutes=1, exponential_backoff=True)
>>> [delay(n).total_seconds() for n in (1, 2, 3, 4)]
[60.0, 60.0, 120.0, 240.0]
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

__all__ = ["retry_delay"]


def retry_delay(
    interval: datetime.timedelta | None = None,
    *args: Any,
    exponential_backoff: bool = False,
    max_delay: datetime.timedelta | None = datetime.timedelta(hours=2),
    **kwargs: Any,
) -> Callable[[int], datetime.timedelta]:
    """A function of the run number giving the delay before that retry.

    Args:
        interval: the base delay; or give ``timedelta`` keywords (``minutes=5``) instead.
        exponential_backoff: double the delay from the third run on (the first retry and the
            second wait ``interval``).
        max_delay: the longest delay (``None``: no limit).
        **kwargs: ``timedelta`` keywords, when ``interval`` is not given.

    Raises:
        ValueError: both or neither of ``interval`` and the keywords are given.
    """
    if interval is not None and kwargs:
        raise ValueError("Provide an interval or interval keywords, but not both.")
    if interval is None and not kwargs:
        raise ValueError("Provide either an interval or interval keywords.")
    base = interval if interval is not None else datetime.timedelta(**kwargs)

    def delay(run_number: int) -> datetime.timedelta:
        scale = 2 ** max(0, run_number - 2) if exponential_backoff else 1
        value = base * scale
        return value if max_delay is None else min(value, max_delay)

    return delay
