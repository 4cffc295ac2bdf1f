"""Drawing a flow: Graphviz DOT and Mermaid text, a ``graphviz.Digraph``, and state tables.

The text forms need no system binary and no extra package, so they work in any terminal, CI log
or Markdown page::

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

Mapped tasks are drawn as boxes, other tasks as rounded nodes; mapped edges are dashed and
carry the input name as their label. Given a flow state, each task's node is filled with the
colour of its final state (``State.color``), and a mapped task's label counts its children's
states (its node takes a failed child's colour if any child failed). :func:`visualize` builds the same picture as a ``graphviz.Digraph`` (needs the
``graphviz`` Python package; rendering to a file also needs Graphviz's ``dot`` program).
"""

from __future__ import annotations

import html
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.flow import Flow
    from headwater.core.task import Task
    from headwater.engine.state import State

__all__ = ["flow_to_dot", "flow_to_mermaid", "state_to_html", "visualize"]


# -- the graph, described once ---------------------------------------------------------------
class _Node:
    __slots__ = ("id", "label", "mapped", "color")

    def __init__(self, id: str, label: str, mapped: bool, color: str | None) -> None:  # noqa: A002
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


# -- graphviz --------------------------------------------------------------------------------
def visualize(
    flow: Flow,
    flow_state: State | None = None,
    filename: str | None = None,
    format: str | None = None,  # noqa: A002 - Prefect 1.x's argument name
) -> Any:
    """The flow as a ``graphviz.Digraph``; with ``filename``, also rendered to that file.

    Args:
        flow: the flow to draw.
        flow_state: the state returned by ``flow.run()``; fills nodes with state colours.
        filename: render to this path (without extension) in ``format``; needs Graphviz's
            ``dot`` program.
        format: the output format of the rendering (default ``"pdf"``).

    Raises:
        ImportError: the ``graphviz`` Python package is not installed.
        RuntimeError: rendering was asked for but Graphviz's ``dot`` program is missing.
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
    graph = graphviz.Digraph(name=flow.name, format=format)
    for n in nodes:
        attrs = {"shape": "box" if n.mapped else "ellipse"}
        if n.color:
            attrs.update(style="filled", fillcolor=n.color)
        graph.node(n.id, n.label.replace("\n", "\\n"), **attrs)
    for up, down, e in edges:
        attrs = {"style": "dashed"} if e.mapped else {}
        graph.edge(up, down, label=e.key or None, **attrs)
    if filename is not None:
        try:
            graph.render(filename, view=False, format=format or "pdf", cleanup=True)
        except graphviz.ExecutableNotFound as exc:
            raise RuntimeError(
                f"Rendering {filename!r} needs Graphviz's 'dot' program on PATH (for example "
                "apt-get install graphviz); flow.to_dot() gives the DOT text without it."
            ) from exc
    return graph


# -- state tables ----------------------------------------------------------------------------
def _short(value: Any, limit: int = 80) -> str:
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:  # noqa: BLE001 - a broken repr must not break the display
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
