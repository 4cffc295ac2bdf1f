"""``headwater run`` and ``headwater visualize``: run or draw the flow defined in a script.

::

    $ headwater run etl.py -p date=2024-01-31 -p limit=10 --executor threads
    Flow 'etl': Success (All reference tasks succeeded.)
      date          Success  Task run succeeded.
      extract       Success  Task run succeeded.
      ...
    $ headwater visualize etl.py --format dot > etl.dot

The script is run with :func:`~headwater.utilities.storage.extract_flow_from_file`; if it
defines several flows, choose one with ``--flow NAME``. ``-p key=value`` values are read as JSON
when they parse (``-p n=3`` gives the number 3, ``-p names='["a","b"]'`` a list) and as plain
strings otherwise. ``headwater run`` runs the flow once, even if it has a schedule, and exits
with status 0 when the flow succeeded and 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from headwater.cli import CommandIO, command

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.engine.state import State

__all__: list[str] = []

EXECUTORS = ("local", "threads", "processes", "dask")


def _parameter(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"parameters are given as KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def _add_file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="Python script that defines the flow")
    parser.add_argument(
        "--flow", dest="flow_name", metavar="NAME", help="which flow, if the script defines several"
    )


def _configure_run(parser: argparse.ArgumentParser) -> None:
    _add_file_arguments(parser)
    parser.add_argument(
        "-p",
        "--param",
        dest="params",
        action="append",
        type=_parameter,
        default=[],
        metavar="KEY=VALUE",
        help="a flow parameter (repeatable); VALUE is read as JSON if it parses, else as a string",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local (default), threads or processes (dask's local schedulers), or dask (a temporary distributed cluster)",
    )


def _configure_visualize(parser: argparse.ArgumentParser) -> None:
    _add_file_arguments(parser)
    parser.add_argument(
        "--format",
        choices=("mermaid", "dot"),
        default="mermaid",
        help="text format (default mermaid)",
    )


def _load(args: argparse.Namespace, io: CommandIO) -> Flow | None:
    from headwater.utilities.storage import extract_flow_from_file

    try:
        return extract_flow_from_file(file_path=args.file, flow_name=args.flow_name)
    except (OSError, ValueError) as exc:
        io.err(f"headwater: {exc}")
    except SyntaxError as exc:
        io.err(f"headwater: {args.file!r} is not valid Python: {exc}")
    except Exception as exc:  # noqa: BLE001 - the script itself failed; say so plainly
        io.err(f"headwater: running {args.file!r} to find its flow raised {exc!r}")
    return None


def _executor(name: str) -> Any:
    if name == "local":
        from headwater.executors import LocalExecutor

        return LocalExecutor()
    if name in ("threads", "processes"):
        from headwater.executors import LocalDaskExecutor

        return LocalDaskExecutor(scheduler=name)
    from headwater.executors import DaskExecutor

    return DaskExecutor()


def _one_line(value: Any) -> str:
    text = str(value) if value is not None else ""
    return " ".join(text.split())


def _report(flow: Flow, state: State, io: CommandIO) -> None:
    io.out(f"Flow {flow.name!r}: {type(state).__name__} ({_one_line(state.message)})")
    task_states = state.result if isinstance(state.result, dict) else {}
    rows = []
    for t in flow.sorted_tasks():
        s = task_states.get(t)
        if s is None:
            rows.append((t.name, "-", "not run"))
            continue
        kind = type(s).__name__
        children = getattr(s, "map_states", None)
        if children is not None:
            from collections import Counter

            counts = Counter(type(c).__name__ for c in children)
            detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no children"
            kind = f"{kind} [{detail}]"
        rows.append((t.name, kind, _one_line(s.message)))
    if not rows:
        return
    w_name = max(len(r[0]) for r in rows)
    w_kind = max(len(r[1]) for r in rows)
    for name, kind, message in rows:
        io.out(f"  {name.ljust(w_name)}  {kind.ljust(w_kind)}  {message}".rstrip())


@command("run", help="Run the flow defined in a Python script once.", configure=_configure_run)
def _run(args: argparse.Namespace, io: CommandIO) -> int:
    flow = _load(args, io)
    if flow is None:
        return 1
    parameters = dict(args.params)
    try:
        state = flow.run(
            parameters=parameters, executor=_executor(args.executor), run_on_schedule=False
        )
    except ValueError as exc:  # bad or missing parameters
        io.err(f"headwater: {exc}")
        return 1
    _report(flow, state, io)
    return 0 if state.is_successful() else 1


@command(
    "visualize",
    help="Print the flow defined in a Python script as a Mermaid or DOT graph.",
    configure=_configure_visualize,
)
def _visualize(args: argparse.Namespace, io: CommandIO) -> int:
    flow = _load(args, io)
    if flow is None:
        return 1
    text = flow.to_dot() if args.format == "dot" else flow.to_mermaid()
    io.stdout.write(text)
    return 0
