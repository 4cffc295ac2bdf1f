"""Every ```python block of the documentation runs on its own.

Each ```python block of every page under ``docs/`` and of ``README.md`` is written to a file and
run alone, in a fresh interpreter whose working directory and ``HOME`` are new temporary
directories, with no ``HEADWATER__`` variable set: a block cannot lean on an earlier block of
its page, on the repository's files or on the user's configuration. The blocks run in parallel
subprocesses; each is one test, named ``page:line`` after the line of its opening fence.

A block that cannot run alone says so in the page, on the line before its fence::

    <!-- no-run: needs a distributed scheduler at tcp://10.0.0.5:8786 -->
    ```python
    ...

Such blocks are reported as skipped with their reason, and listed at the end of the session.
Interactive sessions (```pycon, lines starting with ``>>>``) are doctests: the pages holding
them are run by the doctest named in :data:`DOCTESTED`. (``tests/test_docs_examples.py`` also
runs each top-level page's blocks in order, as one script.)
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
RUNNABLE = {"python", "py", "python3"}
SESSION = {"pycon"}
#: pages with interactive sessions, and the test that runs them as doctests
DOCTESTED = {"docs/schedules.md": "tests/schedules/test_schedule_docs.py"}
TIMEOUT = 240  # seconds, for one block

OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
NO_RUN = re.compile(r"^\s*<!--\s*no-run\s*:?\s*(?P<reason>.*?)\s*-->\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str  # relative to the repository
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    no_run: str | None  # the reason given by a ``no-run`` comment, if any

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def parse_blocks(text: str, page: str = "page.md") -> list[Block]:
    """The fenced code blocks of a Markdown text, with their ``no-run`` reasons."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        opening = OPEN.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        body, j = [], i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        previous = next((ln for ln in reversed(lines[:i]) if ln.strip()), "")
        marker = NO_RUN.match(previous)
        language = info.split()[0].lstrip("{.").lower() if info else ""
        no_run = marker["reason"] if marker else None
        blocks.append(Block(page, i + 1, language, "\n".join(body) + "\n", no_run))
        i = j + 1
    return blocks


def page_blocks(path: Path) -> list[Block]:
    return parse_blocks(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())


ALL_BLOCKS = [block for page in PAGES for block in page_blocks(page)]
PYTHON_BLOCKS = [b for b in ALL_BLOCKS if b.language in RUNNABLE]


# ------------------------------------------------------------------------- the parser itself --
def test_the_parser_finds_blocks_languages_and_reasons() -> None:
    text = (
        "Intro\n\n```python\nprint(1)\n```\n\n<!-- no-run: needs a cluster -->\n"
        '```python title="x.py"\nconnect()\n```\n\n- item\n\n    ```py\n    x = 1\n    ```\n'
        "````markdown\n```python\nnot a block\n```\n````\n```pycon\n>>> 1\n1\n```\n"
    )
    blocks = parse_blocks(text)
    assert [(b.language, b.line, b.no_run) for b in blocks] == [
        ("python", 3, None),
        ("python", 8, "needs a cluster"),
        ("py", 14, None),
        ("markdown", 17, None),
        ("pycon", 22, None),
    ]
    assert blocks[2].code == "x = 1\n"
    assert blocks[3].code == "```python\nnot a block\n```\n"


def test_blocks_are_found_on_every_page_that_has_them() -> None:
    pages = {b.page for b in PYTHON_BLOCKS}
    assert {"README.md", "docs/getting-started.md", "docs/caching.md"} <= pages
    assert len(PYTHON_BLOCKS) > 100


# ------------------------------------------------------------- how blocks are marked up --
def test_no_run_markers_give_a_reason_and_precede_a_python_block() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        lines = text.splitlines()
        blocks = {b.line: b for b in page_blocks(page)}
        for number, line in enumerate(lines, start=1):
            marker = NO_RUN.match(line)
            if not marker:
                continue
            where = f"{page.relative_to(ROOT)}:{number}"
            assert marker["reason"], f"{where}: a no-run comment must say why"
            following = next(
                (n for n in range(number + 1, len(lines) + 1) if lines[n - 1].strip()), None
            )
            block = blocks.get(following or -1)
            assert block is not None and block.language in RUNNABLE, (
                f"{where}: a no-run comment must be right before a ```python block"
            )


def test_interactive_sessions_are_pycon_blocks_run_as_doctests() -> None:
    for block in PYTHON_BLOCKS:
        assert not block.code.lstrip().startswith(">>>"), (
            f"{block.where}: an interactive session (>>>) belongs in a ```pycon block"
        )
    for page in sorted({b.page for b in ALL_BLOCKS if b.language in SESSION}):
        assert page in DOCTESTED, f"{page} has ```pycon blocks: name the doctest that runs them"
        doctest_file = ROOT / DOCTESTED[page]
        assert doctest_file.is_file(), doctest_file
        assert Path(page).name in doctest_file.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- running them --
@dataclasses.dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str


def run_block(block: Block) -> Outcome:
    """Run one block alone in a fresh interpreter, in new temporary directories."""
    with tempfile.TemporaryDirectory(prefix="docs-block-", ignore_cleanup_errors=True) as tmp:
        work, home = Path(tmp, "work"), Path(tmp, "home")
        work.mkdir()
        home.mkdir()
        script = work / "block.py"
        script.write_text(block.code, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
        env |= {"HOME": str(home), "TMPDIR": tmp, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            proc = subprocess.run(
                [sys.executable, str(script)],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            return Outcome(-1, f"timed out after {TIMEOUT} s\n{exc.stdout}\n{exc.stderr}")
        return Outcome(proc.returncode, f"{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, docs_summary: list[str]) -> dict[str, Outcome]:
    """Every selected runnable block's outcome, run in parallel subprocesses."""
    selected = {
        item.callspec.params["block"].where
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_block_runs_on_its_own"
    }
    todo = [b for b in PYTHON_BLOCKS if b.where in selected and b.no_run is None]
    workers = 2 * (os.cpu_count() or 2)  # many blocks wait (sleeps, subprocesses, clusters)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = dict(zip([b.where for b in todo], pool.map(run_block, todo), strict=True))
    skipped = [b for b in PYTHON_BLOCKS if b.where in selected and b.no_run is not None]
    failed = sum(1 for o in results.values() if o.returncode != 0)
    sessions = [b for b in ALL_BLOCKS if b.language in SESSION]
    docs_summary.append(
        f"{len(results)} python blocks run alone ({failed} failed), {len(skipped)} marked "
        f"no-run, {len(sessions)} interactive sessions left to their pages' doctests"
    )
    docs_summary.extend(f"  no-run {b.where}: {b.no_run}" for b in skipped)
    return results


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.where for b in PYTHON_BLOCKS])
def test_block_runs_on_its_own(block: Block, outcomes: dict[str, Outcome]) -> None:
    if block.no_run is not None:
        pytest.skip(f"no-run: {block.no_run}")
    outcome = outcomes[block.where]
    assert outcome.returncode == 0, (
        f"{block.where}: the block exited {outcome.returncode} when run on its own.\n"
        f"--- block ---\n{block.code}--- output ---\n{outcome.output[-4000:]}"
    )
