"""``headwater report RUN_ID``: one self-contained HTML file of a recorded run.

::

    $ headwater report 42 -o run.html
    Wrote the report of run #42 (etl, Success) to run.html
    $ headwater report 42 --db ./history.db > run.html

The file shows the run's state, parameters, graph coloured by state, timeline, the failing
tasks' tracebacks, task runs, logs and artifacts. It loads nothing from elsewhere and needs no
script, so it can be kept as a CI artifact or sent by mail. Without ``-o`` (or with ``-o -``)
the HTML goes to standard output.
"""

from __future__ import annotations

from pathlib import Path

import click

from headwater.cli._app import CommandError, CommandIO, app, one_line, pass_io

__all__ = ["report_command"]


@app.command("report")
@click.argument("run_id", type=int)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    default="-",
    help="Where to write the HTML (default, or '-': standard output).",
)
@click.option(
    "--db",
    metavar="PATH_OR_URL",
    help="The history database: a SQLite file or a postgresql:// URL "
    "(default: the configured history.url or history.path).",
)
@pass_io
def report_command(io: CommandIO, run_id: int, output: str, db: str | None) -> int:
    """Write a recorded run as one self-contained HTML file."""
    from headwater.history import HistoryError, open_store
    from headwater.ui import render_report

    try:
        store = open_store(db)
    except HistoryError as exc:
        raise CommandError(one_line(exc)) from None
    try:
        run = store.get_flow_run(run_id)
        if run is None:
            raise CommandError(
                f"no flow run {run_id} in {store.target}; `headwater runs` lists the recorded runs."
            )
        page = render_report(store, run_id)
    finally:
        store.close()
    if output == "-":
        io.stdout.write(page)
        io.stdout.flush()
        return 0
    try:
        Path(output).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise CommandError(
            f"could not write the report to {output}: {exc.strerror or exc}"
        ) from None
    io.out(f"Wrote the report of run #{run_id} ({run['flow_name']}, {run['state']}) to {output}")
    return 0
