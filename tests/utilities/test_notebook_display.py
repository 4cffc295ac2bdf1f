"""How flows and states display in Jupyter, and ``flow.visualize()`` without Graphviz's ``dot``.

The last test runs a real notebook on a real IPython kernel (nbclient, nbformat and ipykernel;
skipped when they are not installed); the kernel talks to this process over loopback only.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from headwater import Flow, task


@task
def numbers():
    return [1, 2, 3]


@task
def square(x):
    return x * x


@task
def total(xs):
    return sum(xs)


def build():
    with Flow("squares") as flow:
        total(square.map(numbers()))
    return flow


@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """A PATH on which Graphviz's ``dot`` program cannot be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def visualize_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "headwater.visualize"]


class TestFlowBundle:
    def test_svg_html_markdown_and_text(self):
        flow = build()
        bundle = flow._repr_mimebundle_()
        assert set(bundle) == {"text/html", "image/svg+xml", "text/markdown", "text/plain"}
        assert ET.fromstring(bundle["image/svg+xml"]).tag == "{http://www.w3.org/2000/svg}svg"
        assert (
            bundle["text/html"] == f'<div style="overflow-x: auto">{bundle["image/svg+xml"]}</div>'
        )
        assert bundle["text/markdown"].startswith("```mermaid\nflowchart TD")
        assert bundle["text/plain"] == "<Flow: name='squares'>"

    def test_include_and_exclude_are_honoured(self):
        flow = build()
        assert set(flow._repr_mimebundle_(include={"image/svg+xml", "text/plain"})) == {
            "image/svg+xml",
            "text/plain",
        }
        assert "text/html" not in flow._repr_mimebundle_(exclude={"text/html"})

    def test_ipython_formats_a_flow_with_all_of_them(self):
        formatter = pytest.importorskip("IPython.core.formatters")
        data, _ = formatter.DisplayFormatter().format(build())
        assert {"text/html", "image/svg+xml", "text/markdown", "text/plain"} <= set(data)


class TestVisualizeWithoutDot:
    def test_says_so_in_one_line_and_displays_as_headwaters_svg(self, no_dot, caplog):
        pytest.importorskip("graphviz")
        flow = build()
        with caplog.at_level(logging.WARNING, logger="headwater"):
            graph = flow.visualize()
        assert visualize_lines(caplog) == [
            "Graphviz's 'dot' program is not on PATH: flow 'squares' displays as headwater's "
            "own SVG drawing"
        ]
        assert all(r.exc_info is None for r in caplog.records)
        assert "t0 -> t1" in graph.source  # still a Digraph
        bundle = graph._repr_mimebundle_()
        assert set(bundle) == {"image/svg+xml", "text/plain"}
        ET.fromstring(bundle["image/svg+xml"])

    @pytest.mark.parametrize("fmt", [None, "svg"])
    def test_a_rendering_writes_the_svg_next_to_the_name_given(self, no_dot, tmp_path, caplog, fmt):
        pytest.importorskip("graphviz")
        target = tmp_path / "drawing"
        with caplog.at_level(logging.WARNING, logger="headwater"):
            build().visualize(filename=str(target), format=fmt)
        written = tmp_path / "drawing.svg"
        ET.parse(written)
        assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["drawing.svg"]
        assert visualize_lines(caplog) == [
            f"Graphviz's 'dot' program is not on PATH: wrote headwater's own SVG drawing of flow "
            f"'squares' to {str(written)!r}"
        ]

    def test_the_graph_pickles_as_a_plain_digraph(self, no_dot):
        graphviz = pytest.importorskip("graphviz")
        import pickle

        graph = pickle.loads(pickle.dumps(build().visualize()))
        assert type(graph) is graphviz.Digraph

    def test_with_dot_graphviz_renders(self, tmp_path, monkeypatch):
        pytest.importorskip("graphviz")
        fake = tmp_path / "bin" / "dot"  # a stand-in dot that prints a fixed SVG
        fake.parent.mkdir()
        fake.write_text(
            "#!/bin/sh\nwhile IFS= read -r line; do :; done\n"
            'echo \'<svg xmlns="http://www.w3.org/2000/svg" id="from-dot"/>\'\n'
        )
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", str(fake.parent))
        graph = build().visualize()
        assert graph.headwater_svg is None
        assert 'id="from-dot"' in graph._repr_mimebundle_()["image/svg+xml"]


# -- a real kernel -----------------------------------------------------------------------------
NOTEBOOK_CELLS = [
    """
from headwater import Flow, task

@task
def numbers():
    return [1, 2, 3]

@task
def square(x):
    return x * x

@task
def total(xs):
    return sum(xs)

with Flow("squares <demo>") as flow:
    total(square.map(numbers()))
""",
    "flow",
    "state = flow.run()\nstate",
    "flow.visualize()",
]


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernel spec that starts this interpreter's ipykernel (whatever ``python`` is on PATH)."""
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "headwater-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "headwater test", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "headwater-test"


def run_notebook(kernel_name: str, cells: list[str], cwd: Path) -> list[list[dict]]:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source.strip()) for source in cells]
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name=kernel_name, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return [cell.outputs for cell in nb.cells]


def test_a_notebook_shows_the_flow_as_svg_and_the_state_as_a_table(
    kernel_name, headwater_home, tmp_path
):
    outputs = run_notebook(kernel_name, NOTEBOOK_CELLS, tmp_path)
    assert all(o["output_type"] != "error" for cell in outputs for o in cell)

    [shown] = [o for o in outputs[1] if o["output_type"] == "execute_result"]
    svg = shown["data"]["image/svg+xml"]
    root = ET.fromstring(svg)
    assert root.find("{http://www.w3.org/2000/svg}title").text == "squares <demo>"
    assert "&lt;demo&gt;" in svg and shown["data"]["text/plain"] == "<Flow: name='squares <demo>'>"
    assert svg in shown["data"]["text/html"]

    [table] = [o for o in outputs[2] if o["output_type"] == "execute_result"]
    html = table["data"]["text/html"]
    assert html.startswith("<table>") and "<caption>Success" in html
    assert all(f"<td>{name}</td>" in html for name in ("numbers", "square", "total"))
    logged = "".join(o.get("text", "") for o in outputs[2] if o["output_type"] == "stream")
    assert "Beginning Flow run" not in logged  # a notebook shows warnings, not INFO lines

    [drawn] = [o for o in outputs[3] if o["output_type"] == "execute_result"]
    ET.fromstring(drawn["data"]["image/svg+xml"])
    if shutil.which("dot") is None:  # said in one line, without a traceback
        said = "".join(o.get("text", "") for o in outputs[3] if o["output_type"] == "stream")
        assert said.count("\n") == 1 and "Graphviz's 'dot' program is not on PATH" in said
