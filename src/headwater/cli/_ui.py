"""``headwater ui``: serve the local web UI over the run history until Ctrl-C.

::

    $ headwater ui
    headwater UI: http://127.0.0.1:53817/?token=...
    $ headwater ui --db ./history.db --port 8080 --flow examples/etl.py --open

It listens on 127.0.0.1 (a free port unless ``--port``), opens a browser only with ``--open``,
and refuses a ``--host`` other machines can reach unless ``--allow-remote`` is given. Flows
named with ``--flow FILE[:NAME]`` (repeatable) can be started from the UI and its API, with the
token it prints.
"""

from __future__ import annotations

import click

from headwater.cli._app import CommandError, CommandIO, UsageProblem, app, pass_io

__all__ = ["ui_command"]


def _say(io: CommandIO, text: str) -> None:
    io.out(text)
    io.stdout.flush()


@app.command("ui")
@click.option(
    "--db",
    metavar="PATH_OR_URL",
    help="The history database: a SQLite file or a postgresql:// URL "
    "(default: the configured history.url or history.path).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="The port (default: a free one)."
)
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in a web browser.")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host that other machines can reach (anyone with the token can start flows).",
)
@click.option(
    "--flow",
    "flow_targets",
    multiple=True,
    metavar="FILE[:NAME]",
    help="A flow the UI may start (repeatable): a Python file or MODULE:NAME, as for "
    "`headwater run`.",
)
@pass_io
def ui_command(
    io: CommandIO,
    db: str | None,
    host: str,
    port: int,
    open_browser: bool,
    allow_remote: bool,
    flow_targets: tuple[str, ...],
) -> int:
    """Serve the web UI over the run history (127.0.0.1 only; Ctrl-C stops it)."""
    from headwater.cli._load import load_flow
    from headwater.history import HistoryError
    from headwater.ui import serve_ui
    from headwater.ui._security import is_loopback

    if not allow_remote and not is_loopback(host):
        raise UsageProblem(
            f"--host {host} is not a loopback address: the UI shows every recorded run and "
            "can start flows, so it listens on 127.0.0.1 only; add --allow-remote to listen "
            f"on {host} anyway"
        )
    flows = [load_flow(target) for target in flow_targets]
    try:
        serve_ui(
            db,
            flows=flows,
            host=host,
            port=port,
            open_browser=open_browser,
            allow_remote=allow_remote,
            echo=lambda text: _say(io, text),
        )
    except (HistoryError, OSError, ValueError) as exc:  # a bad database, a port in use
        raise CommandError(str(exc)) from exc
    return 0
