"""The shape of the code base, checked: sizes, complexity, private names, layers and types.

- no module over 500 lines, no function over 80 lines or of cyclomatic complexity over 20
  (radon's grade C);
- no underscored name imported from another module, and no private attribute reached across
  modules (ruff's SLF001, with RUF100 keeping ``noqa`` comments honest);
- imports go down the layers (base -> model -> core -> executors -> engine -> library ->
  interfaces), except the deliberate ones named in ``DELIBERATE``, and the modules imported at
  import time form no cycle;
- ``mypy --strict src/headwater`` is clean.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "headwater"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MAX_COMPLEXITY = 20


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_module_is_over_the_line_limit() -> None:
    over = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split them): {over}"


def test_no_function_is_over_the_line_limit() -> None:
    over = [
        f"{name}:{f.lineno} {f.name} ({f.end_lineno - f.lineno + 1} lines)"
        for name, tree in TREES.items()
        for f in _functions(tree)
        if f.end_lineno is not None and f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines: {over}"


def test_no_function_is_more_complex_than_grade_c() -> None:
    radon = pytest.importorskip("radon.complexity")
    over = []
    for name, path in MODULES.items():
        for block in radon.cc_visit(path.read_text(encoding="utf-8")):
            if block.complexity > MAX_COMPLEXITY:
                over.append(f"{name}:{block.lineno} {block.name} ({block.complexity})")
    assert not over, f"functions of cyclomatic complexity over {MAX_COMPLEXITY}: {over}"


def _imports(tree: ast.AST) -> list[ast.ImportFrom]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]


def test_no_private_name_is_imported_across_modules() -> None:
    found = [
        f"{name}:{node.lineno} from {node.module} import {alias.name}"
        for name, tree in TREES.items()
        for node in _imports(tree)
        if node.module and node.module.startswith("headwater") and node.module != name
        for alias in node.names
        if alias.name.startswith("_")
        and not alias.name.startswith("__")
        and f"{node.module}.{alias.name}" not in MODULES  # a private module: fine
    ]
    assert not found, (
        f"private names imported from another module (give them public names): {found}"
    )


# -- layers -------------------------------------------------------------------------------------
# Low to high. A module may import from its own layer and the ones below.
LAYERS = ("base", "model", "core", "executors", "engine", "library", "interfaces")
_BASE = {
    "headwater.exceptions",
    "headwater.context",
    "headwater.configuration",
    "headwater._config",
    "headwater._version",
    "headwater._server_only",
    "headwater.utilities.logging",
    "headwater.utilities._logging_compat",
    "headwater.utilities._log_format",
    "headwater.utilities.collections",
    "headwater.utilities.configuration",
    "headwater.utilities.imports",
}
_MODEL = {
    "headwater.triggers",
    "headwater.engine.state",
    "headwater.engine._state_base",
    "headwater.engine._state_pickle",
    "headwater.engine.signals",
    "headwater.engine.result",
    "headwater.engine.results",
    "headwater.engine.serializers",
    "headwater.schedules",
}
_INTERFACES = {"headwater.cli", "headwater.__main__", "headwater.testing", "headwater.ui"}
_LIBRARY = {
    "headwater.tasks",
    "headwater.cache_policies",
    "headwater.artifacts",
    "headwater.concurrency",
    "headwater.deployments",
    "headwater.filesystems",
    # Prefect 3's server-side modules: local variables and events, stand-ins for the rest
    "headwater.variables",
    "headwater.events",
    "headwater.automations",
    "headwater.workers",
    "headwater.flow_runs",
    "headwater.task_worker",
    "headwater.input",
    "headwater.docker",
    "headwater.runner",
    "headwater.blocks",
    "headwater.modern",
    # the @flow API's public modules (implemented in headwater.modern)
    "headwater.flows",
    "headwater.futures",
    "headwater.task_runners",
    "headwater.states",
    "headwater.runtime",
    "headwater.logging",
    "headwater.storage",
    "headwater.run_configs",
    "headwater.agent",
    "headwater.backend",
    "headwater.client",
    "headwater.hello_world",
    "headwater.history",
    "headwater.serialization",
    "headwater.utilities",
}


def _in(name: str, group: set[str]) -> bool:
    return any(name == g or name.startswith(g + ".") for g in group)


def layer_of(name: str) -> str | None:
    """The layer of module ``name``; None for the package itself (the public facade)."""
    if name == "headwater":
        return None
    for layer, group in (("base", _BASE), ("model", _MODEL), ("interfaces", _INTERFACES)):
        if _in(name, group):
            return layer
    if _in(name, {"headwater.core"}):
        return "core"
    if _in(name, {"headwater.executors"}):
        return "executors"
    if _in(name, {"headwater.engine"}):
        return "engine"
    if _in(name, _LIBRARY):
        return "library"
    raise AssertionError(f"module {name} has no layer: add it to one in {__file__}")


# Upward imports made on purpose, each at call time (inside a function), with the reason.
DELIBERATE = {
    # Flow.run / Task.run are the user's entry points into the engine
    ("headwater.core.flow", "headwater.engine"),
    ("headwater.core.task", "headwater.engine"),
    ("headwater.core._task_options", "headwater.engine.cache_validators"),
    # task operators (a + b, a[0]) and constants build tasks of the task library
    ("headwater.core._task_operators", "headwater.tasks.core"),
    ("headwater.core._task_init", "headwater.tasks.core"),
    ("headwater.core.task", "headwater.tasks.core"),
    # a task called inside a running @flow runs through the modern runtime
    ("headwater.core.task", "headwater.modern"),
    ("headwater.core._task_init", "headwater.modern"),
    ("headwater.core", "headwater.tasks.core"),
    ("headwater.core", "headwater.utilities.tasks"),
    ("headwater.core", "headwater.utilities.graph"),
    ("headwater.core.edge", "headwater.utilities.tasks"),
    # Flow's services (save/load, storage, run configs, visualize, diagnostics, local agent)
    ("headwater.core", "headwater.storage"),
    ("headwater.core", "headwater.run_configs"),
    ("headwater.core", "headwater.agent"),
    ("headwater.core", "headwater.utilities.diagnostics"),
    ("headwater.core", "headwater.utilities.storage"),
    # Prefect 1's ``flow.serialize()``, ``task.serialize()``, ``state.serialize()`` use the
    # serialization schemas
    ("headwater.core", "headwater.serialization"),
    ("headwater.engine._state_base", "headwater.serialization.state"),
    # the engine shows a progress bar (a run observer of the library)
    ("headwater.engine", "headwater.utilities.progress"),
    # every flow.run() is recorded by the run history's recorder (a run observer of the library)
    ("headwater.engine.observers", "headwater.history"),
    # flow.register() without a server records the flow in the run history's registry
    ("headwater.core._flow_services", "headwater.history"),
    # states render their result type for display
    ("headwater.engine._state_base", "headwater.utilities.graph"),
}


def _allowed(src: str, dst: str) -> bool:
    return any(_in(src, {a}) and _in(dst, {b}) for a, b in DELIBERATE)


def _headwater_imports(name: str, tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("headwater"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    out.append((node.lineno, full if full in MODULES else node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.startswith("headwater"))
    return out


def test_imports_go_down_the_layers() -> None:
    upward = []
    for name, tree in TREES.items():
        src_layer = layer_of(name)
        if src_layer is None:
            continue
        assert isinstance(tree, ast.Module)
        at_import = _import_time_imports(tree)
        for lineno, target in _headwater_imports(name, tree):
            dst_layer = layer_of(target)
            if dst_layer is None or LAYERS.index(dst_layer) <= LAYERS.index(src_layer):
                continue
            if not _allowed(name, target) or target in at_import:
                upward.append(f"{name}:{lineno} ({src_layer}) imports {target} ({dst_layer})")
    assert not upward, f"imports up the layers (move the code, or name the reason): {upward}"


def _import_time_imports(tree: ast.Module) -> set[str]:
    """The headwater modules a module imports when it is imported (not in functions)."""
    out: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.startswith("headwater"):
                    for alias in node.names:
                        full = f"{node.module}.{alias.name}"
                        out.add(full if full in MODULES else node.module)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("headwater"))

    visit(tree.body)
    return out


def test_no_import_cycle_at_import_time() -> None:
    graph = {}
    for name, tree in TREES.items():
        assert isinstance(tree, ast.Module)
        deps = set()
        for target in _import_time_imports(tree):
            # importing a.b.c imports a and a.b first: a package's __init__ is not a cycle
            # with its own modules, so edges into a module's own parents are left out
            if target in MODULES and not name.startswith(target + ".") and target != name:
                deps.add(target)
        graph[name] = deps
    cycles = _cycles(graph)
    assert not cycles, f"import cycles at import time: {cycles}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return out


# -- tools --------------------------------------------------------------------------------------
def _tool(name: str) -> list[str]:
    if shutil.which(name) is None:
        pytest.importorskip(name)
    return [sys.executable, "-m", name]


def test_ruff_finds_nothing() -> None:
    proc = subprocess.run(
        [*_tool("ruff"), "check", "src", "tests"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_mypy_strict_is_clean() -> None:
    proc = subprocess.run(
        [*_tool("mypy"), "--strict", "src/headwater"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
