"""Finding the flow defined in a Python file or module.

``extract_flow_from_file`` runs a script and returns the flow it builds; this is how the
``headwater run FILE`` command gets its flow::

    import tempfile
    from headwater.utilities.storage import extract_flow_from_file

    script = '''
    from headwater import Flow, task

    @task
    def hello():
        return "hello"

    with Flow("greeting") as flow:
        hello()
    '''
    flow = extract_flow_from_file(file_contents=script)
    assert flow.name == "greeting"

The script runs with ``__name__`` set to something other than ``"__main__"``, so a trailing
``if __name__ == "__main__": flow.run()`` does not run the flow.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["extract_flow_from_file", "extract_flow_from_module"]

_SCRIPT_MODULE = "__headwater_flow_script__"


def _pick(flows: list[Flow], flow_name: str | None, where: str) -> Flow:
    unique: list[Flow] = []
    for f in flows:
        if not any(f is u for u in unique):
            unique.append(f)
    if flow_name is not None:
        for f in unique:
            if f.name == flow_name:
                return f
        found = ", ".join(repr(f.name) for f in unique) or "none"
        raise ValueError(f"No flow named {flow_name!r} in {where} (flows found: {found}).")
    if not unique:
        raise ValueError(
            f'No flow found in {where}: define one at module level, e.g. `with Flow("name") as flow:`.'
        )
    if len(unique) > 1:
        names = ", ".join(repr(f.name) for f in unique)
        raise ValueError(f"{where} defines several flows ({names}); choose one with flow_name=...")
    return unique[0]


def _flows_in(namespace: dict[str, Any]) -> list[Flow]:
    from headwater.core.flow import Flow

    return [v for k, v in namespace.items() if isinstance(v, Flow) and not k.startswith("__")]


def extract_flow_from_file(
    file_path: str | os.PathLike[str] | None = None,
    file_contents: str | None = None,
    flow_name: str | None = None,
) -> Flow:
    """Run a Python script and return the flow it defines at module level.

    Args:
        file_path: the script to run.
        file_contents: the script's text, instead of ``file_path``.
        flow_name: which flow to return when the script defines several.

    Raises:
        ValueError: neither (or both) of ``file_path`` and ``file_contents`` given, or no flow,
            several flows, or no flow called ``flow_name`` found.
        FileNotFoundError: ``file_path`` does not exist.
    """
    if (file_path is None) == (file_contents is None):
        raise ValueError("extract_flow_from_file needs exactly one of file_path or file_contents.")
    where = "the given file contents"
    directory = None
    if file_path is not None:
        path = os.path.abspath(os.path.expanduser(os.fspath(file_path)))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Flow file {os.fspath(file_path)!r} does not exist.")
        with open(path, encoding="utf-8") as f:
            file_contents = f.read()
        where = repr(os.fspath(file_path))
        directory = os.path.dirname(path)
    else:
        path = "<flow script>"
    assert file_contents is not None
    code = compile(file_contents, path, "exec")
    namespace: dict[str, Any] = {
        "__name__": _SCRIPT_MODULE,
        "__file__": path,
        "__builtins__": __builtins__,
    }
    # the script's own directory is importable while it runs, as for `python script.py`
    added = directory if directory is not None and directory not in sys.path else None
    if added is not None:
        sys.path.insert(0, added)
    try:
        exec(code, namespace)
    finally:
        if added is not None:
            try:
                sys.path.remove(added)
            except ValueError:
                pass
    return _pick(_flows_in(namespace), flow_name, where)


def extract_flow_from_module(module_str: str, flow_name: str | None = None) -> Flow:
    """Import a module and return a flow from it.

    Args:
        module_str: ``"package.module"`` (the module's flow, found by type) or
            ``"package.module:attribute"`` (that attribute, which may be dotted).
        flow_name: which flow to return when the module defines several.

    Raises:
        ValueError: no flow, several flows, or a wrong ``flow_name``; or the attribute is not a
            flow.
        ModuleNotFoundError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    from headwater.core.flow import Flow

    module_name, _, attr = module_str.partition(":")
    module = importlib.import_module(module_name)
    if not attr:
        return _pick(_flows_in(vars(module)), flow_name, f"module {module_name!r}")
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(f"Module {module_name!r} has no attribute {attr!r}.") from None
    if not isinstance(obj, Flow):
        raise ValueError(f"{module_str!r} is a {type(obj).__name__}, not a Flow.")
    if flow_name is not None and obj.name != flow_name:
        raise ValueError(f"{module_str!r} is flow {obj.name!r}, not {flow_name!r}.")
    return obj
