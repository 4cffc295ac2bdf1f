"""headwater's local web UI over the run history: runs, flows, a run's graph and timeline, logs,
artifacts, comparisons, and a JSON API (``/api/``, described at ``/api/openapi.json``).

Needs the ``ui`` extra (``pip install "headwater[ui]"``: Starlette, uvicorn, Jinja2). From the
command line, ``headwater ui`` serves it on 127.0.0.1 and prints its URL; from Python::

    from headwater import Flow, Parameter
    from headwater.ui import serve_ui

    with Flow("hello") as flow:
        name = Parameter("name", default="world")

    serve_ui(flows=[flow])  # until Ctrl-C; prints the URL with the start-up token

:class:`UIServer` serves in a background thread instead (``with UIServer(db) as server:``), and
:func:`create_app` gives the Starlette application itself, to mount or test, and
:func:`render_report` one run as a self-contained HTML file (``headwater report``). Pages and the API
read the history freely; starting a registered flow needs the token printed at start-up
(``Authorization: Bearer TOKEN``). The UI listens on loopback only unless ``allow_remote=True``,
escapes everything a user wrote, and sends a strict Content-Security-Policy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.utilities.imports import require

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from headwater.ui._server import UIServer

__all__ = ["UIServer", "create_app", "render_report", "serve_ui"]


def _require() -> None:
    for module in ("starlette", "uvicorn", "jinja2"):
        require(module, "ui", feature="headwater ui")


def create_app(
    db: str | os.PathLike[str] | None = None,
    *,
    flows: Iterable[Any] = (),
    token: str,
    refresh_seconds: tuple[float, float] = (1.0, 5.0),
) -> Starlette:
    """The UI as a Starlette application over the history database ``db``.

    Args:
        db: a SQLite path or a ``postgresql://`` URL (default: the configured history).
        flows: flows the UI may start (``Flow`` objects or ``(name, Flow)`` pairs).
        token: the token that starting a run needs.
        refresh_seconds: how often pages poll while runs are live, and otherwise.

    Raises:
        MissingExtraError: the ``ui`` extra is not installed.
    """
    _require()
    from headwater.ui._app import build_app
    from headwater.ui._data import StoreAccess

    target = None if db is None else os.fspath(db)
    return build_app(
        StoreAccess(target),
        flows=flows,
        token=token,
        history_target=target,
        refresh_seconds=refresh_seconds,
    )


def render_report(store: Any, run_id: int) -> str:
    """Flow run ``run_id`` as one self-contained HTML page (``headwater report``).

    The page shows the run's state, parameters, graph coloured by state, timeline, failing
    tasks' tracebacks, task runs, logs and artifacts, styled inline; it loads nothing from
    elsewhere and needs no script, so it can be kept as a CI artifact or mailed.

    Args:
        store: a history store (``headwater.history.open_store()``), or where one is: a
            SQLite path or a ``postgresql://`` URL (``None``: the configured history).
        run_id: the flow run's id.

    Raises:
        LookupError: no flow run has that id.
        MissingExtraError: the ``ui`` extra is not installed.
    """
    _require()
    from headwater.ui._report import report_html

    if callable(getattr(store, "get_flow_run", None)):
        return report_html(store, run_id)
    from headwater.history import flush, open_store

    flush()  # runs this process finished are in the report
    with open_store(None if store is None else os.fspath(store)) as opened:
        return report_html(opened, run_id)


def __getattr__(name: str) -> Any:
    if name == "UIServer":
        _require()
        from headwater.ui._server import UIServer

        return UIServer
    raise AttributeError(f"module 'headwater.ui' has no attribute {name!r}")


def serve_ui(
    db: str | os.PathLike[str] | None = None,
    *,
    flows: Iterable[Any] = (),
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = False,
    allow_remote: bool = False,
    token: str | None = None,
    echo: Callable[[str], None] | None = None,
) -> None:
    """Serve the UI until Ctrl-C, after printing its URL (with the token).

    Args:
        db: a SQLite path or a ``postgresql://`` URL (default: the configured history).
        flows: flows the UI may start (``Flow`` objects or ``(name, Flow)`` pairs).
        host: the address to listen on; only loopback unless ``allow_remote``.
        port: the port (0: a free one).
        open_browser: open the UI in a web browser.
        allow_remote: allow ``host`` to be an address other machines can reach.
        token: the token actions need (default: a new random one).
        echo: where the URL and notices are written (default: standard output).

    Raises:
        MissingExtraError: the ``ui`` extra is not installed.
        ValueError: ``host`` is not loopback and ``allow_remote`` is false.
    """
    _require()
    from headwater.ui._security import is_loopback
    from headwater.ui._server import UIServer

    say = echo or (lambda text: print(text, flush=True))
    server = UIServer(db, flows=flows, host=host, port=port, token=token, allow_remote=allow_remote)
    try:
        if not is_loopback(host):
            say(
                f"warning: listening on {host}, reachable from other machines; anyone with "
                "the token can start flows"
            )
        say(f"headwater UI: {server.token_url}")
        say(f"token for actions (Authorization: Bearer ...): {server.token}")
        say("Press Ctrl-C to stop.")
        if open_browser:  # in a thread: a browser command may not return until it is closed
            import threading
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(server.token_url,), daemon=True).start()
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C before the server took over the signal
        server.close()
    say("headwater UI stopped.")
    sys.stdout.flush()
