"""Registered flows: the flows ``flow.register()`` keeps for ``headwater serve``, one row a version.

Prefect 1 registered a flow with its server; headwater keeps the flow in its storage (by
default a file under ``{home_dir}/flows``) and records it in the run history's table
``registered_flows``: name, project, labels, where the storage keeps it, the schedule (as
text, and whether it is active), the parameters with their defaults, when it was registered and
its version. Registering a flow again adds a version only when something about it changed (its
serialized form, labels, storage or schedule), or when an ``idempotency_key`` is given that
differs from the latest version's; the same key again adds nothing::

    import tempfile
    from pathlib import Path

    from headwater.history import open_store

    with open_store(Path(tempfile.mkdtemp()) / "history.db") as store:
        first = store.register_flow("etl", project="data", flow_hash="a")
        again = store.register_flow("etl", project="data", flow_hash="a")
        changed = store.register_flow("etl", project="data", flow_hash="b")
        assert (first["version"], again["version"], changed["version"]) == (1, 1, 2)
        assert store.get_registered_flow("etl")["flow_hash"] == "b"

:class:`FlowRegistry` is the part of the store interface
(:class:`~headwater.history.HistoryStore`) that reads and writes them; :class:`SQLFlowRegistry`
implements it in SQL that SQLite and PostgreSQL share.
"""

from __future__ import annotations

import abc
import datetime as _dt
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from headwater.history import _rows

__all__ = ["FlowRegistry", "SQLFlowRegistry", "describe_schedule"]

T = TypeVar("T")

_COLUMNS = (
    "id, name, project, version, labels, storage, location, schedule, schedule_active, "
    "parameters, flow_hash, idempotency_key, registered_at"
)
_COMPARED = ("labels", "storage", "location", "schedule", "schedule_active", "parameters")


class FlowRegistry(abc.ABC):
    """Reading and writing the registered flows of a history store.

    Each method returns plain dicts: ``id``, ``name``, ``project`` (``None`` for none),
    ``version``, ``labels`` (a sorted list), ``storage`` (the storage as
    ``StorageSchema`` serializes it, or ``None``), ``location`` (where the storage keeps the
    flow), ``schedule`` (a description, or ``None``), ``schedule_active``, ``parameters``
    (``{name, required, default}`` each), ``flow_hash``, ``idempotency_key`` and
    ``registered_at`` (ISO-8601, UTC).
    """

    @abc.abstractmethod
    def register_flow(
        self,
        name: str,
        *,
        project: str | None = None,
        labels: Iterable[str] = (),
        storage: Mapping[str, Any] | None = None,
        location: str | None = None,
        schedule: str | None = None,
        schedule_active: bool = True,
        parameters: Sequence[Mapping[str, Any]] = (),
        flow_hash: str = "",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Record a version of flow ``name`` in ``project``; the version registered.

        A new version is added when the latest one differs (in ``flow_hash``, labels,
        storage, location, schedule or parameters), or when ``idempotency_key`` is given and
        is not the latest version's key; otherwise the latest version is returned as it is.
        The dict has one more key, ``created``: whether this call added the version.
        """

    @abc.abstractmethod
    def list_registered_flows(
        self, *, project: str | None = None, labels: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """The latest version of every registered flow, by name (only those of ``project``,
        and only those carrying every label of ``labels``, when given)."""

    @abc.abstractmethod
    def get_registered_flow(
        self, name: str, project: str | None = None, version: int | None = None
    ) -> dict[str, Any] | None:
        """The latest version (or ``version``) of registered flow ``name`` (in ``project``;
        for ``None``, the most recently registered of any project), or ``None``."""


class SQLFlowRegistry(FlowRegistry):
    """:class:`FlowRegistry` in SQL common to SQLite and PostgreSQL (a mixin of the SQL store,
    which gives the connection methods named below)."""

    if TYPE_CHECKING:
        dialect: str

        def sql(self, text: str) -> str: ...

        def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

        def insert_id(self, cur: Any, text: str, params: Sequence[Any]) -> int: ...

        def transaction(self, work: Callable[[Any], T]) -> T: ...

    def register_flow(
        self,
        name: str,
        *,
        project: str | None = None,
        labels: Iterable[str] = (),
        storage: Mapping[str, Any] | None = None,
        location: str | None = None,
        schedule: str | None = None,
        schedule_active: bool = True,
        parameters: Sequence[Mapping[str, Any]] = (),
        flow_hash: str = "",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Record a version of flow ``name`` (see :meth:`FlowRegistry.register_flow`)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a registered flow needs a name, got {name!r}")
        values = {
            "labels": json.dumps(sorted({str(label) for label in labels})),
            "storage": None if storage is None else json.dumps(dict(storage), sort_keys=True),
            "location": location,
            "schedule": schedule,
            "schedule_active": 1 if schedule_active else 0,
            "parameters": json.dumps([dict(p) for p in parameters], sort_keys=True),
        }

        def write(cur: Any) -> dict[str, Any]:
            if self.dialect == "postgresql":  # versions are numbered one writer at a time
                cur.execute("LOCK TABLE registered_flows IN SHARE ROW EXCLUSIVE MODE")
            cur.execute(
                self.sql(
                    f"SELECT {_COLUMNS} FROM registered_flows WHERE name = ? AND project = ? "
                    "ORDER BY version DESC LIMIT 1"
                ),
                [name, project or ""],
            )
            latest = cur.fetchone()
            if latest is not None and _unchanged(latest, values, flow_hash, idempotency_key):
                return {**_registered_dict(latest), "created": False}
            version = 1 if latest is None else int(latest[3]) + 1
            row = [name, project or "", version, *values.values(), flow_hash, idempotency_key]
            row_id = self.insert_id(
                cur,
                f"INSERT INTO registered_flows ({_COLUMNS.removeprefix('id, ')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [*row, time.time()],
            )
            cur.execute(self.sql(f"SELECT {_COLUMNS} FROM registered_flows WHERE id = ?"), [row_id])
            return {**_registered_dict(cur.fetchone()), "created": True}

        return self.transaction(write)

    def list_registered_flows(
        self, *, project: str | None = None, labels: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """The latest version of every registered flow, by name and project."""
        where, params = "", []
        if project is not None:
            where, params = " AND r.project = ?", [project]
        rows = self.query(
            f"SELECT {_COLUMNS} FROM registered_flows r WHERE r.version = (SELECT MAX(x.version) "
            f"FROM registered_flows x WHERE x.name = r.name AND x.project = r.project){where} "
            "ORDER BY r.name, r.project",
            params,
        )
        wanted = {str(label) for label in labels}
        flows = [_registered_dict(row) for row in rows]
        return [f for f in flows if wanted <= set(f["labels"])]

    def get_registered_flow(
        self, name: str, project: str | None = None, version: int | None = None
    ) -> dict[str, Any] | None:
        """The latest version (or ``version``) of registered flow ``name``, or ``None``."""
        where = "name = ?"
        params: list[Any] = [name]
        if project is not None:
            where += " AND project = ?"
            params.append(project)
        if version is not None:
            where += " AND version = ?"
            params.append(int(version))
        rows = self.query(
            f"SELECT {_COLUMNS} FROM registered_flows WHERE {where} "
            "ORDER BY registered_at DESC, version DESC LIMIT 1",
            params,
        )
        return _registered_dict(rows[0]) if rows else None


def _unchanged(
    latest: Sequence[Any], values: Mapping[str, Any], flow_hash: str, key: str | None
) -> bool:
    """Whether registering again keeps the ``latest`` version (see ``register_flow``)."""
    if key is not None:
        return bool(latest[11] == key)
    stored = dict(zip(_COMPARED, latest[4:10], strict=True))
    return latest[10] == flow_hash and all(stored[k] == values[k] for k in _COMPARED)


def _registered_dict(row: Sequence[Any]) -> dict[str, Any]:
    rid, name, project, version, labels, storage, location, schedule, active = row[:9]
    parameters, flow_hash, key, registered_at = row[9:13]
    return {
        "id": int(rid),
        "name": name,
        "project": project or None,
        "version": int(version),
        "labels": json.loads(labels),
        "storage": None if storage is None else json.loads(storage),
        "location": location,
        "schedule": schedule,
        "schedule_active": bool(active),
        "parameters": json.loads(parameters),
        "flow_hash": flow_hash,
        "idempotency_key": key,
        "registered_at": _rows.iso(registered_at),
    }


# -- describing a schedule ---------------------------------------------------------------------
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _every(interval: _dt.timedelta) -> str:
    seconds = interval.total_seconds()
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"every {count} {unit}{'' if count == 1 else 's'}"
    return f"every {seconds:g} seconds"


def _clock_text(clock: Any) -> str:
    kind = type(clock).__name__
    if getattr(clock, "interval", None) is not None:
        return _every(clock.interval)
    if getattr(clock, "cron", None) is not None:
        return f"cron {clock.cron!r}"
    if kind == "RRuleClock":
        return "rrule " + " ".join(str(clock.rrule).split())
    if kind == "DatesClock":
        return "on given dates"
    return kind


def describe_schedule(schedule: Any) -> str | None:
    """A one-line description of a schedule (``"every 5 minutes; cron '0 9 * * *'"``), or
    ``None`` for no schedule."""
    if schedule is None:
        return None
    clocks = list(getattr(schedule, "clocks", None) or [])
    text = "; ".join(_clock_text(c) for c in clocks) or type(schedule).__name__
    kept = ("filters", "or_filters", "not_filters", "adjustments")
    if any(getattr(schedule, name, None) for name in kept):
        text += " (with filters or adjustments)"
    return text
