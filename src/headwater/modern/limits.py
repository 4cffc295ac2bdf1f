"""Tag-based task concurrency limits: ``[tasks.concurrency] tag = N`` in the configuration.

A task run with a tag that has a limit holds one slot of that tag's limit while it runs, in
this process and across the user's processes on the machine (see
:mod:`headwater.concurrency`); with several limited tags it holds one of each, taken in name
order. A limit of 0 stops the task run with an error rather than letting it wait for ever::

    from headwater.modern.limits import task_slots
    from headwater.utilities.configuration import set_temporary_config

    with set_temporary_config({"tasks.concurrency.database": 1}):
        with task_slots(frozenset({"database", "nightly"})):
            pass  # one database slot held; "nightly" has no limit
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from headwater.concurrency._core import ConcurrencySlotAcquisitionError, concurrency_limit
from headwater.configuration import Config, setting

__all__ = ["TAG_SECTION", "task_slots"]

TAG_SECTION = "tasks.concurrency"
_NOTHING = contextlib.nullcontext()


def _limits_of(tags: frozenset[str]) -> list[tuple[str, int]]:
    table = setting(TAG_SECTION, default=None)
    # a Config keeps its keys in its __dict__: reading that plain dict costs no attribute magic
    keys = table.__dict__ if isinstance(table, Config) else table
    if not keys or not isinstance(keys, dict):
        return []
    limited = []
    for tag in tags:
        if keys.get(tag) is None:
            continue
        limit = concurrency_limit(tag, section=TAG_SECTION)
        if limit == 0:
            raise ConcurrencySlotAcquisitionError(
                f"Tag {tag!r} has a concurrency limit of 0 ([{TAG_SECTION}] {tag} = 0), so tasks "
                "tagged with it cannot run. Raise the limit or remove the tag."
            )
        if limit is not None:
            limited.append((tag, limit))
    return limited


@contextlib.contextmanager
def _holding(limits: list[tuple[str, int]]) -> Iterator[None]:
    from headwater.concurrency._slots import acquire_all

    held = acquire_all("tags", limits, 1, None)
    try:
        yield
    finally:
        for h in reversed(held):
            h.release()


def task_slots(tags: frozenset[str]) -> Any:
    """A context manager holding one slot of each limited tag in ``tags`` (a no-op when none).

    Raises:
        ConcurrencySlotAcquisitionError: (on entry) if a tag's limit is 0.
        ValueError: if a configured limit is not a whole number >= 0.
    """
    if not tags:
        return _NOTHING
    limits = _limits_of(tags)
    if not limits:
        return _NOTHING
    return _holding(limits)
