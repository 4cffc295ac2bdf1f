"""A run's timeline: one bar per task run on a shared time axis, drawn as inline SVG.

The bars are coloured by state and link to the task-run page; a task run still going is drawn
up to ``now``. Every name is escaped. At most :data:`MAX_ROWS` task runs are drawn (in start
order), with a note about the rest::

    from headwater.ui._gantt import gantt_svg

    rows = [{"id": 1, "task_name": "extract", "map_index": None, "state": "Success",
             "started_at": "2026-01-01T00:00:00+00:00", "ended_at": "2026-01-01T00:00:02+00:00",
             "duration_seconds": 2.0}]
    svg = gantt_svg(rows, start="2026-01-01T00:00:00+00:00", end="2026-01-01T00:00:02+00:00")
    assert svg.startswith("<svg") and ">extract</text>" in svg
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from headwater.ui._format import as_datetime, duration, state_color, task_label

__all__ = ["MAX_ROWS", "gantt_svg"]

MAX_ROWS = 300
"""The most task runs a timeline draws."""
LABEL_W, CHART_W, ROW_H, BAR_H, AXIS_H, MARGIN = 220.0, 640.0, 20.0, 14.0, 24.0, 8.0
MAX_LABEL = 30
TICKS = 5
FONT = "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _label(row: Mapping[str, Any]) -> str:
    name = task_label(row)
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def _bounds(
    rows: Sequence[Mapping[str, Any]], start: Any, end: Any, now: datetime
) -> tuple[datetime, float]:
    """The time the axis starts at, and the seconds it spans (never 0)."""
    starts = [as_datetime(r.get("started_at")) for r in rows]
    ends = [as_datetime(r.get("ended_at")) or now for r in rows if r.get("started_at")]
    first = [t for t in [as_datetime(start), *starts] if t is not None]
    t0 = min(first) if first else now
    last = [t for t in [as_datetime(end), *ends] if t is not None] or [now]
    return t0, max((max(last) - t0).total_seconds(), 1e-3)


def gantt_svg(
    rows: Sequence[Mapping[str, Any]],
    *,
    start: Any = None,
    end: Any = None,
    now: datetime | None = None,
    link: str = "/task-runs/{id}",
) -> str:
    """The timeline of a run's task runs as an ``<svg>`` element.

    Args:
        rows: the task runs (the store's dicts), in start order.
        start: when the flow run started (the axis starts at the earliest of it and the rows).
        end: when it ended (``None`` while it runs: the axis ends at ``now``).
        now: the time a task run still going is drawn to (default: the current time).
        link: where a bar links to, with ``{id}`` for the task run's id.
    """
    now = now or datetime.now(UTC)
    shown = [r for r in rows if r.get("started_at")][:MAX_ROWS]
    t0, span = _bounds(shown, start, end, now)
    scale = CHART_W / span
    height = AXIS_H + ROW_H * max(len(shown), 1) + 2 * MARGIN
    note = len([r for r in rows if r.get("started_at")]) - len(shown)
    height += ROW_H if note else 0
    width = LABEL_W + CHART_W + 2 * MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" width="{_n(width)}" '
        f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}" '
        f'font-size="12" role="img" aria-label="Timeline of the task runs">',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    parts += _axis(span, height, note)
    for i, row in enumerate(shown):
        parts.append(_bar(row, i, t0, scale, now, link))
    if not shown:
        parts.append(
            f'<text x="{MARGIN}" y="{_n(AXIS_H + 14)}" fill="#6b7785">(no task runs)</text>'
        )
    if note:
        y = AXIS_H + MARGIN + ROW_H * len(shown) + 14
        parts.append(
            f'<text x="{MARGIN}" y="{_n(y)}" fill="#6b7785">'
            f"{_text(f'and {note} more task runs, not drawn')}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _axis(span: float, height: float, note: int) -> list[str]:
    out = []
    bottom = height - MARGIN - (ROW_H if note else 0)
    for k in range(TICKS + 1):
        x = LABEL_W + MARGIN + CHART_W * k / TICKS
        out.append(
            f'<line x1="{_n(x)}" y1="{_n(AXIS_H - 4)}" x2="{_n(x)}" y2="{_n(bottom)}" '
            'stroke="#e2e8f0"/>'
        )
        anchor = "start" if k == 0 else ("end" if k == TICKS else "middle")
        out.append(
            f'<text x="{_n(x)}" y="{_n(AXIS_H - 8)}" text-anchor="{anchor}" fill="#4a5568">'
            f"{_text('+' + duration(span * k / TICKS))}</text>"
        )
    return out


def _bar(
    row: Mapping[str, Any], i: int, t0: datetime, scale: float, now: datetime, link: str
) -> str:
    began = as_datetime(row.get("started_at")) or t0
    ended = as_datetime(row.get("ended_at")) or now
    x = LABEL_W + MARGIN + (began - t0).total_seconds() * scale
    w = max((ended - began).total_seconds() * scale, 2.0)
    y = AXIS_H + MARGIN + i * ROW_H
    state = str(row.get("state") or "")
    tip = f"{_label(row)}: {state}, {duration(row.get('duration_seconds'))}"
    href = link.format(id=int(row.get("id") or 0))
    return (
        f'<a href="{_text(href)}"><g class="gantt-row"><title>{_text(tip)}</title>'
        f'<text x="{MARGIN}" y="{_n(y + BAR_H - 3)}" fill="#1a202c">{_text(_label(row))}</text>'
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{BAR_H:g}" rx="3" '
        f'fill="{_text(state_color(state))}" stroke="#5b6b7f" stroke-width="0.6"/></g></a>'
    )
