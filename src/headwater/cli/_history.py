"""``headwater runs`` and ``headwater history prune``: the run history on the command line.

::

    $ headwater runs                       # the 20 latest runs
    $ headwater runs --flow etl --state Failed --limit 5 --json
    $ headwater runs show 42               # one run and its task runs
    $ headwater runs logs 42               # its log lines
    $ headwater history prune --older-than 30d

Every command reads the configured history (``history.url``, else ``history.path``), or the
database given with ``--db`` (a SQLite file or a ``postgresql://`` URL).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import click

from headwater.cli._app import CommandError, CommandIO, UsageProblem, app, one_line, pass_io

__all__ = ["history_group", "runs_group"]

_DB_OPTION = click.option(
    "--db",
    "target",
    metavar="PATH|URL",
    help="The history database (default: history.url, else history.path).",
)


def _open(target: str | None) -> Any:
    from headwater.history import HistoryError, open_store

    try:
        return open_store(target)
    except HistoryError as exc:
        raise CommandError(one_line(exc)) from None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _when(iso: str | None) -> str:
    if iso is None:
        return "-"
    moment = dt.datetime.fromisoformat(iso).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _table(io: CommandIO, header: tuple[str, ...], rows: Sequence[Sequence[str]]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    for line in (header, *rows):
        io.out("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


@app.group("runs", invoke_without_command=True)
@_DB_OPTION
@click.option("--flow", "flow_name", metavar="NAME", help="Only the runs of this flow.")
@click.option("--state", metavar="STATE", help="Only runs in this state (Success, Failed...).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.pass_context
def runs_group(
    ctx: click.Context,
    target: str | None,
    flow_name: str | None,
    state: str | None,
    limit: int,
    as_json: bool,
) -> int:
    """List recent flow runs, newest first (or run a subcommand: list, show, logs)."""
    if ctx.invoked_subcommand is not None:
        return 0
    io = ctx.find_object(CommandIO) or CommandIO()
    return _list(io, target, flow_name, state, limit, as_json)


def _list(
    io: CommandIO,
    target: str | None,
    flow_name: str | None,
    state: str | None,
    limit: int,
    as_json: bool,
) -> int:
    with _open(target) as store:
        runs = store.list_flow_runs(flow_name=flow_name, state=state, limit=limit)
    if as_json:
        io.out(json.dumps(runs, indent=2))
        return 0
    if not runs:
        io.out("No flow runs recorded" + (" that match." if flow_name or state else " yet."))
        return 0
    rows = [
        (
            str(r["id"]),
            r["flow_name"],
            r["state"] + (" (live)" if r["is_live"] else ""),
            _when(r["started_at"]),
            _duration(r["duration_seconds"]),
            f"{r['task_run_count']}"
            + (f" ({r['failed_task_count']} failed)" if r["failed_task_count"] else ""),
        )
        for r in runs
    ]
    _table(io, ("ID", "FLOW", "STATE", "STARTED", "DURATION", "TASK RUNS"), rows)
    return 0


@runs_group.command("list")
@_DB_OPTION
@click.option("--flow", "flow_name", metavar="NAME", help="Only the runs of this flow.")
@click.option("--state", metavar="STATE", help="Only runs in this state (Success, Failed...).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@pass_io
def list_command(
    io: CommandIO,
    target: str | None,
    flow_name: str | None,
    state: str | None,
    limit: int,
    as_json: bool,
) -> int:
    """List recent flow runs, newest first."""
    return _list(io, target, flow_name, state, limit, as_json)


def _run_or_fail(store: Any, run_id: int) -> dict[str, Any]:
    run: dict[str, Any] | None = store.get_flow_run(run_id)
    if run is None:
        raise CommandError(
            f"no flow run {run_id} in {store.target}; `headwater runs` lists the recorded runs."
        )
    return run


@runs_group.command("show")
@click.argument("run_id", type=int)
@_DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the run and its task runs as JSON.")
@pass_io
def show_command(io: CommandIO, run_id: int, target: str | None, as_json: bool) -> int:
    """Show flow run RUN_ID: its fields, then each task run (with the error of a failed one)."""
    with _open(target) as store:
        run = _run_or_fail(store, run_id)
        tasks = store.list_task_runs(run_id)
    if as_json:
        io.out(json.dumps({**run, "task_runs": tasks}, indent=2))
        return 0
    io.out(f"Flow run {run['id']} of {run['flow_name']!r}: {run['state']}")
    for key in ("message", "name", "started_at", "ended_at", "host", "pid", "executor", "version"):
        value = run[key]
        io.out(f"  {key:<12} {_when(value) if key.endswith('_at') else value}")
    io.out(f"  {'duration':<12} {_duration(run['duration_seconds'])}")
    io.out(f"  {'parameters':<12} {json.dumps(run['parameters'])}")
    if run["parent_run_id"] is not None:
        io.out(f"  {'parent run':<12} {run['parent_run_id']}")
    io.out("")
    rows = [
        (
            str(t["id"]),
            t["task_name"],
            t["state"] + (" (cached)" if t["cached"] else ""),
            _duration(t["duration_seconds"]),
            str(t["run_count"]),
            one_line(f"{t['error_type']}: {t['error_message']}") if t["error_type"] else "",
        )
        for t in tasks
    ]
    _table(io, ("ID", "TASK", "STATE", "DURATION", "RUNS", "ERROR"), rows)
    return 0


@runs_group.command("logs")
@click.argument("run_id", type=int)
@_DB_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@pass_io
def logs_command(io: CommandIO, run_id: int, target: str | None, limit: int) -> int:
    """Print the recorded log lines of flow run RUN_ID."""
    with _open(target) as store:
        _run_or_fail(store, run_id)
        logs = store.list_logs(run_id, limit=limit)
    for line in logs:
        where = f" {line['task_name']}" if line["task_name"] else ""
        io.out(f"{_when(line['created_at'])} {line['level_name']:<8}{where} | {line['message']}")
    return 0


@app.group("history")
def history_group() -> None:
    """Look after the run history (see also `headwater runs`)."""


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|h|m|days?|hours?|minutes?)?\s*$", re.IGNORECASE)


def _age(ctx: click.Context, param: click.Parameter, value: str) -> dt.timedelta:
    match = _AGE.match(value)
    if match is None:
        raise UsageProblem(
            f"--older-than must be a number of days such as 30 or 30d (or 12h, 90m), got {value!r}."
        )
    number, unit = float(match.group(1)), (match.group(2) or "d").lower()[0]
    return (
        dt.timedelta(days=number)
        if unit == "d"
        else (dt.timedelta(hours=number) if unit == "h" else dt.timedelta(minutes=number))
    )


@history_group.command("prune")
@click.option(
    "--older-than",
    "age",
    required=True,
    metavar="DAYS",
    callback=_age,
    help="Delete runs that started longer ago than this: 30 or 30d (days), 12h, 90m.",
)
@_DB_OPTION
@pass_io
def prune_command(io: CommandIO, age: dt.timedelta, target: str | None) -> int:
    """Delete old runs with their task runs, logs and artifacts, then vacuum the database."""
    with _open(target) as store:
        count = store.prune(age)
        where = store.target
    io.out(f"Deleted {count} flow run(s) older than {age} from {where}.")
    return 0
