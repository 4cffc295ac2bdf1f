"""The sdist: built without warnings, complete metadata, and the test suite runs from it."""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Local state of a working copy that is not part of the project.
NOT_SOURCES = {
    ".git",
    ".venv",
    ".hypothesis",
    ".benchmarks",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "build",
    "dist",
}


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    if Path(directory) == ROOT:
        ignored |= NOT_SOURCES & set(names)
    return ignored


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """``(path of the .tar.gz, build output)``, built from a copy of the working tree."""
    tmp = tmp_path_factory.mktemp("sdist")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=_ignore)
    out = tmp / "dist"
    build = (
        "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", build, str(out)],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    yield out / proc.stdout.strip().splitlines()[-1], proc.stdout + proc.stderr


def _members(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return [m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name]


def test_the_build_emits_no_deprecation_or_license_warning(sdist):
    _, output = sdist
    assert "Warning" not in output, output  # SetuptoolsDeprecationWarning and the like
    warnings = [ln for ln in output.splitlines() if "warning" in ln.lower()]
    assert not [ln for ln in warnings if "licen" in ln.lower() or "classifier" in ln.lower()]


def test_the_sdist_has_the_tests_docs_examples_and_benchmarks(sdist):
    path, _ = sdist
    assert path.name == "headwater-0.1.0.tar.gz"
    names = set(_members(path))
    for required in (
        "tests/conftest.py",
        "tests/cli/conftest.py",
        "tests/integration/test_smoke.py",
        "docs/cli.md",
        "docs/configuration.md",
        "examples/etl.py",
        "examples/data/orders.csv",
        "benchmarks/run.py",
        "README.md",
        "LICENSE",
        "pyproject.toml",
        "src/headwater/config.toml",
        "src/headwater/py.typed",
        "src/headwater/cli/__init__.py",
        "src/headwater/__main__.py",
    ):
        assert required in names, required
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_metadata(sdist):
    path, _ = sdist
    with tarfile.open(path) as tar:
        member = tar.extractfile("headwater-0.1.0/PKG-INFO")
        assert member is not None
        info = email.parser.Parser().parsestr(member.read().decode())
    assert info["License-Expression"] == "Apache-2.0"
    assert info.get_all("License-File") == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in info.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Documentation", "Source", "Issues"}
    assert all(u.startswith("https://github.com/headwater-dev/headwater") for u in urls.values())
    assert "workflow" in info["Keywords"]
    classifiers = info.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the SPDX field says it
    requires = info.get_all("Requires-Dist")
    base = [r for r in requires if "extra ==" not in r]
    assert "click>=8.1" in base
    assert not [r for r in base if r.startswith(("dask", "distributed", "pandas", "fsspec"))]
    assert 'dask>=2023.1; extra == "dask"' in requires
    assert 'distributed>=2023.1; extra == "dask"' in requires
    assert set(info.get_all("Provides-Extra")) >= {"dask", "pandas", "fsspec", "templates", "all"}


def test_the_tests_run_from_the_sdist(sdist, tmp_path):
    path, _ = sdist
    with tarfile.open(path) as tar:
        tar.extractall(tmp_path, filter="data")
    tree = tmp_path / "headwater-0.1.0"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
    env |= {"PYTHONPATH": str(tree / "src"), "HOME": str(tmp_path)}
    where = subprocess.run(
        [sys.executable, "-c", "import headwater; print(headwater.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.strip() == str(tree / "src" / "headwater" / "__init__.py"), where.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "tests/integration/test_smoke.py",
            "tests/cli/test_cli_config.py",
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
