"""Code written against headwater's public API, checked by ``mypy --strict`` and pyright (strict).

``typed_flow.py`` must pass both checkers without an error (and run); every line of
``typed_flow_errors.py`` marked ``# error`` must be reported by both, and no other line. Both
files use Prefect 1's ``@task`` and ``Flow`` and Prefect 2/3's ``@flow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
GOOD = HERE / "typed_flow.py"
BAD = HERE / "typed_flow_errors.py"


def _marked_lines(path: Path) -> set[int]:
    lines = path.read_text().splitlines()
    return {i for i, line in enumerate(lines, 1) if line.rstrip().endswith("# error")}


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both checkers' findings on both files, run at the same time.

    mypy runs from the repository's root, so it reuses the cache of ``mypy --strict
    src/headwater`` (``tests/test_codebase.py`` runs it); pyright from an empty folder.
    """
    work = tmp_path_factory.mktemp("typing")
    files = [str(GOOD), str(BAD)]
    mypy = subprocess.Popen(
        [sys.executable, "-m", "mypy", "--strict", *files],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pyright = subprocess.Popen(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, *files],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    mypy_out, mypy_err = mypy.communicate(timeout=240)
    pyright_out, pyright_err = pyright.communicate(timeout=240)
    assert mypy.returncode in (0, 1), mypy_out + mypy_err  # 1: errors found (in the bad file)
    assert pyright.returncode in (0, 1), pyright_out + pyright_err
    return {"mypy": mypy_out, "pyright": json.loads(pyright_out)["generalDiagnostics"]}


def _mypy(checked: dict[str, Any], path: Path, kind: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for line in checked["mypy"].splitlines():
        name, _, rest = line.partition(":")
        number, _, message = rest.partition(":")
        if Path(name).name == path.name and message.strip().startswith(kind):
            found.setdefault(int(number), []).append(message.strip())
    return found


def _pyright(checked: dict[str, Any], path: Path, kind: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for d in checked["pyright"]:
        if Path(d["file"]).name == path.name and d["severity"] == kind:
            found.setdefault(d["range"]["start"]["line"] + 1, []).append(d["message"])
    return found


def test_the_typed_flow_passes_mypy_strict(checked: dict[str, Any]) -> None:
    assert _mypy(checked, GOOD, "error") == {}


def test_the_typed_flow_passes_pyright_strict(checked: dict[str, Any]) -> None:
    assert _pyright(checked, GOOD, "error") == {}
    assert _pyright(checked, GOOD, "warning") == {}


def test_run_has_the_function_signature(checked: dict[str, Any]) -> None:
    mypy_notes = [m for ms in _mypy(checked, GOOD, "note").values() for m in ms]
    assert 'note: Revealed type is "def (xs: list[int]) -> int"' in mypy_notes
    infos = [m for ms in _pyright(checked, GOOD, "information").values() for m in ms]
    assert 'Type of "total.run" is "(xs: list[int]) -> int"' in infos


def test_a_modern_flow_has_the_function_signature(checked: dict[str, Any]) -> None:
    mypy_notes = [m for ms in _mypy(checked, GOOD, "note").values() for m in ms]
    flow_type = "headwater.modern.flow.Flow[[values: list[int], factor: float =], float]"
    assert f'note: Revealed type is "{flow_type}"' in mypy_notes
    assert 'note: Revealed type is "def (values: list[int], factor: float =) -> float"' in (
        mypy_notes
    )
    infos = [m for ms in _pyright(checked, GOOD, "information").values() for m in ms]
    flow_type = "Flow[(values: list[int], factor: float = 1), float]"
    assert f'Type of "scaled" is "{flow_type}"' in infos
    assert f'Type of "renamed" is "{flow_type}"' in infos  # with_options keeps the type
    assert 'Type of "scaled.fn" is "(values: list[int], factor: float = 1) -> float"' in infos


def test_mypy_reports_every_mistake(checked: dict[str, Any]) -> None:
    found = _mypy(checked, BAD, "error")
    assert set(found) == _marked_lines(BAD), found


def test_pyright_reports_every_mistake(checked: dict[str, Any]) -> None:
    found = _pyright(checked, BAD, "error")
    assert set(found) == _marked_lines(BAD), found


def test_the_typed_flow_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(GOOD)], capture_output=True, text=True, timeout=120, cwd=HERE
    )
    assert proc.returncode == 0, proc.stderr
