"""``headwater run`` and ``headwater visualize``, run as a user would: in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

ENTRY = "import sys; from headwater.cli import main; sys.exit(main(sys.argv[1:]))"

FLOW = textwrap.dedent(
    """
    from pathlib import Path
    from headwater import Flow, Parameter, task

    @task
    def numbers(n):
        return list(range(n))

    @task
    def square(x):
        return x * x

    @task
    def total(xs):
        return sum(xs)

    @task
    def save(value, out):
        Path(out).write_text(str(value))

    with Flow("squares") as flow:
        n = Parameter("n", default=3)
        out = Parameter("out")
        save(total(square.map(numbers(n))), out)
    """
)

FAILING = textwrap.dedent(
    """
    from headwater import Flow, task

    @task
    def extract():
        return 1

    @task
    def load(x):
        raise RuntimeError("warehouse is down")

    with Flow("broken") as flow:
        load(extract())
    """
)


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=cwd,
    )


@pytest.fixture
def flow_file(tmp_path):
    path = tmp_path / "squares_flow.py"
    path.write_text(FLOW)
    return path


class TestRun:
    @pytest.mark.parametrize("executor", ["local", "threads", "processes", "dask"])
    def test_success(self, flow_file, tmp_path, executor):
        out = tmp_path / "result.txt"
        proc = cli("run", str(flow_file), "-p", "n=4", "-p", f"out={out}", "--executor", executor)
        assert proc.returncode == 0, proc.stderr
        assert out.read_text() == "14"  # 0 + 1 + 4 + 9: n arrived as the number 4
        lines = proc.stdout.splitlines()
        assert lines[0] == "Flow 'squares': Success (All reference tasks succeeded.)"
        by_task = {ln.split()[0]: ln for ln in lines[1:]}
        assert set(by_task) == {"n", "out", "numbers", "square", "total", "save"}
        assert "Mapped [4 Success]" in by_task["square"]
        assert "Success" in by_task["total"]

    def test_failure_exits_1_and_shows_the_error(self, tmp_path):
        path = tmp_path / "broken_flow.py"
        path.write_text(FAILING)
        proc = cli("run", str(path))
        assert proc.returncode == 1
        lines = proc.stdout.splitlines()
        assert lines[0].startswith("Flow 'broken': Failed")
        [load_line] = [ln for ln in lines if ln.strip().startswith("load")]
        assert "Failed" in load_line and "RuntimeError('warehouse is down')" in load_line
        [extract_line] = [ln for ln in lines if ln.strip().startswith("extract")]
        assert "Success" in extract_line

    def test_bad_parameter_syntax_is_a_usage_error(self, flow_file):
        proc = cli("run", str(flow_file), "-p", "n")
        assert proc.returncode == 2
        assert "parameters are given as KEY=VALUE, got 'n'" in proc.stderr

    def test_unknown_parameter_is_a_usage_error(self, flow_file, tmp_path):
        proc = cli("run", str(flow_file), "-p", f"out={tmp_path / 'x'}", "-p", "colour=red")
        assert proc.returncode == 2
        assert "unknown parameter(s): colour (flow 'squares' takes: n, out)" in proc.stderr
        assert "-p KEY=VALUE" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1

    def test_missing_required_parameter_is_a_usage_error(self, flow_file):
        proc = cli("run", str(flow_file))
        assert proc.returncode == 2
        assert proc.stderr.strip() == (
            "headwater run: flow 'squares' needs parameter(s) out: pass -p out=VALUE"
        )

    def test_missing_file_is_a_usage_error(self, tmp_path):
        proc = cli("run", str(tmp_path / "nope.py"))
        assert proc.returncode == 2
        assert "nope.py' does not exist" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1

    def test_script_that_raises(self, tmp_path):
        path = tmp_path / "raises.py"
        path.write_text("raise RuntimeError('cannot build')\n")
        proc = cli("run", str(path))
        assert proc.returncode == 1
        assert "raised RuntimeError('cannot build')" in proc.stderr
        assert "Traceback" not in proc.stderr

    def test_choosing_among_several_flows(self, tmp_path):
        path = tmp_path / "two_flows.py"
        path.write_text(FAILING + "\nfrom headwater import Flow as _F\nempty = _F('empty')\n")
        proc = cli("run", str(path))
        assert proc.returncode == 2
        assert "several flows ('broken', 'empty'); choose one with --flow NAME" in proc.stderr
        chosen = cli("run", str(path), "--flow", "empty")
        assert chosen.returncode == 0, chosen.stderr
        assert chosen.stdout.startswith("Flow 'empty': Success")

    def test_bad_executor_name(self, flow_file):
        proc = cli("run", str(flow_file), "--executor", "cluster")
        assert proc.returncode == 2
        assert "invalid choice: 'cluster'" in proc.stderr


class TestVisualize:
    def test_mermaid_is_the_default(self, flow_file):
        proc = cli("visualize", str(flow_file))
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0] == "flowchart TD"
        assert any("-.->" in ln for ln in lines)  # the mapped edge into square

    def test_dot(self, flow_file):
        proc = cli("visualize", str(flow_file), "--format", "dot")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith('digraph "squares" {')
        assert 'label="square", shape=box' in proc.stdout

    def test_visualize_does_not_run_the_flow(self, flow_file, tmp_path):
        proc = cli("visualize", str(flow_file))
        assert proc.returncode == 0
        assert "Beginning Flow run" not in proc.stderr


@pytest.mark.parametrize("module", ["headwater", "headwater.cli"])
def test_python_dash_m_entry_point(flow_file, module):
    proc = subprocess.run(
        [sys.executable, "-m", module, "visualize", str(flow_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("flowchart TD")
