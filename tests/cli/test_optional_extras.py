"""The base install needs no dask; a feature used without its extra names the extra to install.

The subprocesses here block optional packages by putting ``None`` in ``sys.modules`` before
headwater is imported, as if they were not installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from headwater.utilities.imports import EXTRAS, MissingExtraError, install_hint, require

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("dask", "distributed", "pandas", "fsspec", "jinja2")
BLOCK = "import sys\nfor _m in {mods!r}:\n    sys.modules[_m] = None\n"

LOCAL_FLOW = """
from headwater import Flow, Parameter, task

@task
def double(x):
    return 2 * x

@task
def total(xs):
    return sum(xs)

with Flow("local") as flow:
    total(double.map([1, 2, 3]))
"""


def python(code: str, *, blocked: tuple[str, ...] = (), timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter with ``blocked`` modules unimportable; its stdout."""
    script = BLOCK.format(mods=blocked) + textwrap.dedent(code)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# ------------------------------------------------------------------------- no dask needed --
def test_import_headwater_and_a_local_run_never_import_dask():
    out = python(
        LOCAL_FLOW
        + """
import headwater.cli
state = flow.run()
assert state.is_successful(), state
print(sorted(m for m in ("dask", "distributed") if m in sys.modules))
"""
    )
    assert out.strip() == "[]"


def test_headwater_run_on_the_local_executor_never_imports_dask(tmp_path):
    path = tmp_path / "local_flow.py"
    path.write_text(LOCAL_FLOW)
    out = python(
        f"""
        import io
        from headwater.cli import main
        code = main(["run", {str(path)!r}, "-q"], stdout=io.StringIO())
        print(code, sorted(m for m in ("dask", "distributed") if m in sys.modules))
        """
    )
    assert out.strip() == "0 []"


def test_without_any_extra_local_flows_and_the_command_line_work(tmp_path):
    path = tmp_path / "local_flow.py"
    path.write_text(LOCAL_FLOW)
    out = python(
        f"""
        import io
        from headwater.cli import main
        buffer = io.StringIO()
        print(main(["run", {str(path)!r}, "--json", "-q"], stdout=buffer))
        print(main(["config", "show"], stdout=io.StringIO()))
        print(main(["visualize", {str(path)!r}], stdout=io.StringIO()))
        """,
        blocked=OPTIONAL,
    )
    assert out.split() == ["0", "0", "0"]


@pytest.mark.parametrize("executor", ["sync", "threads", "processes", "dask", "tcp://127.0.0.1:1"])
def test_a_dask_executor_without_the_extra_is_one_line_naming_it(headwater, tmp_path, executor):
    path = tmp_path / "local_flow.py"
    path.write_text(LOCAL_FLOW)
    proc = headwater(
        "run", str(path), "--executor", executor, prelude=BLOCK.format(mods=("dask", "distributed"))
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line == (
        f"headwater: --executor {executor} needs dask, which is not installed; "
        'install it with pip install "headwater[dask]"'
    )


# -------------------------------------------------------------------------------- require --
class TestRequire:
    def test_returns_the_module(self):
        import json

        assert require("json", "all") is json

    @pytest.mark.parametrize("module", ["dask", "dask.base", "distributed"])
    def test_a_missing_module_names_the_extra(self, monkeypatch, module):
        for name in ("dask", "dask.base", "distributed"):
            monkeypatch.setitem(sys.modules, name, None)
        with pytest.raises(MissingExtraError) as info:
            require(module, feature="LocalDaskExecutor")
        top = module.partition(".")[0]
        assert str(info.value) == (
            f"LocalDaskExecutor needs {top}, which is not installed; "
            'install it with pip install "headwater[dask]"'
        )
        assert isinstance(info.value, ImportError)
        assert info.value.name == module

    def test_the_extra_defaults_from_the_table(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "jinja2", None)
        with pytest.raises(ImportError, match=r'pip install "headwater\[templates\]"'):
            require("jinja2")
        assert EXTRAS["pandas"] == "pandas" and EXTRAS["distributed"] == "dask"
        assert install_hint("fsspec") == 'pip install "headwater[fsspec]"'

    def test_a_broken_installed_package_keeps_its_own_error(self, monkeypatch, tmp_path):
        (tmp_path / "hw_broken_extra.py").write_text("import hw_missing_dependency\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        try:
            with pytest.raises(ModuleNotFoundError) as info:
                require("hw_broken_extra", "dask")
            assert not isinstance(info.value, MissingExtraError)
            assert info.value.name == "hw_missing_dependency"
        finally:
            sys.modules.pop("hw_broken_extra", None)


# ------------------------------------------------- features of the library without extras --
def _outcome(code: str, blocked: tuple[str, ...]) -> str:
    """What ``code`` ends with: its ``print``ed output, or ``raised ImportError: <message>``
    (``raised <type>: <message>`` for an exception that is not an ``ImportError``)."""
    wrapped = (
        "try:\n"
        + textwrap.indent(textwrap.dedent(code), "    ")
        + (
            "\nexcept Exception as exc:\n"
            "    kind = 'ImportError' if isinstance(exc, ImportError) else type(exc).__name__\n"
            "    print(f'raised {kind}: {exc}')\n"
        )
    )
    return python(wrapped, blocked=blocked).strip()


def test_jinja_templates_without_the_extra():
    out = _outcome(
        """
        from headwater.tasks.templates import JinjaTemplate
        JinjaTemplate(template="{{ x }}").run(x=1)
        """,
        ("jinja2",),
    )
    assert out.startswith("raised ImportError") and 'pip install "headwater[templates]"' in out


def test_fsspec_results_without_the_extra():
    out = _outcome(
        """
        from headwater.engine.results import FSSpecResult
        FSSpecResult(location="memory://x").write(1)
        """,
        ("fsspec",),
    )
    assert out.startswith("raised ImportError") and "headwater[fsspec]" in out


@pytest.mark.parametrize("executor", ["LocalDaskExecutor()", "DaskExecutor()"])
def test_dask_executors_without_the_extra_name_it(executor):
    out = _outcome(
        LOCAL_FLOW
        + f"""
from headwater.executors import DaskExecutor, LocalDaskExecutor
state = flow.run(executor={executor})
print(f"state {{type(state).__name__}}: {{state.message}}")
""",
        ("dask", "distributed"),
    )
    assert 'pip install "headwater[dask]"' in out


def test_pandas_serializer_without_the_extra_names_it():
    out = _outcome(
        """
        from headwater.engine.serializers import PandasSerializer
        PandasSerializer("csv").deserialize(b"a\\n1\\n")
        """,
        ("pandas",),
    )
    assert out.startswith("raised ImportError") and 'pip install "headwater[pandas]"' in out


def test_cached_tasks_run_without_dask():
    out = _outcome(
        """
        import datetime
        from headwater import Flow, task

        @task(cache_for=datetime.timedelta(minutes=1))
        def cached(x):
            return x + 1

        with Flow("cached") as flow:
            cached(1)
        print(flow.run())
        print(flow.run())
        """,
        ("dask", "distributed"),
    )
    assert out.splitlines() == ['<Success: "All reference tasks succeeded.">'] * 2


# ---------------------------------------------------------------------------- the metadata --
def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_base_install_has_only_what_local_flows_need():
    names = {d.split(">")[0].split("[")[0].strip().lower() for d in _project()["dependencies"]}
    assert "click" in names
    assert not names & {"dask", "distributed", "pandas", "fsspec", "jinja2"}
    assert "click>=8.1" in _project()["dependencies"]


def test_the_extras():
    extras = _project()["optional-dependencies"]
    assert {d.split(">")[0] for d in extras["dask"]} == {"dask", "distributed"}
    assert [d.split(">")[0] for d in extras["pandas"]] == ["pandas"]
    assert [d.split(">")[0] for d in extras["fsspec"]] == ["fsspec"]
    assert [d.split(">")[0] for d in extras["templates"]] == ["jinja2"]
    assert [d.split(">")[0] for d in extras["postgres"]] == ["psycopg[binary]"]
    assert {d.split(">")[0] for d in extras["ui"]} == {"starlette", "uvicorn", "jinja2"}
    assert extras["all"] == ["headwater[dask,fsspec,pandas,postgres,templates,ui]"]
    assert "headwater[all]" in extras["test"]  # the test suite needs every extra
    assert set(EXTRAS.values()) <= set(extras)
