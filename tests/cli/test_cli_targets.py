"""``headwater run TARGET``: FILE, FILE:NAME, MODULE:NAME, MODULE, ``--flow NAME``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from headwater.cli._load import Target, parse_target, returns_flow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BUILDERS = """
from headwater import Flow, task

@task
def one():
    return 1

def build_flow() -> Flow:
    with Flow("built") as flow:
        one()
    return flow

def helper(x) -> Flow:  # needs an argument: not a flow builder
    return Flow(str(x))

def unannotated():
    return Flow("hidden")
"""


def first_line(proc) -> str:
    return proc.stdout.splitlines()[0] if proc.stdout else ""


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_runs_as_written(example, headwater, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(EXAMPLES, work / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    proc = headwater("run", f"examples/{example}", cwd=work)
    assert proc.returncode == 0, proc.stderr
    [summary] = [ln for ln in proc.stdout.splitlines() if ln.startswith("Flow '")]
    assert ": Success (All reference tasks succeeded.)" in summary


def test_every_example_is_found_on_its_own():
    """Each example file has exactly one flow or flow-returning function."""
    from headwater.cli._load import candidates_in, run_script

    for path in EXAMPLES.glob("*.py"):
        found = candidates_in(run_script(str(path)))
        assert len(found) == 1, (path.name, [c.names for c in found])


class TestFile:
    def test_a_function_annotated_to_return_a_flow_is_used(self, headwater, write):
        path = write("builders.py", BUILDERS)
        proc = headwater("run", str(path))
        assert proc.returncode == 0, proc.stderr
        assert first_line(proc) == "Flow 'built': Success (All reference tasks succeeded.)"

    def test_file_colon_name_calls_any_function_without_required_arguments(self, headwater, write):
        path = write("builders.py", BUILDERS)
        proc = headwater("run", f"{path}:unannotated")
        assert proc.returncode == 0, proc.stderr
        assert first_line(proc).startswith("Flow 'hidden': Success")

    def test_file_colon_name_picks_a_flow_variable(self, headwater, write):
        path = write(
            "two.py",
            """
            from headwater import Flow
            a = Flow("first")
            b = Flow("second")
            """,
        )
        proc = headwater("run", f"{path}:b")
        assert proc.returncode == 0, proc.stderr
        assert first_line(proc).startswith("Flow 'second': Success")

    def test_a_name_that_needs_arguments_is_a_usage_error(self, headwater, write):
        path = write("builders.py", BUILDERS)
        proc = headwater("run", f"{path}:helper")
        assert proc.returncode == 2
        assert "helper() in" in proc.stderr and "needs arguments (x)" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1

    def test_a_name_that_is_not_a_flow(self, headwater, write):
        path = write("builders.py", BUILDERS)
        proc = headwater("run", f"{path}:one")
        assert proc.returncode == 2
        assert "'one' in" in proc.stderr
        assert "not a Flow or a function returning one" in proc.stderr

    def test_a_missing_name_lists_the_flows(self, headwater, write):
        path = write("builders.py", BUILDERS)
        proc = headwater("run", f"{path}:nope")
        assert proc.returncode == 2
        assert proc.stderr.strip().endswith("has no 'nope' (its flows: 'build_flow')")

    def test_a_builder_that_returns_something_else(self, headwater, write):
        path = write("odd.py", "def build() -> 'Flow':\n    return 42\n")
        proc = headwater("run", f"{path}:build")
        assert proc.returncode == 2
        assert (
            "build() in" in proc.stderr
            and "returned a value of type int, not a Flow" in proc.stderr
        )

    def test_a_builder_that_raises(self, headwater, write):
        path = write(
            "raises.py",
            """
            from headwater import Flow
            def build_flow() -> Flow:
                raise RuntimeError("no database")
            """,
        )
        proc = headwater("run", str(path))
        assert proc.returncode == 1
        assert "build_flow() in" in proc.stderr
        assert "raised RuntimeError('no database')" in proc.stderr
        assert "Traceback" not in proc.stderr

    def test_no_flow_is_a_usage_error_that_says_what_to_define(self, headwater, write):
        path = write("empty.py", "x = 1\ndef f():\n    return 2\n")
        proc = headwater("run", str(path))
        assert proc.returncode == 2
        [line] = proc.stderr.splitlines()
        assert "no flow found in" in line
        assert "'-> Flow'" in line and "FILE:NAME" in line

    def test_a_syntax_error_is_one_line(self, headwater, write):
        path = write("bad.py", "def (:\n")
        proc = headwater("run", str(path))
        assert proc.returncode == 1
        [line] = proc.stderr.splitlines()
        assert "is not valid Python" in line

    def test_the_main_block_does_not_run_and_argv_is_the_script(self, headwater, write, tmp_path):
        marker = tmp_path / "ran-main"
        path = write(
            "guarded.py",
            f"""
            import sys
            from headwater import Flow
            assert sys.argv == [{str(tmp_path / "guarded.py")!r}], sys.argv
            flow = Flow("guarded")
            if __name__ == "__main__":
                open({str(marker)!r}, "w").close()
            """,
        )
        proc = headwater("run", str(path), "-q")
        assert proc.returncode == 0, proc.stderr
        assert not marker.exists()

    def test_the_scripts_directory_is_importable(self, headwater, write):
        write("helpers_for_cli.py", "NAME = 'from-helper'\n")
        path = write(
            "uses_helper.py",
            """
            from headwater import Flow
            from helpers_for_cli import NAME
            flow = Flow(NAME)
            """,
        )
        proc = headwater("run", str(path))
        assert proc.returncode == 0, proc.stderr
        assert first_line(proc).startswith("Flow 'from-helper'")


class TestSeveralFlows:
    SOURCE = """
        from headwater import Flow
        first = Flow("alpha")
        def build_beta() -> Flow:
            return Flow("beta")
        """

    def test_without_flow_the_names_are_listed_in_one_line(self, headwater, write):
        path = write("several.py", self.SOURCE)
        proc = headwater("run", str(path))
        assert proc.returncode == 2
        [line] = proc.stderr.splitlines()
        assert "defines several flows ('alpha', 'build_beta'); choose one with --flow NAME" in line

    @pytest.mark.parametrize(
        ("name", "expected"),
        [("alpha", "alpha"), ("first", "alpha"), ("build_beta", "beta"), ("beta", "beta")],
    )
    def test_flow_chooses_by_flow_variable_or_function_name(self, headwater, write, name, expected):
        path = write("several.py", self.SOURCE)
        proc = headwater("run", str(path), "--flow", name)
        assert proc.returncode == 0, proc.stderr
        assert first_line(proc).startswith(f"Flow {expected!r}: Success")

    def test_an_unknown_flow_name(self, headwater, write):
        path = write("several.py", self.SOURCE)
        proc = headwater("run", str(path), "--flow", "gamma")
        assert proc.returncode == 2
        assert "has no flow named 'gamma' (its flows: 'alpha', 'build_beta')" in proc.stderr
        assert "--flow NAME" in proc.stderr

    def test_file_colon_name_and_flow_together_is_a_usage_error(self, headwater, write):
        path = write("several.py", self.SOURCE)
        proc = headwater("run", f"{path}:first", "--flow", "alpha")
        assert proc.returncode == 2
        assert "either FILE:NAME or --flow NAME, not both" in proc.stderr


class TestModule:
    def test_module_colon_flow(self, headwater):
        proc = headwater("run", "headwater.hello_world:hello_flow", "-p", "name=marvin", "--json")
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert report["flow"] == "hello-world"
        results = {t["name"]: t["result"] for t in report["tasks"]}
        assert results["capitalize"] == "Marvin"

    def test_module_colon_function_from_the_current_directory(self, headwater, write, tmp_path):
        write("my_cli_flows.py", BUILDERS)
        proc = headwater("run", "my_cli_flows:build_flow", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert first_line(proc).startswith("Flow 'built': Success")

    def test_a_module_alone_uses_its_only_flow(self, headwater):
        proc = headwater("run", "headwater.hello_world")
        assert proc.returncode == 0, proc.stderr
        assert first_line(proc).startswith("Flow 'hello-world': Success")

    def test_a_missing_module_is_a_usage_error(self, headwater):
        proc = headwater("run", "no_such_module_here:flow")
        assert proc.returncode == 2
        assert "no file or module named 'no_such_module_here'" in proc.stderr

    def test_a_module_that_raises_on_import(self, headwater, write, tmp_path):
        write("broken_cli_mod.py", "raise ImportError('needs something')\n")
        proc = headwater("run", "broken_cli_mod:flow", cwd=tmp_path)
        assert proc.returncode == 1
        assert "importing 'broken_cli_mod' raised ImportError('needs something')" in proc.stderr


class TestParseTarget:
    @pytest.mark.parametrize(
        ("text", "target"),
        [
            ("flow.py", Target(path="flow.py")),
            ("flow.py:build", Target(path="flow.py", name="build")),
            ("dir/flow:build", Target(path="dir/flow", name="build")),
            ("pkg.mod:build", Target(module="pkg.mod", name="build")),
            ("pkg.mod:obj.attr", Target(module="pkg.mod", name="obj.attr")),
            ("pkg.mod", Target(module="pkg.mod")),
            ("dir/flows", Target(path="dir/flows")),
            ("not a module", Target(path="not a module")),
        ],
    )
    def test_forms(self, text, target):
        assert parse_target(text) == target

    def test_an_existing_file_with_a_colon_is_a_file(self, tmp_path):
        path = tmp_path / "odd:name.py"
        path.write_text("")
        assert parse_target(str(path)) == Target(path=str(path))


class TestReturnsFlow:
    def test_annotations(self):
        from headwater import Flow

        def real() -> Flow: ...

        def text() -> Flow: ...

        text.__annotations__["return"] = "Flow"

        def dotted(): ...

        dotted.__annotations__["return"] = "headwater.Flow"

        def other() -> int: ...

        def bare(): ...

        assert returns_flow(real) and returns_flow(text) and returns_flow(dotted)
        assert not returns_flow(other) and not returns_flow(bare)


def test_python_dash_m_runs_a_file(write):
    import subprocess

    path = write("builders.py", BUILDERS)
    proc = subprocess.run(
        [sys.executable, "-m", "headwater", "run", str(path), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_target_paths_are_expanded(write, headwater, home):
    shutil.copy(write("builders.py", BUILDERS), Path(home) / "in_home.py")
    proc = headwater("run", "~/in_home.py")
    assert proc.returncode == 0, proc.stderr
