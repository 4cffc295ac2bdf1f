"""``headwater serve`` (and its alias ``headwater agent start``): run flows on their schedules in
this process, record every run, and let the UI start them.

::

    $ headwater serve                    # the flows registered with flow.register()
    $ headwater serve flows.py etl.py:nightly --project data --label prod --no-ui
    $ headwater agent local start        # what Prefect 1's `prefect agent local start` did

The flows served are the registered ones (the latest version of each, loaded from its storage;
``--project`` and ``--label`` choose among them) and those found in the given files or modules
(every flow of a file, or the one ``FILE:NAME`` names). Each flow with an active schedule runs
on it in a thread of its own (the engine's schedule loop); every flow can be started from the
UI, which is served as ``headwater ui`` serves it (``--host``, ``--port``; starting a run needs
the token it prints) unless ``--no-ui``. Runs are recorded in the run history (``--db``, or the
configured one) even where recording is turned off. The registered flows are read again every
``--poll-seconds``: new ones are served, and a new version replaces the one served. Ctrl-C or
SIGTERM stops serving: no new run starts, the runs in progress are waited for (Ctrl-C again
stops waiting), and the command exits with status 0. The loop itself is
:mod:`headwater.cli._serve_loop`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

from headwater.cli._app import CommandError, CommandIO, UsageProblem, app, pass_io
from headwater.cli._serve_loop import ServedFlow

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.history import HistoryStore

__all__ = [
    "agent_group",
    "collect",
    "flows_in",
    "registered_flows",
    "serve_command",
    "serve_options",
]

AGENT_NOTE = (
    "headwater has no server to poll: this serves the registered flows locally, as "
    "`headwater serve` does"
)


def _say(io: CommandIO, text: str) -> None:
    io.out(text)
    io.stdout.flush()


# -- finding the flows ------------------------------------------------------------------------
def _load_registered(row: dict[str, Any]) -> Flow:
    """The flow of a registered version, loaded from its storage.

    Raises:
        CommandError: the storage cannot give the flow back.
    """
    from headwater.serialization.storage import StorageSchema

    if row["storage"] is None:
        raise CommandError(f"registered flow {row['name']!r} has no storage to load it from")
    try:
        storage = StorageSchema().load(row["storage"])
        flow: Flow = storage.get_flow(row["name"])
    except Exception as exc:
        raise CommandError(
            f"registered flow {row['name']!r} (version {row['version']}) cannot be loaded "
            f"from {row['location']!r}: {' '.join(str(exc).split())}; register it again"
        ) from None
    return flow


def _new(row: dict[str, Any], served: Mapping[str, ServedFlow]) -> bool:
    """Whether registered version ``row`` is to be served instead of what ``served`` has: a
    flow not served yet, or a new version of a registered flow of the same project (a file's
    flow is never replaced)."""
    current = served.get(row["name"])
    if current is None:
        return True
    if current.key is None or current.project != row["project"]:
        return False
    return bool(current.key != row["id"])


def registered_flows(
    store: HistoryStore,
    project: str | None,
    labels: tuple[str, ...],
    warn: Callable[[str], None],
    served: Mapping[str, ServedFlow] | None = None,
    failed: set[int] | None = None,
) -> list[ServedFlow]:
    """The latest version of every registered flow that ``project`` and ``labels`` choose
    (only those new to ``served``, when given). A version that cannot be loaded is left out,
    with a warning through ``warn``, and added to ``failed``, whose versions are not tried
    again."""
    failed = set() if failed is None else failed
    out = []
    for row in store.list_registered_flows(project=project, labels=labels):
        if row["id"] in failed or (served is not None and not _new(row, served)):
            continue
        where = f"project {row['project']!r}, " if row["project"] else ""
        try:
            flow = _load_registered(row)
        except CommandError as exc:
            failed.add(row["id"])
            warn(f"warning: {exc.format_message()}; it is not served")
            continue
        out.append(
            ServedFlow(
                flow,
                f"registered, {where}version {row['version']}",
                schedule_active=row["schedule_active"],
                key=row["id"],
                project=row["project"],
            )
        )
    return out


def reloader(
    db: str | None,
    project: str | None,
    labels: tuple[str, ...],
    warn: Callable[[str], None],
    failed: set[int],
) -> Callable[[Mapping[str, ServedFlow]], list[ServedFlow]]:
    """What ``headwater serve`` reads again every ``--poll-seconds``: the registered flows
    that are new, or have a new version (those of ``failed`` are not tried again)."""
    from headwater.history import open_store

    def reload(served: Mapping[str, ServedFlow]) -> list[ServedFlow]:
        with open_store(db) as store:
            return registered_flows(store, project, labels, warn, served, failed)

    return reload


def flows_in(text: str) -> list[Flow]:
    """Every flow of the file or module ``text`` (or the one ``FILE:NAME`` names).

    Raises:
        UsageProblem: no such file or module, or no flow in it.
        CommandError: running or importing it raised.
    """
    from headwater.cli._load import (
        candidates_in,
        import_module,
        load_flow,
        parse_target,
        run_script,
    )
    from headwater.context import context

    target = parse_target(text)
    with context(loading_flow=True):  # a flow.register() at module level does nothing here
        if target.name is not None:
            return [load_flow(text)]
        if target.path is not None:
            namespace = run_script(target.path)
        else:
            assert target.module is not None
            namespace = import_module(target.module)
        found = [c.get(target.where) for c in candidates_in(namespace)]
    if not found:
        raise UsageProblem(
            f"no flow found in {target.where}: define a Flow at module level, or name one as "
            "FILE:NAME"
        )
    return found


def collect(
    store: HistoryStore,
    paths: tuple[str, ...],
    project: str | None,
    labels: tuple[str, ...],
    warn: Callable[[str], None],
    failed: set[int],
) -> list[ServedFlow]:
    """The registered flows and the flows of ``paths``; a file's flow replaces a registered
    one of the same name (see :func:`registered_flows` for ``warn`` and ``failed``).

    Raises:
        UsageProblem: two flows of the files, or two registered flows, share a name.
    """
    by_name: dict[str, ServedFlow] = {}
    for served in registered_flows(store, project, labels, warn, failed=failed):
        if served.flow.name in by_name:
            raise UsageProblem(
                f"flow {served.flow.name!r} is registered in several projects; choose one "
                "with --project"
            )
        by_name[served.flow.name] = served
    from_files: set[str] = set()
    for path in paths:
        for flow in flows_in(path):
            if flow.name in from_files:
                raise UsageProblem(f"two of the given flows are named {flow.name!r}; rename one")
            from_files.add(flow.name)
            by_name[flow.name] = ServedFlow(flow, f"from {path}")
    return sorted(by_name.values(), key=lambda s: s.flow.name)


# -- the commands -----------------------------------------------------------------------------
def serve_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The arguments and options of ``headwater serve`` (and of ``headwater agent start``)."""
    options = [
        click.argument("paths", nargs=-1, metavar="[PATH[:NAME]]..."),
        click.option(
            "--db",
            metavar="PATH_OR_URL",
            help="The history database the registered flows are read from and runs recorded "
            "in: a SQLite file or a postgresql:// URL (default: the configured history).",
        ),
        click.option("--project", help="Serve only the registered flows of this project."),
        click.option(
            "-l",
            "--label",
            "labels",
            multiple=True,
            help="Serve only the registered flows carrying this label (repeatable: all of them).",
        ),
        click.option(
            "--poll-seconds",
            type=click.FloatRange(min=0.1),
            default=10.0,
            show_default=True,
            help="How often the registered flows are read again, to serve new ones and new "
            "versions.",
        ),
        click.option("--no-ui", is_flag=True, help="Do not serve the web UI."),
        click.option("--host", default="127.0.0.1", show_default=True, help="The UI's address."),
        click.option(
            "--port",
            type=click.IntRange(0, 65535),
            default=0,
            help="The UI's port (default: a free one).",
        ),
        click.option(
            "--allow-remote",
            is_flag=True,
            help="Allow a --host that other machines can reach (anyone with the token can "
            "start flows).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _ui_options(io: CommandIO, options: dict[str, Any]) -> dict[str, Any] | None:
    """The ``UIServer`` options, or ``None`` with ``--no-ui``.

    Raises:
        UsageProblem: a ``--host`` other machines can reach, without ``--allow-remote``.
        MissingExtraError: the ``ui`` extra is not installed.
    """
    from headwater.ui._security import is_loopback
    from headwater.utilities.imports import require

    if options["no_ui"]:
        return None
    for module in ("starlette", "uvicorn", "jinja2"):  # before anything starts
        require(module, "ui", feature="the UI of `headwater serve` (--no-ui serves without it)")
    host, remote = options["host"], options["allow_remote"]
    if not is_loopback(host):
        if not remote:
            raise UsageProblem(
                f"--host {host} is not a loopback address: the UI can start flows, so it "
                f"listens on 127.0.0.1 only; add --allow-remote to listen on {host} anyway"
            )
        _say(io, f"warning: the UI listens on {host}, reachable from other machines")
    return {"host": host, "port": options["port"], "allow_remote": remote}


def _check(served: list[ServedFlow], ui: dict[str, Any] | None) -> None:
    """Refuse to serve nothing, or flows that nothing would start."""
    if not served:
        raise UsageProblem(
            "no flow to serve: register one with flow.register(), or give a file of flows "
            "(headwater serve FILE)"
        )
    if ui is None and not any(s.scheduled for s in served):
        raise UsageProblem(
            "none of the flows has an active schedule and --no-ui leaves no way to start "
            "them; drop --no-ui to start them from the UI"
        )


def run_serve(io: CommandIO, options: dict[str, Any]) -> int:
    """What ``headwater serve`` does with its parsed ``options``."""
    from headwater.cli._serve_loop import Serving
    from headwater.history import HistoryError, open_store

    def say(text: str) -> None:
        _say(io, text)

    ui = _ui_options(io, options)
    db, project, labels = options["db"], options["project"], options["labels"]
    failed: set[int] = set()
    try:
        with open_store(db) as store:
            served = collect(store, options["paths"], project, labels, say, failed)
            where = store.target
    except HistoryError as exc:
        raise CommandError(str(exc)) from exc
    _check(served, ui)
    say(f"Serving {len(served)} flow(s) in this process, recording runs in {where}:")
    for s in served:
        say(f"  {s.describe()}")
    reload = reloader(db, project, labels, say, failed)
    serving = Serving(
        served, db=db, ui=ui, say=say, reload=reload, reload_seconds=options["poll_seconds"]
    )
    try:
        serving.run()
    except (HistoryError, OSError, ValueError) as exc:  # a bad database, a port in use
        raise CommandError(str(exc)) from exc
    _say(io, "Stopped serving.")
    return 0


@app.command("serve")
@serve_options
@pass_io
def serve_command(io: CommandIO, /, **options: Any) -> int:
    """Run registered flows and the flows of files on their schedules, with the UI.

    Serves the latest version of every registered flow (--project and --label choose among
    them) and the flows of the given files or modules; the UI starts any of them with
    parameters. Ctrl-C stops.
    """
    return run_serve(io, options)


@app.group("agent")
def agent_group() -> None:
    """Serve registered flows locally (Prefect 1's agent; there is no server to poll)."""


def _agent_start(io: CommandIO, options: dict[str, Any]) -> int:
    _say(io, AGENT_NOTE)
    return run_serve(io, options)


@agent_group.command("start")
@serve_options
@pass_io
def agent_start_command(io: CommandIO, /, **options: Any) -> int:
    """Serve the registered flows locally, as `headwater serve` does."""
    return _agent_start(io, options)


@agent_group.group("local")
def agent_local_group() -> None:
    """Serve registered flows locally (Prefect 1's local agent)."""


@agent_local_group.command("start")
@serve_options
@pass_io
def agent_local_start_command(io: CommandIO, /, **options: Any) -> int:
    """Serve the registered flows locally, as `headwater serve` does."""
    return _agent_start(io, options)
