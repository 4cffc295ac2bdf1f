"""Reading the filters of a runs list from a query string, with errors that say what to pass.

``flow`` (a flow's name), ``flow_id``, ``state`` (a state name such as ``Success``), ``since``
and ``until`` (ISO-8601 times, or ``since`` as a span back from now: ``15m``, ``1h``, ``24h``,
``7d``), ``limit`` (1 to :data:`MAX_LIMIT`) and ``offset``::

    from headwater.ui._filters import run_filters

    filters = run_filters({"state": "Failed", "limit": "10"})
    assert filters.store_kwargs()["state"] == "Failed" and filters.limit == 10
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["MAX_LIMIT", "SINCE_CHOICES", "FilterError", "RunFilters", "run_filters"]

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
SINCE_CHOICES = {"15m": "last 15 minutes", "1h": "last hour", "24h": "last day", "7d": "last week"}
_SPAN = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class FilterError(ValueError):
    """A filter of the query string has a value it cannot have."""


@dataclass(frozen=True)
class RunFilters:
    """The filters of a runs list, checked."""

    flow: str | None = None
    flow_id: int | None = None
    state: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def store_kwargs(self, now: datetime | None = None) -> dict[str, Any]:
        """The keyword arguments of the store's ``list_flow_runs``/``count_flow_runs``."""
        out: dict[str, Any] = {}
        if self.flow:
            out["flow_name"] = self.flow
        if self.flow_id is not None:
            out["flow_id"] = self.flow_id
        if self.state:
            out["state"] = self.state
        if self.since:
            out["since"] = moment(self.since, "since", now)
        if self.until:
            out["until"] = moment(self.until, "until", now)
        return out

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query parameters (those set), with ``changes`` applied."""
        values = {
            "flow": self.flow,
            "flow_id": self.flow_id,
            "state": self.state,
            "since": self.since,
            "until": self.until,
            "offset": self.offset or None,
        }
        if self.limit != DEFAULT_LIMIT:
            values["limit"] = self.limit
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "", 0)}


def moment(text: str, name: str, now: datetime | None = None) -> datetime:
    """``text`` (an ISO-8601 time, or a span back from now like ``24h``) as a UTC datetime.

    Raises:
        FilterError: it is neither.
    """
    now = now or datetime.now(UTC)
    span = _SPAN.fullmatch(text.strip())
    if span:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"{name} must be an ISO-8601 time (2026-01-31T12:00:00Z) or a span back from now "
            f"(15m, 1h, 24h, 7d), got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int(query: Mapping[str, str], name: str, default: int | None, low: int, high: int) -> Any:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise FilterError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise FilterError(f"{name} must be between {low} and {high}, got {value}")
    return value


def run_filters(query: Mapping[str, str]) -> RunFilters:
    """The :class:`RunFilters` of a query string.

    Raises:
        FilterError: a filter has a bad value (the message names it and what it may be).
    """
    text = {k: (query.get(k) or "").strip() or None for k in ("flow", "state", "since", "until")}
    filters = RunFilters(
        flow=text["flow"],
        flow_id=_int(query, "flow_id", None, 0, 2**62),
        state=text["state"],
        since=text["since"],
        until=text["until"],
        limit=_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_int(query, "offset", 0, 0, 2**62),
    )
    filters.store_kwargs()  # checks the times
    return filters
