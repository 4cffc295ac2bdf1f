"""How the UI shows values: state colours, times, durations and parameter values.

Every function returns plain text; the templates escape it (autoescape), so nothing here has to.

>>> duration(0.00008), duration(0.0042), duration(75.5), duration(None)
('80 µs', '4 ms', '1 min 15.5 s', '—')
>>> short_time("2026-01-31T12:00:05.123456+00:00")
'2026-01-31 12:00:05'
>>> state_color("Success"), state_color("no such state")
('#28a745', '#9e9e9e')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

__all__ = [
    "LIVE_STATES",
    "STATE_NAMES",
    "as_datetime",
    "duration",
    "pretty",
    "short_time",
    "state_class",
    "state_color",
    "state_names",
    "task_label",
    "percent",
]

LIVE_STATES = ("Running", "Pending", "Submitted", "Queued", "Scheduled", "Retrying")
STATE_NAMES = (
    "Success",
    "Failed",
    "Running",
    "Pending",
    "Crashed",
    "Cancelled",
    "TimedOut",
    "TriggerFailed",
    "Skipped",
    "Cached",
    "Mapped",
    "Retrying",
    "Paused",
)
"""The states offered by the runs list's filter, in that order."""
_OTHER = "#9e9e9e"
_EXTRA_COLORS = {"Crashed": "#7b1fa2"}


@cache
def _colors() -> dict[str, str]:
    from headwater.engine import state as states

    out = dict(_EXTRA_COLORS)
    for name in dir(states):
        cls = getattr(states, name)
        if isinstance(cls, type) and issubclass(cls, states.State):
            out[cls.__name__] = str(cls.color)
    return out


def state_names() -> list[str]:
    """Every state name with a colour of its own."""
    return sorted(_colors())


def state_color(name: str | None) -> str:
    """The colour of state ``name`` (headwater's state colours; grey for an unknown one)."""
    return _colors().get(name or "", _OTHER)


def state_class(name: str | None) -> str:
    """The CSS class of a state badge: ``state-NAME`` for known states, ``state-other``."""
    return f"state-{name}" if name in _colors() else "state-other"


def as_datetime(value: str | datetime | None) -> datetime | None:
    """An ISO-8601 string (or a datetime) as an aware datetime in UTC; ``None`` stays."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def short_time(value: str | datetime | None) -> str:
    """``2026-01-31 12:00:05`` (UTC, to the second), or ``—``."""
    moment = as_datetime(value)
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """A duration for people: ``80 µs``, ``4 ms``, ``2.31 s``, ``1 min 15.5 s``, ``2 h 5 min``."""
    if seconds is None:
        return "—"
    if seconds == 0:
        return "0 s"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes:.0f} min {rest:.1f} s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours:.0f} h {rest / 60:.0f} min"


def pretty(value: Any) -> str:
    """A parameter value as JSON text (``repr`` for what JSON cannot hold)."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def task_label(task_run: Mapping[str, Any]) -> str:
    """A task run's name, with its map index (``transform[2]``) for a mapped child."""
    name = str(task_run.get("task_name") or "?")
    index = task_run.get("map_index")
    if index is not None and not name.endswith(f"[{index}]"):
        name += f"[{index}]"
    return name


def percent(rate: float | None) -> str:
    """``0.875`` as ``87.5 %``; ``None`` as ``—``."""
    return "—" if rate is None else f"{rate * 100:.1f} %"


def template_environment() -> Any:
    """The Jinja2 environment of the UI's templates, pages and report alike: autoescaped,
    strict about undefined names, with this module's filters."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("headwater.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=duration,
        time=short_time,
        state_class=state_class,
        pretty=pretty,
        percent=percent,
        task_label=task_label,
    )
    return env
