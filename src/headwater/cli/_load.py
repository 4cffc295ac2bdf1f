"""Finding the flow a command line names: ``FILE``, ``FILE:NAME``, ``MODULE`` or ``MODULE:NAME``.

A script is run (with ``__name__`` other than ``"__main__"``, so its ``if __name__ ==
"__main__":`` block does not run); a module is imported, with the current directory on
``sys.path`` as for ``python -m``. ``NAME`` is a ``Flow`` or a function that returns one and
takes no required arguments. Without a name, the flows of the script or module are its
module-level ``Flow`` objects and its own functions without required arguments annotated
``-> Flow``; when there is exactly one it is used, otherwise ``--flow NAME`` chooses (a variable
or function name, or a flow's own name).
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater.cli._app import CommandError, UsageProblem, one_line

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Candidate", "Target", "candidates_in", "load_flow", "parse_target"]

SCRIPT_MODULE = "__headwater_flow_script__"
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Target:
    """Where the flow is: a script ``path`` or an importable ``module``, and maybe a ``name``."""

    path: str | None = None
    module: str | None = None
    name: str | None = None

    @property
    def where(self) -> str:
        """The target as the messages name it."""
        return repr(self.path) if self.path is not None else f"module {self.module!r}"


def parse_target(text: str) -> Target:
    """Read ``FILE``, ``FILE:NAME``, ``MODULE`` or ``MODULE:NAME``.

    An existing file is always a file (even with a ``:`` in its name); ``X.py`` or a path with
    a separator is a file; a dotted name is a module.
    """
    if os.path.isfile(text):
        return Target(path=text)
    head, sep, name = text.rpartition(":")
    if sep and head and _DOTTED.fullmatch(name):
        if _looks_like_file(head):
            return Target(path=head, name=name)
        if _DOTTED.fullmatch(head):
            return Target(module=head, name=name)
    if not _looks_like_file(text) and _DOTTED.fullmatch(text):
        return Target(module=text)
    return Target(path=text)


def _looks_like_file(text: str) -> bool:
    return text.endswith(".py") or "/" in text or os.sep in text or os.path.isfile(text)


# ------------------------------------------------------------------- running and importing --
@contextmanager
def _script_environment(path: str) -> Iterator[None]:
    """While a script runs: its directory importable, ``sys.argv`` as for ``python path``."""
    directory = os.path.dirname(path)
    added = directory not in sys.path
    if added:
        sys.path.insert(0, directory)
    argv = sys.argv
    sys.argv = [path]
    try:
        yield
    finally:
        sys.argv = argv
        if added:
            try:
                sys.path.remove(directory)
            except ValueError:
                pass


def run_script(path: str) -> dict[str, Any]:
    """Run the script at ``path`` and return its module namespace.

    Raises:
        UsageProblem: the file does not exist.
        CommandError: the script is not valid Python, or raised while running.
    """
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(full):
        what = "is a directory, not a file" if os.path.isdir(full) else "does not exist"
        raise UsageProblem(f"file {path!r} {what}")
    with open(full, encoding="utf-8") as f:
        source = f.read()
    try:
        code = compile(source, full, "exec")
    except SyntaxError as exc:
        raise CommandError(f"{path!r} is not valid Python: {one_line(exc)}") from None
    namespace: dict[str, Any] = {
        "__name__": SCRIPT_MODULE,
        "__file__": full,
        "__builtins__": __builtins__,
    }
    with _script_environment(full):
        try:
            exec(code, namespace)
        except (Exception, SystemExit) as exc:
            raise CommandError(
                f"running {path!r} to find its flow raised {one_line(repr(exc))}"
            ) from None
    return namespace


def import_module(name: str) -> dict[str, Any]:
    """Import module ``name`` (the current directory importable) and return its namespace.

    Raises:
        UsageProblem: there is no such module.
        CommandError: importing it raised.
    """
    import importlib

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise UsageProblem(
                f"no file or module named {name!r} (a file name ends in .py)"
            ) from None
        raise CommandError(f"importing {name!r} raised {one_line(repr(exc))}") from None
    except Exception as exc:
        raise CommandError(f"importing {name!r} raised {one_line(repr(exc))}") from None
    return vars(module)


# ------------------------------------------------------------------------------ candidates --
def _flow_class() -> type[Flow]:
    from headwater.core.flow import Flow

    return Flow


def required_arguments(fn: Callable[..., Any]) -> list[str]:
    """The names of ``fn``'s parameters that have no default."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in params if p.default is p.empty and p.kind not in skip]


def returns_flow(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is annotated to return a ``Flow`` (``-> Flow``, also as a string)."""
    annotation = getattr(fn, "__annotations__", {}).get("return")
    if isinstance(annotation, str):
        text = annotation.strip().strip("'\"")
        try:
            annotation = eval(text, getattr(fn, "__globals__", {}))  # as typing does
        except Exception:  # an annotation naming something not importable here
            return re.fullmatch(r"(\w+\.)*Flow", text) is not None
    return isinstance(annotation, type) and issubclass(annotation, _flow_class())


@dataclass
class Candidate:
    """A flow of a script or module: a ``Flow`` object, or a function that builds one."""

    names: list[str]
    flow: Flow | None = None
    builder: Callable[[], Any] | None = None
    built: Flow | None = None

    @property
    def label(self) -> str:
        """How listings name it: the flow's own name, or the builder's name."""
        return repr(self.flow.name) if self.flow is not None else repr(self.names[0])

    def get(self, where: str) -> Flow:
        """The flow (built by calling the builder, once)."""
        if self.flow is not None:
            return self.flow
        if self.built is None:
            assert self.builder is not None
            self.built = call_builder(self.builder, self.names[0], where)
        return self.built


def call_builder(fn: Callable[[], Any], name: str, where: str) -> Flow:
    """Call ``fn()`` and check that it returned a ``Flow``."""
    try:
        result = fn()
    except Exception as exc:
        raise CommandError(f"{name}() in {where} raised {one_line(repr(exc))}") from None
    if not isinstance(result, _flow_class()):
        raise UsageProblem(
            f"{name}() in {where} returned a value of type {type(result).__name__}, not a Flow"
        )
    return result


def candidates_in(namespace: dict[str, Any]) -> list[Candidate]:
    """The module-level flows and flow-building functions of ``namespace``, in order."""
    flow_class = _flow_class()
    module_name = namespace.get("__name__")
    found: dict[int, Candidate] = {}
    for key, value in namespace.items():
        if key.startswith("__"):
            continue
        if isinstance(value, flow_class):
            found.setdefault(id(value), Candidate(names=[], flow=value)).names.append(key)
        elif (
            inspect.isfunction(value)
            and value.__module__ == module_name
            and not required_arguments(value)
            and returns_flow(value)
        ):
            found.setdefault(id(value), Candidate(names=[], builder=value)).names.append(key)
    return list(found.values())


# ---------------------------------------------------------------------------------- choose --
def _listing(candidates: list[Candidate]) -> str:
    return ", ".join(c.label for c in candidates) or "none"


def _named(namespace: dict[str, Any], name: str, where: str) -> Flow:
    head, *rest = name.split(".")
    if head not in namespace:
        flows = _listing(candidates_in(namespace))
        raise UsageProblem(f"{where} has no {head!r} (its flows: {flows})")
    obj = namespace[head]
    for part in rest:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageProblem(f"{where} has no {name!r}") from None
    if isinstance(obj, _flow_class()):
        return obj
    from headwater.core.task import Task

    if callable(obj) and not isinstance(obj, (type, Task)):
        missing = required_arguments(obj)
        if missing:
            raise UsageProblem(
                f"{name}() in {where} needs arguments ({', '.join(missing)}); "
                "name a Flow or a function without required arguments"
            )
        return call_builder(obj, name, where)
    raise UsageProblem(
        f"{name!r} in {where} is of type {type(obj).__name__}, "
        "not a Flow or a function returning one"
    )


def choose(candidates: list[Candidate], flow_name: str | None, where: str) -> Flow:
    """The flow ``--flow flow_name`` names, or the only one there is."""
    if flow_name is not None:
        for c in candidates:
            if flow_name in c.names or (c.flow is not None and c.flow.name == flow_name):
                return c.get(where)
        for c in candidates:  # a builder's flow may carry the name asked for
            if c.builder is not None and c.get(where).name == flow_name:
                return c.get(where)
        raise UsageProblem(
            f"{where} has no flow named {flow_name!r} (its flows: {_listing(candidates)}); "
            "pass one of them to --flow NAME"
        )
    if not candidates:
        raise UsageProblem(
            f"no flow found in {where}: define a Flow at module level, or a function without "
            "required arguments annotated '-> Flow', or name one as FILE:NAME"
        )
    if len(candidates) > 1:
        raise UsageProblem(
            f"{where} defines several flows ({_listing(candidates)}); choose one with --flow NAME"
        )
    return candidates[0].get(where)


def load_flow(text: str, flow_name: str | None = None) -> Flow:
    """The flow that ``TARGET`` (and ``--flow NAME``) name on the command line.

    Raises:
        UsageProblem: no such file or module, no flow, several flows and no ``--flow``, or a
            name that is not a flow.
        CommandError: the script or module, or the function building the flow, raised.
    """
    target = parse_target(text)
    if target.name is not None and flow_name is not None:
        raise UsageProblem(
            f"{text!r} already names the flow; give either FILE:NAME or --flow NAME, not both"
        )
    if target.path is not None:
        namespace = run_script(target.path)
    else:
        assert target.module is not None
        namespace = import_module(target.module)
    if target.name is not None:
        return _named(namespace, target.name, target.where)
    return choose(candidates_in(namespace), flow_name, target.where)
