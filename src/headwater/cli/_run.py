"""``headwater run`` and ``headwater visualize``: run or draw a flow named on the command line.

::

    $ headwater run examples/etl.py -p base_currency=GBP --executor threads
    Flow 'orders-etl': Success (All reference tasks succeeded.)
      csv_path       Success             Task run succeeded.
      ...
    $ headwater run headwater.hello_world:hello_flow -p name=marvin --json
    $ headwater visualize examples/etl.py --format dot > etl.dot
    $ headwater visualize examples/etl.py --format svg > etl.svg

``headwater run`` runs the flow once, even if it has a schedule, and exits with status 0 when
the flow succeeded, 1 when it did not, 2 for a mistake in the command line.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from headwater.cli._app import CommandError, CommandIO, app, one_line, pass_io
from headwater.cli._executors import ExecutorType
from headwater.cli._params import parse_assignments

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

__all__ = ["log_level", "run_command", "visualize_command"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SILENT = logging.CRITICAL + 10
_LEVEL_VAR = "HEADWATER__LOGGING__LEVEL"

TARGET_HELP = (
    "TARGET is a Python file (FILE, or FILE:NAME) or an importable module (MODULE:NAME); "
    "NAME is a Flow or a function without required arguments that returns one."
)


def _complete_target(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]


def _target_argument(fn: Any) -> Any:
    return click.argument("target", metavar="TARGET", shell_complete=_complete_target)(fn)


def _flow_option(fn: Any) -> Any:
    return click.option(
        "--flow",
        "flow_name",
        metavar="NAME",
        help="Which flow, when TARGET defines several (a variable, function or flow name).",
    )(fn)


@contextlib.contextmanager
def log_level(level: str | None, quiet: bool) -> Iterator[None]:
    """Set headwater's log level for a run, here and in the worker processes it starts.

    The ``headwater`` logger of this process gets the level; ``HEADWATER__LOGGING__LEVEL``
    carries it to process-based executors' workers. Both are restored afterwards.
    """
    if not quiet and level is None:
        yield
        return
    logger = logging.getLogger("headwater")
    before, env_before = logger.level, os.environ.get(_LEVEL_VAR)
    logger.setLevel(_SILENT if quiet else str(level).upper())
    os.environ[_LEVEL_VAR] = "CRITICAL" if quiet else str(level).upper()
    try:
        yield
    finally:
        logger.setLevel(before)
        if env_before is None:
            os.environ.pop(_LEVEL_VAR, None)
        else:
            os.environ[_LEVEL_VAR] = env_before


@app.command("run", epilog=TARGET_HELP)
@_target_argument
@_flow_option
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    callback=parse_assignments,
    help="A flow parameter (repeatable); VALUE is read as JSON if it parses, else as text, "
    "and converted to the parameter's type if it has one.",
)
@click.option(
    "--executor",
    type=ExecutorType(),
    default="local",
    show_default=True,
    help="local, sync, threads or processes (dask's local schedulers), dask (a temporary "
    "distributed cluster) or a distributed scheduler address (tcp://HOST:PORT).",
)
@click.option(
    "--log-level",
    "level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help="Level of headwater's log lines on stderr (default: the configured logging.level).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="No log lines and no table: errors and the exit status."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the final flow state and each task's state and result as JSON on stdout.",
)
@click.option("--no-history", is_flag=True, help="Do not record this run in the run history.")
@pass_io
def run_command(
    io: CommandIO,
    target: str,
    flow_name: str | None,
    params: list[tuple[str, str]],
    executor: str,
    level: str | None,
    quiet: bool,
    as_json: bool,
    no_history: bool,
) -> int:
    """Run a flow once and print the state of each task.

    Exits with 0 when the flow succeeded, 1 when it did not.
    """
    from headwater.cli._executors import make_executor
    from headwater.cli._load import load_flow
    from headwater.cli._params import flow_parameters
    from headwater.cli._report import json_report, print_table

    options: dict[str, Any] = {"progress": False} if quiet or as_json else {}
    if no_history:
        options["history"] = False
    with log_level(level, quiet):
        flow = load_flow(target, flow_name)
        parameters = flow_parameters(flow, params)
        try:
            state = flow.run(
                parameters=parameters,
                executor=make_executor(executor),
                run_on_schedule=False,
                **options,
            )
        except ValueError as exc:  # a parameter the flow itself refuses
            raise CommandError(one_line(exc)) from None
    if as_json:
        io.out(json_report(flow, state, parameters))
    elif not quiet:
        print_table(flow, state, io)
    if state.is_successful():
        return 0
    if quiet:
        ended = f"{type(state).__name__}: {one_line(state.message)}"
        io.err(f"headwater: flow {flow.name!r} ended {ended}")
    return 1


@app.command("visualize", epilog=TARGET_HELP)
@_target_argument
@_flow_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("mermaid", "dot", "svg")),
    default="mermaid",
    show_default=True,
    help="Format of the graph: Mermaid or DOT text, or an SVG drawing (no Graphviz needed).",
)
@pass_io
def visualize_command(io: CommandIO, target: str, flow_name: str | None, fmt: str) -> int:
    """Print a flow's graph as Mermaid, DOT or SVG, without running it."""
    from headwater.cli._load import load_flow

    flow = load_flow(target, flow_name)
    draw = {"dot": flow.to_dot, "svg": flow.to_svg}.get(fmt, flow.to_mermaid)
    io.stdout.write(draw())
    return 0
