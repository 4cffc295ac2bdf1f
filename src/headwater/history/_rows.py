"""Rows of the history database as the plain dicts the store's read methods return.

Times are stored as seconds since the epoch and read back as ISO-8601 text in UTC
(``2026-01-02T03:04:05.678000+00:00``); JSON columns come back decoded; ``map_index`` ``-1``
(an unmapped task) comes back as ``None``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from collections.abc import Sequence
from typing import Any

__all__ = [
    "FLOW_RUN_COLUMNS",
    "TASK_RUN_COLUMNS",
    "host_name",
    "sha256",
    "artifact_dict",
    "epoch",
    "flow_run_dict",
    "iso",
    "log_dict",
    "percentile",
    "task_run_dict",
]


def host_name() -> str:
    """This machine's network name, without importing ``socket`` (which costs milliseconds)."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket  # Windows

    return socket.gethostname()


def sha256(data: bytes = b"") -> Any:
    """A SHA-256 hash object; the interpreter's own one where it has it (loading OpenSSL for
    ``hashlib`` costs milliseconds on every start)."""
    try:
        from _sha2 import sha256 as make  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from _sha256 import sha256 as make  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            from hashlib import sha256 as make  # type: ignore[assignment,unused-ignore]
    return make(data)


LIVE_STATES = ("Running", "Pending", "Scheduled")
"""The states of a flow run that has not ended."""


def iso(value: float | None) -> str | None:
    """``value`` (seconds since the epoch) as ISO-8601 text in UTC, or ``None``."""
    if value is None:
        return None
    return _dt.datetime.fromtimestamp(value, _dt.UTC).isoformat()


def epoch(value: Any, what: str) -> float | None:
    """``value`` (a datetime, ISO-8601 text, a number of seconds since the epoch, or ``None``)
    as seconds since the epoch; a naive datetime is taken to be UTC.

    Raises:
        TypeError: ``value`` is none of those.
        ValueError: text that is not an ISO-8601 time.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{what} must be an ISO-8601 time such as '2026-01-31T12:00:00Z', got {value!r}."
            ) from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return float(value.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(
        f"{what} must be a datetime, an ISO-8601 string or None, got {type(value).__name__}."
    )


def _duration(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else max(0.0, end - start)


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


FLOW_RUN_COLUMNS = (
    "r.id, r.name, r.flow_id, f.name, r.state, r.message, r.started_at, r.ended_at, "
    "r.parameters, r.host, r.pid, r.version, r.executor, r.scheduled_at, r.parent_run_id, "
    "r.heartbeat_at, "
    "(SELECT COUNT(*) FROM task_runs t WHERE t.flow_run_id = r.id), "
    "(SELECT COUNT(*) FROM task_runs t WHERE t.flow_run_id = r.id AND t.failed = 1)"
)
"""The columns :func:`flow_run_dict` reads, from ``flow_runs r JOIN flows f``."""


def flow_run_dict(row: Sequence[Any], live_after: float) -> dict[str, Any]:
    """A flow run's dict from a row of :data:`FLOW_RUN_COLUMNS`.

    Args:
        row: the row.
        live_after: a run that has not ended is live if its last heartbeat is later than this.
    """
    (rid, name, flow_id, flow_name, state, message, start, end, params) = row[:9]
    (host, pid, version, executor, scheduled, parent, beat, tasks, failed) = row[9:]
    last_sign = beat if beat is not None else start
    live = state in LIVE_STATES and last_sign is not None and last_sign > live_after
    return {
        "id": int(rid),
        "name": name,
        "flow_id": int(flow_id),
        "flow_name": flow_name,
        "state": state,
        "message": message,
        "started_at": iso(start),
        "ended_at": iso(end),
        "duration_seconds": _duration(start, end),
        "parameters": _json(params) or {},
        "host": host,
        "pid": pid,
        "version": version,
        "executor": executor,
        "scheduled_at": iso(scheduled),
        "parent_run_id": None if parent is None else int(parent),
        "task_run_count": int(tasks),
        "failed_task_count": int(failed),
        "is_live": bool(live),
    }


TASK_RUN_COLUMNS = (
    "id, flow_run_id, task_name, task_slug, map_index, state, message, started_at, ended_at, "
    "run_count, cached, error_type, error_message, traceback"
)
"""The columns :func:`task_run_dict` reads, from ``task_runs``."""


def task_run_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A task run's dict from a row of :data:`TASK_RUN_COLUMNS`."""
    (tid, run, name, slug, index, state, message, start, end) = row[:9]
    (count, cached, etype, emessage, tb) = row[9:]
    return {
        "id": int(tid),
        "flow_run_id": int(run),
        "task_name": name,
        "task_slug": slug,
        "map_index": None if index is None or index < 0 else int(index),
        "state": state,
        "message": message,
        "started_at": iso(start),
        "ended_at": iso(end),
        "duration_seconds": _duration(start, end),
        "run_count": int(count),
        "cached": bool(cached),
        "error_type": etype,
        "error_message": emessage,
        "traceback": tb,
    }


def log_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A log line's dict from ``id, flow_run_id, task_run_id, task_name, level, logger,
    message, created_at``."""
    (lid, run, task_run, task_name, level, logger, message, created) = row
    return {
        "id": int(lid),
        "flow_run_id": int(run),
        "task_run_id": None if task_run is None else int(task_run),
        "task_name": task_name,
        "level": int(level),
        "level_name": logging.getLevelName(int(level)),
        "logger": logger,
        "message": message,
        "created_at": iso(created),
    }


def artifact_dict(row: Sequence[Any]) -> dict[str, Any]:
    """An artifact's dict from ``id, flow_run_id, task_run_id, key, type, description, data,
    created_at``."""
    (aid, run, task_run, key, kind, description, data, created) = row
    return {
        "id": int(aid),
        "flow_run_id": int(run),
        "task_run_id": None if task_run is None else int(task_run),
        "key": key,
        "type": kind,
        "description": description,
        "data": _json(data),
        "created_at": iso(created),
    }


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q``-th quantile (0..1) of ``sorted_values``, interpolated linearly; ``None`` if
    there are none."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)
