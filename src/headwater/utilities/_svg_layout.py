"""The layered layout behind headwater's SVG drawings of flows, in pure Python.

:func:`lay_out` places boxes of given sizes, joined by links, in the classic layered way:

1. each box goes in the layer of its longest path from a root; a root then moves down to just
   above its first child, so that parameters sit next to the tasks that use them;
2. a link spanning several layers gets a waypoint in each layer it crosses, so that boxes make
   room for it instead of being drawn over (up to :data:`MAX_WAYPOINTS` waypoints in all;
   beyond that, long links go straight to their box);
3. the boxes and waypoints of each layer are ordered by a few sweeps of the barycenter
   heuristic (each moves towards the mean position of its neighbours in the layers before it,
   then after it), which removes most crossings;
4. layers become rows from top to bottom, or columns from left to right when the rows would be
   much wider than a page and there are fewer layers than boxes in the widest one.

Everything depends on the input order only, so the same graph always gets the same layout::

    from headwater.utilities._svg_layout import lay_out

    layout = lay_out({"a": (80, 32), "b": (80, 32)}, [("a", "b")])
    assert layout.direction == "TD" and layout.items["a"].y < layout.items["b"].y
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["MAX_WAYPOINTS", "Item", "Layout", "lay_out", "layers"]

MAX_WAYPOINTS = 3000
"""The most waypoints a layout gets for its long links (beyond: straight links)."""
GAP_ACROSS = {"TD": 24.0, "LR": 12.0}
GAP_ALONG = {"TD": 52.0, "LR": 72.0}
WIDE = 1200.0  # rows wider than this turn the layout left to right, when that helps
SWEEPS = 4
_WAYPOINT = "\0"  # waypoint keys start with it; box keys do not


@dataclass(slots=True)
class Item:
    """A box, or a waypoint of a long link, with its size and top-left corner."""

    key: str
    w: float
    h: float
    waypoint: bool = False
    x: float = 0.0
    y: float = 0.0


@dataclass(slots=True)
class Layout:
    """Where everything goes: ``routes[i]`` are the waypoints of ``links[i]``, in order."""

    items: dict[str, Item]
    routes: list[list[Item]]
    direction: str
    width: float
    height: float
    rows: list[list[Item]] = field(default_factory=list)


def layers(keys: Sequence[str], links: Sequence[tuple[str, str]]) -> list[list[str]]:
    """The keys by layer: each key one layer below its deepest upstream key (longest path),
    roots just above their first child. Keys on a cycle go in a last layer of their own.
    """
    ups: dict[str, list[str]] = {k: [] for k in keys}
    downs: dict[str, list[str]] = {k: [] for k in keys}
    for up, down in links:
        if up in ups and down in ups and up != down:
            ups[down].append(up)
            downs[up].append(down)
    depth = _depths(keys, ups, downs)
    rows: dict[int, list[str]] = {}
    for k in keys:
        if k in depth:
            rows.setdefault(depth[k], []).append(k)
    stuck = [k for k in keys if k not in depth]
    return [rows[d] for d in sorted(rows)] + ([stuck] if stuck else [])


def _depths(
    keys: Sequence[str], ups: Mapping[str, list[str]], downs: Mapping[str, list[str]]
) -> dict[str, int]:
    """The layer of each key not on a cycle (Kahn's algorithm, longest path)."""
    waiting = {k: len(ups[k]) for k in keys}
    depth = dict.fromkeys(keys, 0)
    ready = [k for k in keys if waiting[k] == 0]
    for k in ready:  # grows while it is read
        for d in downs[k]:
            depth[d] = max(depth[d], depth[k] + 1)
            waiting[d] -= 1
            if waiting[d] == 0:
                ready.append(d)
    for k in ready:
        if not ups[k] and downs[k]:  # a root: just above its first child
            depth[k] = min(depth[d] for d in downs[k]) - 1
    return {k: depth[k] for k in ready}


def lay_out(sizes: Mapping[str, tuple[float, float]], links: Sequence[tuple[str, str]]) -> Layout:
    """Place boxes (``{key: (width, height)}``, in a stable order) joined by ``links``.

    Links between unknown keys, and from a key to itself, are ignored (their routes are empty).
    """
    rows = layers(list(sizes), links)
    row_of = {k: r for r, row in enumerate(rows) for k in row}
    spans = [row_of[b] - row_of[a] - 1 if a in row_of and b in row_of else 0 for a, b in links]
    split = sum(s for s in spans if s > 0) <= MAX_WAYPOINTS
    items = {k: Item(k, w, h) for k, (w, h) in sizes.items()}
    routes: list[list[Item]] = []
    steps: list[tuple[str, str]] = []  # the links, cut at their waypoints
    for i, ((up, down), span) in enumerate(zip(links, spans)):
        route = []
        if split and span > 0:
            for j in range(span):
                wp = Item(f"{_WAYPOINT}{i}.{j}", 2.0, 2.0, waypoint=True)
                items[wp.key] = wp
                rows[row_of[up] + 1 + j].append(wp.key)
                route.append(wp)
        routes.append(route)
        chain = [up, *(w.key for w in route), down]
        steps.extend(zip(chain, chain[1:]))
    ordered = [[items[k] for k in row] for row in _order(rows, steps)]
    direction = _direction(ordered)
    width, height = _position(ordered, direction)
    return Layout(items, routes, direction, width, height, ordered)


def _order(rows: list[list[str]], links: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Reorder each row towards the mean position of its neighbours (barycenter sweeps)."""
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for up, down in links:
        ups.setdefault(down, []).append(up)
        downs.setdefault(up, []).append(down)
    rows = [list(r) for r in rows]
    pos: dict[str, float] = {}

    def place(row: list[str]) -> None:
        for i, k in enumerate(row):
            pos[k] = (i + 0.5) / len(row)

    for row in rows:
        place(row)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        neighbours = ups if downward else downs
        for r in range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1):
            rows[r] = _by_barycentre(rows[r], neighbours, pos)
            place(rows[r])
    return rows


def _by_barycentre(
    row: list[str], neighbours: Mapping[str, list[str]], pos: Mapping[str, float]
) -> list[str]:
    """``row`` sorted by the mean position of each key's neighbours (ties: current order)."""

    def centre(item: tuple[int, str]) -> tuple[float, int]:
        near = [pos[n] for n in neighbours.get(item[1], ()) if n in pos]
        return (sum(near) / len(near) if near else pos[item[1]], item[0])

    return [k for _, k in sorted(enumerate(row), key=centre)]


def _direction(rows: list[list[Item]]) -> str:
    gap = GAP_ACROSS["TD"]
    widest = max((sum(p.w + gap for p in row) for row in rows), default=0.0)
    longest = max((sum(1 for p in row if not p.waypoint) for row in rows), default=0)
    return "LR" if widest > WIDE and len(rows) < longest else "TD"


def _position(rows: list[list[Item]], direction: str) -> tuple[float, float]:
    """Set each item's top-left corner; return the size of the whole."""
    across_gap, along_gap = GAP_ACROSS[direction], GAP_ALONG[direction]
    td = direction == "TD"
    for row in rows:  # a waypoint spans its layer's thickness, and is thin across it
        thickness = max((p.h if td else p.w for p in row if not p.waypoint), default=0.0)
        for p in row:
            if p.waypoint:
                p.w, p.h = (2.0, thickness) if td else (thickness, 2.0)
    spans = [sum(p.w if td else p.h for p in row) + across_gap * (len(row) - 1) for row in rows]
    across = max(spans, default=0.0)
    along = 0.0
    for row, span in zip(rows, spans):
        thickness = max((p.h if td else p.w for p in row), default=0.0)
        offset = (across - span) / 2
        for p in row:
            if td:
                p.x, p.y = offset, along + (thickness - p.h) / 2
                offset += p.w + across_gap
            else:
                p.x, p.y = along + (thickness - p.w) / 2, offset
                offset += p.h + across_gap
        along += thickness + along_gap
    along = max(0.0, along - along_gap)
    return (across, along) if td else (along, across)
