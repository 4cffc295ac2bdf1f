"""Memory-bounded runs on the process-based executors.

A map of N items through three chained mapped steps of 1 MB values and a reduce, run with
``return_tasks=[reduce]``, in a fresh interpreter. The resident memory of that process *and all
its child processes* (pool processes, cluster workers) is sampled while the flow runs: kept, the
intermediate values would add N x 2 MB; released as soon as nothing needs them, the growth stays
at a few items in flight. (LocalExecutor and the thread-based executors: see
``tests/engine/test_memory_release.py``.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("psutil")

SCRIPT = Path(__file__).parent.parent / "memory_bound_flow.py"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["processes", "distributed"])
def test_peak_memory_of_all_processes_stays_far_below_the_data_size(kind: str) -> None:
    n = 300  # kept, the intermediate values would add 600 MB
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(n), kind], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["total"] == n * 1_000_000
    assert out["returned"] == 1
    assert out["tree_growth_mb"] < 200, out
