"""Drawing flows: DOT and Mermaid text, graphviz Digraphs, and HTML state tables."""

from __future__ import annotations

import sys

import pytest

from headwater import Flow, task
from headwater.engine.state import Failed, Mapped, Success, TriggerFailed
from headwater.utilities.graph import flow_to_dot, flow_to_mermaid, state_to_html, visualize


@task
def numbers():
    return [1, 2, 3]


@task
def square(x):
    if x == 2:
        raise ValueError("two is not allowed")
    return x * x


@task
def total(xs):
    return sum(xs)


def build():
    with Flow('squares "demo"') as flow:
        nums = numbers()
        squares = square.map(nums)
        result = total(squares)
    return flow, nums, squares, result


def node_line(text, name):
    [line] = [
        ln
        for ln in text.splitlines()
        if f'label="{name}' in ln or f'("{name}' in ln or f'["{name}' in ln
    ]
    return line


class TestDot:
    def test_structure(self):
        flow, *_ = build()
        dot = flow_to_dot(flow)
        assert dot.startswith('digraph "squares \\"demo\\"" {')
        assert 't0 [label="numbers", shape=ellipse];' in dot
        assert 't1 [label="square", shape=box];' in dot
        assert 't0 -> t1 [label="x", style=dashed];' in dot
        assert 't1 -> t2 [label="xs"];' in dot
        assert "fillcolor" not in dot

    def test_colours_from_a_flow_state(self):
        flow, nums, squares, result = build()
        state = flow.run()
        dot = flow.to_dot(state)
        assert f'fillcolor="{Success.color}"' in node_line(dot, "numbers")
        assert f'fillcolor="{TriggerFailed.color}"' in node_line(dot, "total")
        mapped_line = node_line(dot, "square")
        assert "1 Failed, 2 Success" in mapped_line
        assert f'fillcolor="{Failed.color}"' in mapped_line

    def test_successful_mapped_task_has_the_mapped_colour(self):
        @task
        def inc(x):
            return x + 1

        with Flow("ok") as flow:
            inc.map([1, 2])
        dot = flow_to_dot(flow, flow.run())
        assert f'fillcolor="{Mapped.color}"' in node_line(dot, "inc")
        assert "2 Success" in node_line(dot, "inc")

    def test_state_without_task_states_is_rejected(self):
        flow, *_ = build()
        with pytest.raises(TypeError, match="flow_state must be the state returned by flow.run"):
            flow_to_dot(flow, Success(result=3))


class TestMermaid:
    def test_structure(self):
        flow, *_ = build()
        text = flow.to_mermaid()
        lines = text.splitlines()
        assert lines[0] == "flowchart TD"
        assert '    t0("numbers")' in lines
        assert '    t1["square"]' in lines
        assert '    t0 -.->|"x"| t1' in lines
        assert '    t1 -->|"xs"| t2' in lines
        assert not any(ln.strip().startswith("style") for ln in lines)

    def test_colours_and_counts(self):
        flow, *_ = build()
        text = flow_to_mermaid(flow, flow.run())
        assert f"    style t0 fill:{Success.color}" in text
        assert f"    style t2 fill:{TriggerFailed.color}" in text
        assert '    t1["square<br>1 Failed, 2 Success"]' in text

    def test_names_are_escaped(self):
        @task(name='say "hi" <now>')
        def odd():
            return 1

        with Flow("esc") as flow:
            odd()
        assert 't0("say #quot;hi#quot; &lt;now&gt;")' in flow.to_mermaid()

    def test_jupyter_display_of_a_flow(self):
        flow, *_ = build()
        bundle = flow._repr_mimebundle_()
        assert "flowchart TD" in bundle["text/markdown"]


class TestVisualize:
    def test_digraph(self):
        pytest.importorskip("graphviz")
        flow, *_ = build()
        graph = flow.visualize(flow.run())
        source = graph.source
        assert "t0 -> t1 [label=x style=dashed]" in source
        [square_line] = [ln for ln in source.splitlines() if ln.strip().startswith("t1 [")]
        assert "shape=box" in square_line and "1 Failed, 2 Success" in source
        [numbers_line] = [ln for ln in source.splitlines() if ln.strip().startswith("t0 [")]
        assert f'fillcolor="{Success.color}"' in numbers_line and "shape=ellipse" in numbers_line

    def test_missing_graphviz_package(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "graphviz", None)
        flow, *_ = build()
        with pytest.raises(
            ImportError, match="needs the 'graphviz' Python package: pip install graphviz"
        ):
            visualize(flow)

    def test_rendering_without_the_dot_program(self, tmp_path, monkeypatch):
        pytest.importorskip("graphviz")
        monkeypatch.setenv("PATH", str(tmp_path))
        flow, *_ = build()
        with pytest.raises(RuntimeError, match="needs Graphviz's 'dot' program"):
            flow.visualize(filename=str(tmp_path / "out"), format="png")


class TestStateTable:
    def test_flow_state_table_has_a_row_per_task(self):
        flow, *_ = build()
        html = state_to_html(flow.run())
        assert html.startswith("<table>")
        assert "<caption>Failed: Some reference tasks failed.</caption>" in html
        assert html.count("<tr>") == 4  # header + 3 tasks
        assert "<td>numbers</td>" in html and "[1, 2, 3]" in html
        assert "TriggerFailed" in html

    def test_values_are_escaped(self):
        html = state_to_html(Success(message="<b>done</b>", result="<script>"))
        assert "<b>" not in html and "&lt;b&gt;done&lt;/b&gt;" in html
        assert "&lt;script&gt;" in html

    def test_long_results_are_shortened(self):
        html = state_to_html(Success(result="x" * 500))
        assert "x" * 79 + "…" in html and "x" * 81 not in html


def test_states_display_as_html_tables_in_jupyter():
    flow, *_ = build()
    state = flow.run()
    assert state._repr_html_() == state_to_html(state)
    assert "<td>total</td>" in state._repr_html_()
    assert "<caption>Success</caption>" in Success(result=1)._repr_html_()
