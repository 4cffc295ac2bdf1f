"""Drawing a flow: SVG, Graphviz DOT and Mermaid text, a ``graphviz.Digraph``, state tables.

The SVG, DOT and Mermaid forms need no system binary and no extra package, so they work in any
terminal, CI log, notebook or Markdown page::

    from headwater import Flow, task

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def square(x):
        return x * x

    with Flow("squares") as flow:
        square.map(numbers)

    print(flow.to_mermaid())   # flowchart TD ... (paste into any Mermaid renderer)
    state = flow.run()
    print(flow.to_dot(state))  # the same graph, nodes filled with their state's colour

    from headwater.utilities.graph import flow_to_svg

    svg = flow_to_svg(flow, state)  # drawn by headwater itself: what Jupyter shows for a flow

In DOT and Mermaid mapped tasks are boxes, other tasks rounded nodes (in the SVG a mapped
task's box has a second one behind it); mapped edges are dashed and carry the input name. Given
a flow state, nodes are filled with their final state's colour (``State.color``) and a mapped
task's label counts its children's states (its node takes a failed child's colour).

:func:`flow_mimebundle` is what a ``Flow`` shows in Jupyter. :func:`visualize` builds a
``graphviz.Digraph``; without Graphviz's ``dot`` program it falls back on :func:`flow_to_svg`.
"""

from __future__ import annotations

import functools
import html
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.flow import Flow
    from headwater.core.task import Task
    from headwater.engine.state import State

__all__ = [
    "flow_mimebundle",
    "flow_to_dot",
    "flow_to_mermaid",
    "flow_to_svg",
    "state_to_html",
    "visualize",
]


# -- the graph, described once ---------------------------------------------------------------
class _Node:
    __slots__ = ("id", "label", "mapped", "color")

    def __init__(self, id: str, label: str, mapped: bool, color: str | None) -> None:
        self.id = id
        self.label = label
        self.mapped = mapped
        self.color = color


def _task_states(flow_state: State | None) -> dict[Task, State]:
    if flow_state is None:
        return {}
    result = flow_state.result
    if not isinstance(result, dict):
        raise TypeError(
            f"flow_state must be the state returned by flow.run() (its result maps tasks to "
            f"states), got {flow_state!r} whose result is a {type(result).__name__}."
        )
    return result


def _describe(
    flow: Flow, flow_state: State | None
) -> tuple[list[_Node], list[tuple[str, str, Edge]]]:
    states = _task_states(flow_state)
    tasks = list(flow.sorted_tasks())
    ids = {t: f"t{i}" for i, t in enumerate(tasks)}
    nodes = []
    for t in tasks:
        is_mapped = any(e.mapped for e in flow.edges_to(t))
        label = t.name
        state = states.get(t)
        color = None
        if state is not None:
            color = state.color
            children = getattr(state, "map_states", None)
            if children:
                failed = [s for s in children if s.is_failed()]
                if failed:  # a failed child must show, not hide behind the Mapped colour
                    color = failed[0].color
                counts = Counter(type(s).__name__ for s in children)
                label += "\n" + ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
        nodes.append(_Node(ids[t], label, is_mapped, color))
    edges = sorted(
        ((ids[e.upstream_task], ids[e.downstream_task], e) for e in flow.edges),
        key=lambda x: (int(x[0][1:]), int(x[1][1:]), x[2].key or ""),
    )
    return nodes, edges


# -- DOT -------------------------------------------------------------------------------------
def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def flow_to_dot(flow: Flow, flow_state: State | None = None) -> str:
    """The flow as Graphviz DOT text.

    Args:
        flow: the flow to draw.
        flow_state: the state returned by ``flow.run()``; fills nodes with state colours.
    """
    nodes, edges = _describe(flow, flow_state)
    lines = [f"digraph {_dot_quote(flow.name)} {{"]
    for n in nodes:
        attrs = [f"label={_dot_quote(n.label)}", f"shape={'box' if n.mapped else 'ellipse'}"]
        if n.color:
            attrs += ["style=filled", f"fillcolor={_dot_quote(n.color)}"]
        lines.append(f"    {n.id} [{', '.join(attrs)}];")
    for up, down, e in edges:
        attrs = []
        if e.key:
            attrs.append(f"label={_dot_quote(e.key)}")
        if e.mapped:
            attrs.append("style=dashed")
        lines.append(f"    {up} -> {down}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Mermaid ---------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    escaped = html.escape(text, quote=True).replace("&quot;", "#quot;").replace("\n", "<br>")
    return '"' + escaped + '"'


def flow_to_mermaid(flow: Flow, flow_state: State | None = None) -> str:
    """The flow as a Mermaid ``flowchart``.

    Args:
        flow: the flow to draw.
        flow_state: the state returned by ``flow.run()``; fills nodes with state colours.
    """
    nodes, edges = _describe(flow, flow_state)
    lines = ["flowchart TD"]
    for n in nodes:
        label = _mermaid_text(n.label)
        lines.append(f"    {n.id}[{label}]" if n.mapped else f"    {n.id}({label})")
    for up, down, e in edges:
        arrow = "-.->" if e.mapped else "-->"
        label = f"|{_mermaid_text(e.key)}|" if e.key else ""
        lines.append(f"    {up} {arrow}{label} {down}")
    for n in nodes:
        if n.color:
            lines.append(f"    style {n.id} fill:{n.color}")
    return "\n".join(lines) + "\n"


# -- SVG and Jupyter -------------------------------------------------------------------------
def flow_to_svg(flow: Flow, flow_state: State | None = None) -> str:
    """The flow drawn as an SVG document by headwater itself (no Graphviz needed).

    Tasks are rounded boxes in layers (longest path from the roots), mapped tasks have a second
    box behind them, edges are arrows (mapped edges dashed) and the drawing is the same for the
    same flow. Flows of more than :data:`~headwater.utilities._svg_graph.MAX_BOXES` tasks show
    the first ones, in topological order, and a note.

    Args:
        flow: the flow to draw.
        flow_state: the state returned by ``flow.run()``; fills boxes with state colours.
    """
    from headwater.utilities._svg_graph import Arrow, Box, draw_svg

    nodes, edges = _describe(flow, flow_state)
    boxes = [Box(n.id, n.label, n.mapped, n.color) for n in nodes]
    arrows = [Arrow(up, down, e.key, e.mapped) for up, down, e in edges]
    return draw_svg(flow.name, boxes, arrows)


def flow_mimebundle(flow: Flow, include: Any = None, exclude: Any = None) -> dict[str, str]:
    """What Jupyter shows for a flow (``Flow._repr_mimebundle_``).

    ``text/html`` holds the SVG inline, so that JupyterLab, the classic notebook, VS Code and
    nbconvert all show the drawing (they prefer HTML to Markdown, and some Markdown to SVG);
    ``image/svg+xml`` holds it too, ``text/markdown`` the Mermaid chart and ``text/plain`` the
    flow's repr.

    Args:
        flow: the flow to show.
        include: only these MIME types (``None``: all).
        exclude: not these MIME types.
    """

    def wanted(mime: str) -> bool:
        return (include is None or mime in include) and not (exclude and mime in exclude)

    bundle: dict[str, str] = {}
    if wanted("text/html") or wanted("image/svg+xml"):
        svg = flow_to_svg(flow)
        if wanted("text/html"):
            bundle["text/html"] = f'<div style="overflow-x: auto">{svg}</div>'
        if wanted("image/svg+xml"):
            bundle["image/svg+xml"] = svg
    if wanted("text/markdown"):
        bundle["text/markdown"] = "```mermaid\n" + flow_to_mermaid(flow) + "\n```"
    if wanted("text/plain"):
        bundle["text/plain"] = repr(flow)
    return bundle


# -- graphviz --------------------------------------------------------------------------------
def visualize(
    flow: Flow,
    flow_state: State | None = None,
    filename: str | None = None,
    format: str | None = None,
) -> Any:
    """The flow as a ``graphviz.Digraph``; with ``filename``, also rendered to that file.

    Without Graphviz's ``dot`` program, one line is logged and headwater's own drawing
    (:func:`flow_to_svg`) stands in: the Digraph displays as it in Jupyter, and a rendering in
    the default format or ``"svg"`` writes it to ``filename + ".svg"``.

    Args:
        flow: the flow to draw.
        flow_state: the state returned by ``flow.run()``; fills nodes with state colours.
        filename: render to this path (without extension) in ``format``, as
            ``filename + "." + format``.
        format: the output format of the rendering (default ``"pdf"``; ``"svg"`` without
            ``dot``).

    Raises:
        ImportError: the ``graphviz`` Python package is not installed.
        RuntimeError: a format other than SVG was asked for and Graphviz's ``dot`` program is
            missing.
    """
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(
            "flow.visualize() needs the 'graphviz' Python package: pip install graphviz "
            "(rendering to a file also needs the Graphviz 'dot' program). flow.to_dot() and "
            "flow.to_mermaid() draw the flow as text without it."
        ) from exc
    nodes, edges = _describe(flow, flow_state)
    graph = _digraph_class(graphviz)(name=flow.name, format=format)
    for n in nodes:
        attrs = {"shape": "box" if n.mapped else "ellipse"}
        if n.color:
            attrs.update(style="filled", fillcolor=n.color)
        graph.node(n.id, n.label.replace("\n", "\\n"), **attrs)
    for up, down, e in edges:
        attrs = {"style": "dashed"} if e.mapped else {}
        graph.edge(up, down, label=e.key or None, **attrs)
    if not _has_dot():
        graph.headwater_svg = flow_to_svg(flow, flow_state)
        if filename is None or format in (None, "svg"):
            _without_dot(flow, graph.headwater_svg, filename)
            return graph
    if filename is not None:
        try:
            graph.render(filename, view=False, format=format or "pdf", cleanup=True)
        except graphviz.ExecutableNotFound as exc:
            raise RuntimeError(
                f"Rendering {filename!r} needs Graphviz's 'dot' program on PATH (for example "
                "apt-get install graphviz); flow.to_dot() gives the DOT text without it, and "
                "format='svg' writes headwater's own drawing."
            ) from exc
    return graph


def _has_dot() -> bool:
    import shutil

    return shutil.which("dot") is not None


def _without_dot(flow: Flow, svg: str, filename: str | None) -> None:
    from headwater.utilities.logging import get_logger

    why = "Graphviz's 'dot' program is not on PATH"
    if filename is None:
        get_logger("visualize").warning(
            "%s: flow %r displays as headwater's own SVG drawing", why, flow.name
        )
        return
    path = f"{filename}.svg"
    with open(path, "w", encoding="utf-8") as f:
        f.write(svg)
    get_logger("visualize").warning(
        "%s: wrote headwater's own SVG drawing of flow %r to %r", why, flow.name, path
    )


@functools.cache
def _digraph_class(graphviz: Any) -> Any:
    """``graphviz.Digraph``, displaying as headwater's SVG when ``dot`` is missing."""

    class FlowDigraph(graphviz.Digraph):  # type: ignore[misc]
        """A ``graphviz.Digraph`` of a flow; without ``dot``, Jupyter shows headwater's SVG."""

        headwater_svg: str | None = None

        def _repr_mimebundle_(
            self, include: Any = None, exclude: Any = None, **kwargs: Any
        ) -> dict[str, Any]:
            if self.headwater_svg is None or _has_dot():
                bundle: dict[str, Any] = super()._repr_mimebundle_(include, exclude, **kwargs)
                return bundle
            return {"image/svg+xml": self.headwater_svg, "text/plain": repr(self)}

        def __reduce__(self) -> tuple[Any, ...]:
            state = {k: v for k, v in self.__dict__.items() if k != "headwater_svg"}
            return (_plain_digraph, (state,))  # a class made here cannot be pickled

    return FlowDigraph


def _plain_digraph(state: dict[str, Any]) -> Any:
    """A ``graphviz.Digraph`` with the attributes of a pickled flow graph."""
    import graphviz

    graph = graphviz.Digraph.__new__(graphviz.Digraph)
    graph.__dict__.update(state)
    return graph


# -- state tables ----------------------------------------------------------------------------
def _short(value: Any, limit: int = 80) -> str:
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


SECRET_MASK = "****"


def _is_secret(task: Any, state: Any) -> bool:
    """Whether a state holds a secret task's value (a mapped secret task: its children's)."""
    if getattr(task, "is_secret", False) or getattr(state, "secret", False):
        return True
    children = getattr(state, "map_states", None) or ()
    return any(getattr(c, "secret", False) for c in children)


def state_to_html(state: State) -> str:
    """An HTML table of a state; for a flow state, one row per task (used by Jupyter).

    The result of a secret task (``HeadwaterSecret``, ``EnvVarSecret``...) is shown as ``****``.
    """

    def row(name: str | None, s: Any, task: Any = None) -> str:
        cells = []
        if name is not None:
            cells.append(f"<td>{html.escape(name)}</td>")
        if hasattr(s, "color"):
            kind = (
                f'<td><span style="display:inline-block;width:0.8em;height:0.8em;'
                f'background:{html.escape(s.color)};border-radius:50%"></span> '
                f"{html.escape(type(s).__name__)}</td>"
            )
            shown = SECRET_MASK if _is_secret(task, s) else html.escape(_short(s.result))
            cells += [kind, f"<td>{html.escape(_short(s.message))}</td>", f"<td>{shown}</td>"]
        else:
            cells += [f"<td>{html.escape(_short(s))}</td>", "<td></td>", "<td></td>"]
        return "<tr>" + "".join(cells) + "</tr>"

    head_cells = ["State", "Message", "Result"]
    result = state.result
    rows: list[str]
    if (
        isinstance(result, dict)
        and result
        and all(hasattr(s, "is_finished") for s in result.values())
    ):
        head_cells = ["Task", *head_cells]
        title = f"{html.escape(type(state).__name__)}: {html.escape(_short(state.message, 200))}"
        rows = [row(getattr(t, "name", str(t)), s, t) for t, s in result.items()]
    else:
        title = html.escape(type(state).__name__)
        rows = [row(None, state)]
    head = "".join(f"<th>{h}</th>" for h in head_cells)
    return (
        f"<table><caption>{title}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
