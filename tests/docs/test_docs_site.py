"""The documentation site builds, and what its pages claim holds.

- ``mkdocs build --strict`` succeeds (broken links, missing anchors, pages left out of the nav,
  API pages whose ``::: module`` cannot be documented: all fail it);
- the getting-started tutorial works when followed to the letter: its files are written and its
  commands run, in order, in one new folder;
- the migration tables name only what exists: every name in their headwater column that is
  marked as existing imports, and every name marked as not built yet does not.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```", re.S | re.M)
TITLE = re.compile(r'title="(?P<title>[^"]+)"')


def resolves(path: str) -> bool:
    """Whether a dotted path names a module or an attribute reachable from one."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def clean_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
    bin_dir = os.path.dirname(sys.executable)
    return env | {
        "HOME": str(home),
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "NO_MKDOCS_2_WARNING": "1",
    }


# ----------------------------------------------------------------------------- the build --
def test_mkdocs_build_strict_succeeds(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    for page in ("index.html", "getting-started/index.html", "concepts/states/index.html"):
        assert (site / page).is_file(), page
    api = (site / "api" / "flow" / "index.html").read_text(encoding="utf-8")
    assert 'id="headwater.core.flow.Flow.run"' in api  # the docstrings were rendered
    links = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "https://github.com/headwater-dev/headwater/blob/main/examples/etl.py" in links


def test_every_api_directive_names_an_importable_object() -> None:
    for page in sorted((DOCS / "api").glob("*.md")):
        for target in re.findall(r"^::: (\S+)", page.read_text(encoding="utf-8"), re.M):
            assert resolves(target), f"{page.name}: ::: {target} does not import"


# ------------------------------------------------------------------ the tutorial, followed --
def tutorial_steps(text: str) -> tuple[dict[str, str], list[tuple[str, list[str]]]]:
    """The files a page has you write (blocks titled ``name.py``) and its console commands."""
    files: dict[str, str] = {}
    commands: list[tuple[str, list[str]]] = []
    for match in FENCE.finditer(text):
        info, body = match["info"].strip(), match["body"]
        title = TITLE.search(info)
        if info.startswith("python") and title and title["title"].endswith(".py"):
            files[title["title"]] = body
        elif info == "console":
            for line in body.splitlines():
                if line.startswith("$ "):
                    commands.append((line[2:], []))
                elif commands:
                    commands[-1][1].append(line)
    return files, commands


def test_the_getting_started_tutorial_works_as_written(tmp_path: Path) -> None:
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    files, commands = tutorial_steps(text)
    assert {"hello.py", "test_hello.py"} <= set(files)
    work = tmp_path / "work"
    work.mkdir()
    for name, body in files.items():
        (work / name).write_text(body, encoding="utf-8")
    env = clean_env(tmp_path)
    ran = 0
    for command, expected in commands:
        if "pip install" in command:
            continue  # the package is installed already
        proc = subprocess.run(
            ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=240
        )
        assert proc.returncode == 0, f"{command!r} exited {proc.returncode}:\n{proc.stderr}"
        shown = {line.strip() for line in (proc.stdout + proc.stderr).splitlines()}
        for line in expected:
            if line.strip() and not line.startswith("[") and line.strip() != "...":
                assert line.strip() in shown, f"{command!r} did not print {line!r}:\n{proc.stdout}"
        ran += 1
    assert ran >= 5

    # the notebook cells, with what a notebook would display
    cells = [
        m["body"]
        for m in FENCE.finditer(text)
        if (t := TITLE.search(m["info"])) and "cell" in t["title"]
    ]
    assert len(cells) == 2
    mermaid = next(m["body"] for m in FENCE.finditer(text) if m["info"].strip() == "mermaid")
    check = (
        "\n".join(cells)
        + "\nassert {'text/html', 'text/markdown'} & set(flow._repr_mimebundle_())\n"
        + f"assert flow.to_mermaid().strip() == {mermaid.strip()!r}, flow.to_mermaid()\n"
        + "assert '<table' in state._repr_html_() and 'HELLO, ADA!' in state._repr_html_()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", check],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------- the migration tables --
def table_rows(page: Path) -> list[tuple[str, str, str, str]]:
    """``(prefect names, headwater name, status, why)`` of each row of a page's tables."""
    rows = []
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`prefect"):
            rows.append((cells[0], cells[1], cells[2], cells[3]))
    return rows


def headwater_name(cell: str) -> str | None:
    found = re.fullmatch(r"`(headwater[\w.]*)`", cell)
    assert found or cell == "—", f"the headwater column holds one `name` or —, not {cell!r}"
    return found[1] if found else None


def is_stand_in(path: str) -> bool:
    """Whether ``path`` names one of the stand-ins for Prefect's server (they raise)."""
    from headwater._server_only import ServerOnly

    module, _, attr = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        return False
    if isinstance(obj, type):
        return issubclass(obj, ServerOnly)
    return callable(obj) and "Needs a Prefect server" in (obj.__doc__ or "")


def test_the_prefect1_table_names_only_what_exists() -> None:
    page = DOCS / "migration" / "prefect1.md"
    rows = table_rows(page)
    names = [n for row in rows for n in re.findall(r"`(prefect[\w.]*)`", row[0])]
    assert len(names) == len(set(names)), "a Prefect name is listed twice"
    assert len(names) >= 570  # every name of the 1.4.1 packages' __init__ files, and more
    for prefect_names, cell, status, why in rows:
        assert status in {"same", "different", "not applicable"}, (prefect_names, status)
        assert why, f"{prefect_names}: say why"
        name = headwater_name(cell)
        if status in {"same", "different"} and not why.startswith("not provided"):
            assert name, f"{prefect_names} is {status}: name the headwater equivalent"
        if name:
            assert resolves(name), f"{prefect_names}: {name} does not exist in headwater"
            if status != "not applicable":
                assert not is_stand_in(name), f"{prefect_names}: {name} only raises"


def test_the_prefect1_summary_counts_the_tables() -> None:
    text = (DOCS / "migration" / "prefect1.md").read_text(encoding="utf-8")
    packages, _, modules = text.partition("\n## Module names\n")
    summary = re.findall(r"^\| [^|]*\((\d+)\) \| (\d+) \| (\d+) \| (\d+)", text, re.M)
    assert len(summary) == 2, "the summary table has a row for each part"
    for part, (total, same, different, na) in zip((packages, modules), summary, strict=True):
        counts = {"same": 0, "different": 0, "not applicable": 0}
        for line in part.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 4 and cells[0].startswith("`prefect"):
                counts[cells[2]] += len(re.findall(r"`prefect[\w.]*`", cells[0]))
        assert (counts["same"], counts["different"], counts["not applicable"]) == (
            int(same),
            int(different),
            int(na),
        )
        assert sum(counts.values()) == int(total)


def test_the_prefect23_table_says_honestly_what_is_built() -> None:
    rows = table_rows(DOCS / "migration" / "prefect2-3.md")
    assert len(rows) >= 30
    for prefect_names, cell, status, why in rows:
        assert status in {
            "exists",
            "exists, Prefect 1 meaning",
            "planned",
            "not built",
            "not applicable",
        }, (prefect_names, status)
        assert why, f"{prefect_names}: say why"
        name = headwater_name(cell)
        if status.startswith("exists"):
            assert name and resolves(name), f"{prefect_names}: {name} is said to exist"
        elif name:
            assert not resolves(name), (
                f"{name} exists now: update docs/migration/prefect2-3.md ({prefect_names})"
            )
