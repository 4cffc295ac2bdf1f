"""The Quickstart's first command (``python examples/etl.py``) reads well at the default level:
what it does, the retry as one warning line, the result at the end, in under 25 lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_quickstart_demo_output(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__LOGGING__")}
    env["HEADWATER__HOME_DIR"] = str(tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "etl.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, in the order a terminal shows them
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    assert len(lines) < 25, proc.stdout
    assert lines[0].startswith("orders-etl: read examples/data/orders.csv"), lines[0]
    [warning] = [line for line in lines if " WARNING - " in line]
    assert "Task 'fetch_rates': attempt 1 of 3 failed, retrying in 0.2 s: ConnectionError: " in (
        warning
    )
    assert "Traceback" not in proc.stdout and "ERROR" not in proc.stdout
    result = next(i for i, line in enumerate(lines) if line.startswith("Result: Success"))
    assert "rates fetched after 2 attempts; rows loaded: 8" in lines[result]
    assert lines[result + 1].startswith("Totals per customer in EUR")
    assert len(lines) == result + 2 + 4  # the four customers' totals end the output
    assert "Flow run SUCCESS" in lines[result - 1]  # the log ends before the result
