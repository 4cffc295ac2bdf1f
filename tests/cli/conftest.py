"""Running the ``headwater`` command as a user would: ``python -m headwater`` in a subprocess,
with a temporary home directory and no ``HEADWATER__`` variables but the ones a test sets."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

Runner = Callable[..., subprocess.CompletedProcess[str]]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a command: this one without ``HEADWATER__`` variables, ``HOME`` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
    env["HOME"] = str(home)
    env.update(extra)
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def headwater(tmp_path: Path, home: Path) -> Runner:
    """``headwater(*args, env={...}, cwd=..., prelude="...")`` runs the command line.

    ``prelude`` is Python run before the command (e.g. to block an import); without it the
    command runs as ``python -m headwater``.
    """

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        prelude: str | None = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        if prelude is None:
            command = [sys.executable, "-m", "headwater", *args]
        else:
            code = prelude + "\nimport sys\nfrom headwater.cli import main\nsys.exit(main())\n"
            command = [sys.executable, "-c", code, *args]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or tmp_path,
            env=clean_env(home, **(env or {})),
        )

    return run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write(name, source)`` writes a dedented script into the test's directory."""

    def write_file(name: str, source: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return path

    return write_file
