"""examples/executors.py runs the same flow on every executor and gets the same answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "executors.py"


@pytest.mark.slow
def test_executors_example_runs_everywhere(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 5, proc.stdout
    for line in lines:
        assert "total = 30; ['where[0]', 'where[1]', 'where[2]', 'where[3]']" in line
    assert [line.endswith("ran in other processes") for line in lines] == [
        False,
        False,
        False,
        True,
        True,
    ]
