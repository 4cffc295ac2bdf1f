"""Every ```python block in docs/*.md runs: the blocks of one page run in order, as one script,
in a fresh interpreter inside a temporary directory. Every `headwater ...` command line in the
docs and the README runs as written, with a temporary home directory."""

from __future__ import annotations

import os
import re
import shutil
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


# --------------------------------------------------------------- command lines in the docs --
# A command line is a `headwater ...` (or `python -m headwater ...`) line, optionally after
# VAR=value assignments, in a console block (after "$ ") or a bash/sh/shell/untyped block.
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.S | re.M)
COMMAND = re.compile(
    r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:headwater|python -m headwater)(?:\s|$)"
)
SHELL_BLOCKS = {"", "bash", "sh", "shell", "zsh"}
# getting-started.md's commands run in the folder its tutorial builds: tests/docs/test_docs_site.py
CLI_PAGES = [DOCS.parent / "README.md"] + sorted(
    p for p in DOCS.glob("*.md") if p.name != "getting-started.md"
)


def cli_lines(text: str) -> list[str]:
    """The headwater command lines of a Markdown page, in order."""
    lines = []
    for lang, body in FENCE.findall(text):
        for raw in body.splitlines():
            if lang == "console":
                if not raw.startswith("$ "):
                    continue
                raw = raw[2:]
            elif lang not in SHELL_BLOCKS:
                continue
            if COMMAND.match(raw.strip()):
                lines.append(raw.strip())
    return lines


CLI_LINES = [(page, line) for page in CLI_PAGES for line in cli_lines(page.read_text())]


def test_cli_lines_are_found() -> None:
    pages = {page.name for page, _ in CLI_LINES}
    assert {"cli.md", "configuration.md", "storage_and_notifications.md"} <= pages
    assert cli_lines("```console\n$ headwater run x.py\nheadwater 0.1.0\n```\n") == [
        "headwater run x.py"
    ]
    assert cli_lines("```\nA=1 headwater config show\n```\n```text\nheadwater run y.py\n```\n") == [
        "A=1 headwater config show"
    ]


@pytest.mark.parametrize(
    ("page", "line"), CLI_LINES, ids=[f"{p.name}: {line}" for p, line in CLI_LINES]
)
def test_docs_cli_line_runs(page: Path, line: str, tmp_path: Path) -> None:
    root = DOCS.parent
    for token in line.split():
        path = token.partition(":")[0]
        if path.endswith(".py"):
            assert (root / path).is_file(), (
                f"{page.name}: {line!r} names {path}, which does not exist"
            )
    work = tmp_path / "work"
    shutil.copytree(
        root / "examples", work / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "headwater"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m headwater "$@"\n')
    wrapper.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
    env |= {"HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    command = line.replace("python -m headwater", f'"{sys.executable}" -m headwater', 1)
    proc = subprocess.run(
        ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, f"{page.name}: {line!r} exited {proc.returncode}:\n{proc.stderr}"
