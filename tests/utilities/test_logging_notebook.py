"""In a notebook (a real IPython kernel, run by nbclient), headwater shows warnings and the
progress bar by default, and every line once whatever logging the notebook set up."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

CELLS = [
    """
from datetime import timedelta
from headwater import Flow, context, task
from headwater.utilities.logging import get_logger
from headwater.utilities.progress import progress_bar_for

@task
def inc(x):
    return x + 1

@task(max_retries=1, retry_delay=timedelta(seconds=0))
def flaky():
    if context.get("task_run_count", 1) == 1:
        raise ConnectionError("service unavailable")
    return 1

with Flow("many") as flow:
    inc.map(list(range(200)))
    flaky()
print("level", get_logger().getEffectiveLevel(), "bar", progress_bar_for("many") is not None)
""",
    "state = flow.run()",
    """
import logging
logging.basicConfig(level=logging.INFO, format="APP %(levelname)s %(name)s: %(message)s")
get_logger().setLevel("INFO")
state = flow.run()
""",
]


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec that starts this interpreter's ipykernel."""
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "headwater-logging"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "headwater logging", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    for key in ("HEADWATER__LOGGING__LEVEL", "HEADWATER__LOGGING__NOTEBOOK_LEVEL"):
        monkeypatch.delenv(key, raising=False)
    return "headwater-logging"


def streams(kernel_name: str, cwd: Path) -> list[str]:
    """The text each cell of :data:`CELLS` printed (stdout and stderr)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source.strip()) for source in CELLS]
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name=kernel_name, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    for cell in nb.cells:
        assert all(o["output_type"] != "error" for o in cell.outputs), cell.outputs
    texts = [
        "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")
        for cell in nb.cells
    ]
    # ipykernel's streams say they are terminals (front-ends render ANSI colours): drop them
    return [re.sub(r"\x1b\[[0-9;]*m", "", text) for text in texts]


def test_a_notebook_shows_warnings_and_the_bar_then_each_line_once(
    kernel_name: str, tmp_path: Path
) -> None:
    setup, default_run, app_logging = streams(kernel_name, tmp_path)
    assert setup.strip() == "level 30 bar True"  # WARNING: the progress bar shows a run

    lines = default_run.splitlines()
    assert " INFO - " not in default_run and len(lines) == 1, default_run
    assert "WARNING - headwater.TaskRunner | Task 'flaky': attempt 1 of 2 failed" in lines[0]

    # with the notebook's own logging at INFO, its handler prints each line, once
    assert app_logging.count("Beginning Flow run for 'many'") == 1, app_logging
    assert "APP INFO headwater.FlowRunner: Beginning Flow run for 'many'" in app_logging
    assert app_logging.count("attempt 1 of 2 failed") == 1, app_logging
    assert " - headwater" not in app_logging  # headwater's own handler stood aside
