"""examples/incremental.py: the first run computes, the second skips, editing a task recomputes it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "incremental.py"
ORIGINAL = "return [round(c * 9 / 5 + 32, 1) for c in readings]"
EDITED = "return [round(c * 9 / 5 + 32) for c in readings]"
DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]


def run(script: Path) -> tuple[dict[str, str], list[str]]:
    """Run the example; return ``{"clean[2024-03-01]": "computed", ...}`` and the report lines."""
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    steps, report = {}, []
    for line in proc.stdout.splitlines():
        head, _, tail = line.partition(": ")
        if head.startswith(("download[", "clean[")):
            steps[head] = tail
        else:
            report.append(line)
    assert len(steps) == 6, proc.stdout
    return steps, report


def statuses(steps: dict[str, str], task: str) -> list[str]:
    return [steps[f"{task}[{day}]"] for day in DAYS]


def test_compute_skip_recompute(tmp_path: Path) -> None:
    script = tmp_path / "incremental.py"
    shutil.copy(EXAMPLE, script)
    results = tmp_path / "incremental-results"

    steps, first_report = run(script)
    assert set(steps.values()) == {"computed"}
    assert len(first_report) == 3 and all(" F" in line for line in first_report)
    assert sorted(p.name for p in (results / "raw").iterdir()) == [f"{d}.json" for d in DAYS]
    first_clean = sorted(p.name for p in (results / "clean").iterdir())
    assert len(first_clean) == 3

    steps, second_report = run(script)
    assert set(steps.values()) == {"skipped (cached)"}
    assert second_report == first_report  # built from the values read back from the files

    source = script.read_text()
    assert ORIGINAL in source
    script.write_text(source.replace(ORIGINAL, EDITED))
    steps, third_report = run(script)
    assert statuses(steps, "download") == ["skipped (cached)"] * 3
    assert statuses(steps, "clean") == ["computed"] * 3
    assert third_report != first_report
    new_clean = sorted(set(p.name for p in (results / "clean").iterdir()) - set(first_clean))
    assert len(new_clean) == 3
    for name in new_clean:
        assert all(isinstance(v, int) for v in json.loads((results / "clean" / name).read_text()))

    # Back to the original code: its results are still there, nothing runs.
    script.write_text(source)
    steps, fourth_report = run(script)
    assert set(steps.values()) == {"skipped (cached)"}
    assert fourth_report == first_report
