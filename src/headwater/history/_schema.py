"""The history database's schema: numbered migrations, written once for SQLite and PostgreSQL.

Version ``n`` of the schema is what migrations ``1..n`` of :data:`MIGRATIONS` build, in order.
A SQLite file keeps its version in ``PRAGMA user_version``; a PostgreSQL database in the one
row of the table ``headwater_schema``. Opening a store brings an older database up to
:data:`SCHEMA_VERSION` in one transaction; a database newer than this headwater is refused with
a message saying so, so an older release never writes a schema it does not know.

Times are seconds since the epoch (UTC) as floating-point numbers, so they sort and subtract
alike in both databases; JSON values (parameters, graphs, artifact data) are text. Every key is
an integer. A task run of a mapped task has its ``map_index``; an unmapped one has ``-1``
there (read back as ``None``), so that ``(flow_run_id, task_slug, map_index)`` is unique.

The statements use the placeholders ``{pk}`` (an integer primary key the database assigns),
``{ref}`` (an integer column referring to one) and ``{float}`` (a double-precision number),
which :func:`statements` fills in for a dialect.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "statements"]

_V1 = """
CREATE TABLE flows (
    id {pk},
    name TEXT NOT NULL,
    graph_hash TEXT NOT NULL,
    graph TEXT,
    created_at {float} NOT NULL,
    UNIQUE (name, graph_hash)
);
CREATE TABLE flow_runs (
    id {pk},
    run_uuid TEXT NOT NULL UNIQUE,
    flow_id {ref} NOT NULL REFERENCES flows (id),
    name TEXT,
    parameters TEXT,
    state TEXT NOT NULL,
    message TEXT,
    started_at {float},
    ended_at {float},
    host TEXT,
    pid INTEGER,
    version TEXT,
    executor TEXT,
    scheduled_at {float},
    parent_run_id {ref}
);
CREATE INDEX flow_runs_by_flow ON flow_runs (flow_id, started_at);
CREATE INDEX flow_runs_by_start ON flow_runs (started_at);
CREATE TABLE task_runs (
    id {pk},
    flow_run_id {ref} NOT NULL REFERENCES flow_runs (id),
    task_slug TEXT NOT NULL,
    task_name TEXT NOT NULL,
    map_index INTEGER NOT NULL,
    state TEXT NOT NULL,
    message TEXT,
    started_at {float},
    ended_at {float},
    run_count INTEGER NOT NULL,
    cached INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    error_type TEXT,
    error_message TEXT,
    traceback TEXT,
    UNIQUE (flow_run_id, task_slug, map_index)
);
CREATE TABLE logs (
    id {pk},
    flow_run_id {ref} NOT NULL REFERENCES flow_runs (id),
    task_slug TEXT,
    map_index INTEGER,
    task_name TEXT,
    level INTEGER NOT NULL,
    logger TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at {float} NOT NULL
);
CREATE INDEX logs_by_run ON logs (flow_run_id, id);
"""

_V2 = """
ALTER TABLE flow_runs ADD COLUMN heartbeat_at {float};
CREATE INDEX flow_runs_by_state ON flow_runs (state);
CREATE TABLE artifacts (
    id {pk},
    flow_run_id {ref} NOT NULL REFERENCES flow_runs (id),
    task_slug TEXT,
    map_index INTEGER,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    description TEXT,
    data TEXT,
    created_at {float} NOT NULL
);
CREATE INDEX artifacts_by_run ON artifacts (flow_run_id, id);
"""

_V3 = """
CREATE TABLE registered_flows (
    id {pk},
    name TEXT NOT NULL,
    project TEXT NOT NULL,
    version INTEGER NOT NULL,
    labels TEXT NOT NULL,
    storage TEXT,
    location TEXT,
    schedule TEXT,
    schedule_active INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    flow_hash TEXT NOT NULL,
    idempotency_key TEXT,
    registered_at {float} NOT NULL,
    UNIQUE (name, project, version)
);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
"""The migrations, in order: ``MIGRATIONS[n - 1]`` takes a database from version ``n - 1`` to
``n`` (1: flows, flow runs, task runs, logs; 2: heartbeats, artifacts; 3: registered flows,
one row per version, see :mod:`headwater.history._registry`)."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this headwater reads and writes."""

_TYPES = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY", "ref": "INTEGER", "float": "REAL"},
    "postgresql": {"pk": "BIGSERIAL PRIMARY KEY", "ref": "BIGINT", "float": "DOUBLE PRECISION"},
}


def statements(migration: str, dialect: str) -> list[str]:
    """The SQL statements of ``migration`` for ``dialect`` (``"sqlite"`` or ``"postgresql"``)."""
    text = migration.format(**_TYPES[dialect])
    return [s.strip() for s in text.split(";") if s.strip()]
