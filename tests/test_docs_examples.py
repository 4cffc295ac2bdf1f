"""Every ```python block in docs/*.md runs: the blocks of one page run in order, as one script,
in a fresh interpreter inside a temporary directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = [DOCS.parent / "README.md"] + sorted(
    p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text())
)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_docs_page_runs(page: Path, tmp_path: Path) -> None:
    # Blocks written as interactive sessions (">>>") are doctests, run by the page's own test.
    blocks = [m.group(1) for m in BLOCK.finditer(page.read_text())]
    code = "\n\n".join(b for b in blocks if not b.lstrip().startswith(">>>"))
    script = tmp_path / f"{page.stem}_examples.py"
    script.write_text(code)
    env = {**os.environ, "HEADWATER__HOME_DIR": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"{page.name} examples failed:\n{proc.stdout}\n{proc.stderr}"


def test_examples_etl_runs() -> None:
    etl = DOCS.parent / "examples" / "etl.py"
    proc = subprocess.run([sys.executable, str(etl)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "rows loaded: 8" in proc.stdout
    assert "rates fetched after 2 attempts" in proc.stdout
