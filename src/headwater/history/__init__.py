"""The run history: every flow run recorded into an embedded database, off the task hot path.

``flow.run()`` records each run — the flow (name, graph hash, graph), the run (parameters,
state, times, host, process, headwater version, executor, scheduled time, parent run), every
task run (state, times, run count, cached, error and traceback), log lines at
``history.log_level`` or above (``history.max_logs_per_run`` at most) and artifacts — into
``{home_dir}/history.db`` (SQLite; ``history.path``), or into PostgreSQL when ``history.url``
is set. ``history.enabled = false``, a flow made with ``history=False`` (``Flow(...,
history=False)``, ``@flow(history=False)``), ``flow.run(history=False)`` or ``headwater run
--no-history`` turn it off; ``flow.run(history=...)`` decides over the flow's option, and the
flow's over the configuration.

Read it back with :func:`open_store`::

    import tempfile
    from pathlib import Path

    from headwater import Flow, task
    from headwater.history import open_store
    from headwater.utilities.configuration import set_temporary_config

    @task
    def add(x, y):
        return x + y

    with Flow("adder") as flow:
        add(1, 2)

    db = Path(tempfile.mkdtemp()) / "history.db"
    with set_temporary_config({"history.path": str(db)}):
        flow.run()
    with open_store(db) as store:
        store.flush()                      # wait for this process's writer
        run = store.list_flow_runs(flow_name="adder")[0]
        assert run["state"] == "Success"
        assert [t["task_name"] for t in store.list_task_runs(run["id"])] == ["add"]
"""

from __future__ import annotations

import os

from headwater.history._errors import HistoryError
from headwater.history._recorder import (
    ARTIFACT_TYPES,
    HistoryLogHandler,
    HistoryRecorder,
    default_recorder,
    is_url,
    record_artifact,
    resolve_target,
    running_runs,
)
from headwater.history._store import HistoryStore
from headwater.history._writer import flush_all as flush

__all__ = [
    "ARTIFACT_TYPES",
    "HistoryError",
    "HistoryLogHandler",
    "HistoryRecorder",
    "HistoryStore",
    "default_recorder",
    "flush",
    "open_store",
    "record_artifact",
    "resolve_target",
]


def open_store(target: str | os.PathLike[str] | None = None) -> HistoryStore:
    """Open the run history for reading (creating it, with its schema, if missing).

    Opening also marks ``Crashed`` the runs left unfinished by a process that is gone.

    Args:
        target: a SQLite file path, or a ``postgresql://`` URL (default: ``history.url`` if
            set, else ``history.path``).

    Raises:
        HistoryError: not a history database, one of a newer headwater, or a server that
            cannot be reached.
        MissingExtraError: a PostgreSQL URL without psycopg installed (``headwater[postgres]``).
    """
    resolved = resolve_target(target)
    if is_url(resolved):
        from headwater.history._postgres import PostgresStore

        store: HistoryStore = PostgresStore(resolved, mark_crashed=False)
    else:
        from headwater.history._sqlite import SQLiteStore

        store = SQLiteStore(resolved, mark_crashed=False)
    store.mark_crashed(frozenset(running_runs()))
    return store
