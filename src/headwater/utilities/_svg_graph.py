"""A directed acyclic graph drawn as SVG in pure Python: no Graphviz, no JavaScript, no network.

The drawing is what Jupyter shows for a ``Flow``
(:func:`headwater.utilities.graph.flow_to_svg`). The layout is layered (see :mod:`headwater.utilities._svg_layout`): rows of boxes from top to
bottom (columns from left to right for very wide graphs), each box below everything it depends
on. Boxes are rounded rectangles (a mapped task's box has a second one behind it), edges are
curves with an arrowhead, mapped edges are dashed, and every name is escaped. The output depends
on the input only (same input, same bytes). At most :data:`MAX_BOXES` boxes are drawn; a note
says how many were left out::

    from headwater.utilities._svg_graph import Arrow, Box, draw_svg

    svg = draw_svg("etl", [Box("a", "extract"), Box("b", "load")], [Arrow("a", "b", "rows")])
    assert svg.startswith("<svg") and ">extract</tspan>" in svg
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.utilities._svg_layout import Item, Layout, lay_out

__all__ = ["MAX_BOXES", "Arrow", "Box", "draw_serialized_flow", "draw_svg"]

MAX_BOXES = 500
"""The most boxes drawn; beyond it the first ones (in the order given) are drawn, with a note."""
MAX_LABELS = 100
"""Edge labels are drawn on graphs of at most this many edges (always in each edge's tooltip)."""

FONT, LINE = 13, 16
CHAR = 7.4  # mean advance of a 13px sans-serif character
PAD_X, PAD_Y = 12, 8
MIN_WIDTH = 60
MAX_CHARS = 36
MARGIN, TITLE = 16, 26
HEAD = 7  # arrowhead length
FONT_FAMILY = "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
FILL, STROKE, INK, EDGE = "#eef2f7", "#5b6b7f", "#1a202c", "#6b7785"

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True, slots=True)
class Box:
    """A node: ``key`` identifies it, ``label`` is shown (``\\n`` splits lines)."""

    key: str
    label: str
    mapped: bool = False
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Arrow:
    """An edge from the box keyed ``up`` to the box keyed ``down``."""

    up: str
    down: str
    label: str | None = None
    mapped: bool = False


# -- sizes ---------------------------------------------------------------------------------------
def _lines(box: Box) -> list[str]:
    return [_shorten(line) for line in box.label.split("\n")]


def _size(lines: list[str]) -> tuple[float, float]:
    width = max(_text_width(line) for line in lines)
    return max(MIN_WIDTH, width + 2 * PAD_X), len(lines) * LINE + 2 * PAD_Y


def _shorten(line: str) -> str:
    return line if len(line) <= MAX_CHARS else line[: MAX_CHARS - 1] + "…"


def _text_width(text: str) -> float:
    import unicodedata

    wide = sum(1 for c in text if unicodedata.east_asian_width(c) in "WF")
    return (len(text) + wide) * CHAR


# -- drawing -------------------------------------------------------------------------------------
def draw_svg(
    title: str, boxes: Sequence[Box], arrows: Sequence[Arrow], *, max_boxes: int = MAX_BOXES
) -> str:
    """The graph as a standalone SVG document (``image/svg+xml``).

    Args:
        title: shown at the top (the flow's name).
        boxes: the nodes, in a stable order (a flow's topological order).
        arrows: the edges; those to or from keys not among the boxes drawn are left out.
        max_boxes: draw at most this many boxes (the first ones), with a note about the rest.
    """
    shown = {b.key: b for b in boxes[:max_boxes]}
    lines = {k: _lines(b) for k, b in shown.items()}
    kept = [a for a in arrows if a.up in shown and a.down in shown and a.up != a.down]
    layout = lay_out({k: _size(v) for k, v in lines.items()}, [(a.up, a.down) for a in kept])
    note = _note(len(shown), len(boxes))
    top = MARGIN + TITLE
    bottom = top + layout.height + (0 if shown else 20) + (LINE + 4 if note else 0)
    width = max(layout.width, _text_width(title) * 1.1, _text_width(note)) + 2 * MARGIN
    height = bottom + MARGIN
    for item in layout.items.values():
        item.x, item.y = item.x + MARGIN, item.y + top
    size = f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {size} font-family="{FONT_FAMILY}" '
        f'font-size="{FONT}" role="img" aria-label="{_xml(title)}">',
        f"<title>{_xml(title)}</title>",
        '<rect width="100%" height="100%" fill="#ffffff" rx="6"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 14}" font-size="14" font-weight="bold" '
        f'fill="{INK}">{_xml(title)}</text>',
    ]
    parts += _draw_arrows(kept, layout, shown)
    parts += [_draw_box(shown[k], lines[k], layout.items[k]) for k in shown]
    if not shown:
        parts.append(f'<text x="{MARGIN}" y="{top + 12}" fill="{EDGE}">(no tasks)</text>')
    if note:
        parts.append(f'<text x="{MARGIN}" y="{_n(bottom - 4)}" fill="{EDGE}">{_xml(note)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def draw_serialized_flow(
    graph: Mapping[str, Any],
    colors: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
) -> str:
    """A flow as ``flow.serialize()`` describes it, drawn by :func:`draw_svg`.

    Args:
        graph: the ``flow.serialize()`` dict (its ``name``, ``tasks`` and ``edges``).
        colors: box fill colours by task slug (a run's task states, say).
        notes: a second line for some boxes, by task slug (``"3 Success, 1 Failed"``).
    """
    colors, notes = colors or {}, notes or {}
    edges = list(graph.get("edges") or [])
    ends = [(e["upstream_task"]["slug"], e["downstream_task"]["slug"], e) for e in edges]
    mapped = {down for _, down, e in ends if e.get("mapped")}
    boxes = []
    for t in graph.get("tasks") or []:
        slug = str(t["slug"])
        label = str(t.get("name", slug)) + (f"\n{notes[slug]}" if slug in notes else "")
        boxes.append(Box(slug, label, slug in mapped, colors.get(slug)))
    arrows = [Arrow(up, down, e.get("key"), bool(e.get("mapped"))) for up, down, e in ends]
    return draw_svg(str(graph.get("name", "flow")), boxes, arrows)


def _note(shown: int, total: int) -> str:
    if shown == total:
        return ""
    return (
        f"Showing the first {shown} of {total} tasks; flow.to_dot() and flow.visualize() "
        "draw them all."
    )


def _ports(arrows: Sequence[Arrow], layout: Layout) -> list[tuple[float, float]]:
    """Where each arrow leaves its box and enters the next, spread along the box's side in the
    order of the items at the other end (so that arrows do not cross at the box)."""
    td = layout.direction == "TD"
    items = layout.items
    outs: dict[str, list[tuple[int, Item]]] = {}
    ins: dict[str, list[tuple[int, Item]]] = {}
    for i, (a, route) in enumerate(zip(arrows, layout.routes)):
        outs.setdefault(a.up, []).append((i, route[0] if route else items[a.down]))
        ins.setdefault(a.down, []).append((i, route[-1] if route else items[a.up]))
    ends = [[0.0, 0.0] for _ in arrows]
    for side, groups in ((0, outs), (1, ins)):
        for key, others in groups.items():
            p = items[key]
            span, start = (p.w, p.x) if td else (p.h, p.y)
            ranked = sorted(others, key=lambda o: (_middle(o[1], td), o[0]))
            for rank, (i, _) in enumerate(ranked):
                ends[i][side] = start + span * (rank + 1) / (len(ranked) + 1)
    return [(e[0], e[1]) for e in ends]


def _middle(item: Item, td: bool) -> float:
    return item.x + item.w / 2 if td else item.y + item.h / 2


def _route(points: list[tuple[float, float]], td: bool) -> str:
    """A path through ``(along-from, along-to)`` pairs: curves between them, lines inside."""
    (x, y), rest = points[0], points[1:]
    path = f"M{_n(x)},{_n(y)}"
    for i, (x2, y2) in enumerate(rest):
        if i % 2 == 1:  # through a waypoint: straight along its layer
            path += f" L{_n(x2)},{_n(y2)}"
        elif td:
            bend = max(16.0, (y2 - y) / 2)
            path += f" C{_n(x)},{_n(y + bend)} {_n(x2)},{_n(y2 - bend)} {_n(x2)},{_n(y2)}"
        else:
            bend = max(16.0, (x2 - x) / 2)
            path += f" C{_n(x + bend)},{_n(y)} {_n(x2 - bend)},{_n(y2)} {_n(x2)},{_n(y2)}"
        x, y = x2, y2
    return path


def _draw_arrows(arrows: Sequence[Arrow], layout: Layout, boxes: dict[str, Box]) -> list[str]:
    td = layout.direction == "TD"
    items = layout.items
    out = []
    labelled = len(arrows) <= MAX_LABELS
    for a, route, (start, end) in zip(arrows, layout.routes, _ports(arrows, layout)):
        up, down = items[a.up], items[a.down]
        if td:
            points = [(start, up.y + up.h)]
            points += [pt for w in route for pt in ((w.x + 1, w.y), (w.x + 1, w.y + w.h))]
            points.append((end, down.y - HEAD))
            tip = f"{_n(end - 4)},{_n(down.y - HEAD)} {_n(end + 4)},{_n(down.y - HEAD)} "
            tip += f"{_n(end)},{_n(down.y)}"
        else:
            points = [(up.x + up.w, start)]
            points += [pt for w in route for pt in ((w.x, w.y + 1), (w.x + w.w, w.y + 1))]
            points.append((down.x - HEAD, end))
            tip = f"{_n(down.x - HEAD)},{_n(end - 4)} {_n(down.x - HEAD)},{_n(end + 4)} "
            tip += f"{_n(down.x)},{_n(end)}"
        name = f"{_first_line(boxes[a.up])} → {_first_line(boxes[a.down])}"
        name += f" ({a.label})" if a.label else ""
        dash = ' stroke-dasharray="5 4"' if a.mapped else ""
        out.append(
            f"<g><title>{_xml(name)}</title>"
            f'<path d="{_route(points, td)}" fill="none" stroke="{EDGE}" stroke-width="1.4"'
            f'{dash}/><polygon points="{tip}" fill="{EDGE}"/></g>'
        )
        if a.label and labelled:  # beside the last stretch, near the input it feeds
            (x1, y1), (x2, y2) = points[-2], points[-1]
            out.append(
                f'<text x="{_n((x1 + x2) / 2 + 4)}" y="{_n((y1 + y2) / 2 + 3)}" font-size="10" '
                f'fill="#4a5568" stroke="#ffffff" stroke-width="3" paint-order="stroke">'
                f"{_xml(a.label)}</text>"
            )
    return out


def _first_line(box: Box) -> str:
    return box.label.split("\n", 1)[0]


def _draw_box(box: Box, lines: list[str], p: Item) -> str:
    fill = box.color or FILL
    shape = f'rx="8" fill="{_xml(fill)}" stroke="{STROKE}" stroke-width="1.2"'
    behind = ""
    if box.mapped:
        behind = f'<rect x="{_n(p.x + 4)}" y="{_n(p.y + 4)}" width="{_n(p.w)}" '
        behind += f'height="{_n(p.h)}" {shape}/>'
    cx = p.x + p.w / 2
    spans = "".join(
        f'<tspan x="{_n(cx)}" y="{_n(p.y + PAD_Y + 12 + i * LINE)}">{_xml(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f"<g><title>{_xml(box.label)}</title>{behind}"
        f'<rect x="{_n(p.x)}" y="{_n(p.y)}" width="{_n(p.w)}" height="{_n(p.h)}" {shape}/>'
        f'<text text-anchor="middle" fill="{_ink_on(fill)}">{spans}</text></g>'
    )


def _ink_on(fill: str) -> str:
    """Dark text on light fills, white text on dark ones (``#rgb``/``#rrggbb`` fills)."""
    m = _HEX.fullmatch(fill)
    if not m:
        return INK
    digits = m.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return INK if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#ffffff"


def _xml(text: str) -> str:
    """``text`` escaped for XML text and attributes, without characters XML cannot hold."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
