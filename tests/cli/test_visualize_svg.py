"""A flow drawn as SVG by headwater itself: ``headwater visualize --format svg``,
``Flow.to_svg()``, and ``flow.visualize()`` on a machine without Graphviz's ``dot`` program."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from headwater import Flow, task

FLOW = textwrap.dedent(
    """
    from headwater import Flow, task

    @task
    def numbers():
        return [1, 2, 3]

    @task
    def square(x):
        return x * x

    with Flow("squares") as flow:
        square.map(numbers())
    """
)

SVG_NS = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


@pytest.fixture
def flow_file(tmp_path):
    path = tmp_path / "squares.py"
    path.write_text(FLOW)
    return path


def _python(code: str, cwd, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_to_svg_draws_every_task_and_colours_a_run():
    @task
    def one() -> int:
        return 1

    @task
    def inc(x: int) -> int:
        return x + 1

    with Flow("drawn") as flow:
        inc(one())
    svg = flow.to_svg()
    texts = _texts(svg)
    assert "one" in texts and "inc" in texts
    state = flow.run()
    coloured = flow.to_svg(state)
    assert coloured != svg and _texts(coloured)


def test_the_command_line_prints_the_svg(flow_file, tmp_path):
    code = "import sys; from headwater.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, "visualize", str(flow_file), "--format", "svg"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert {"numbers", "square"} <= set(_texts(proc.stdout))
    assert "Beginning Flow run" not in proc.stderr


def test_visualize_without_dot_says_so_in_one_line_and_shows_the_svg(flow_file, tmp_path):
    pytest.importorskip("graphviz")
    empty = tmp_path / "bin"
    empty.mkdir()  # a PATH without Graphviz's dot program
    code = textwrap.dedent(
        f"""
        import runpy
        flow = runpy.run_path({str(flow_file)!r})["flow"]
        graph = flow.visualize()
        bundle = graph._repr_mimebundle_()
        assert bundle["image/svg+xml"] == flow.to_svg(), "not headwater's drawing"
        flow.visualize(filename="drawing")
        print(open("drawing.svg").read() == flow.to_svg())
        """
    )
    proc = _python(code, tmp_path, str(empty))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr  # one line for each call
    assert "Traceback" not in proc.stderr
    assert all("'dot' program is not on PATH" in line for line in lines)
    assert "displays as headwater's own SVG drawing" in lines[0]
    assert "drawing.svg" in lines[1]
