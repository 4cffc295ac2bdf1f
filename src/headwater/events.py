"""Events (Prefect 3's ``prefect.events``): ``emit_event`` records the event with the run.

Prefect sends events to its server, where automations react to them. headwater has no server:
:func:`emit_event` keeps the event with the current flow run (read them back with
:func:`events_of`), logs it at DEBUG on the ``headwater.events`` logger and returns it, so a
flow that emits events runs unchanged::

    from headwater import flow
    from headwater.events import emit_event, events_of

    @flow
    def publish(table: str) -> str:
        emit_event(
            "warehouse.table.refreshed",
            resource={"prefect.resource.id": f"warehouse.table.{table}"},
            payload={"rows": 42},
        )
        return table

    state = publish("orders", return_state=True)
    (event,) = events_of(state.run_id)
    assert event.event == "warehouse.table.refreshed" and event.payload == {"rows": 42}

Events emitted outside any flow run are kept under ``events_of(None)``; those of tasks run in
other processes (``ProcessPoolTaskRunner``, a dask cluster) stay in those processes, where
they are logged. Only the most recent
:data:`MAX_EVENTS_PER_RUN` events of each of the last :data:`MAX_RUNS` runs are kept. The
automation and trigger classes (also importable from here, as in Prefect) and the events
clients need Prefect's server and raise
:class:`~headwater.exceptions.ServerNotAvailableError` (see :mod:`headwater.automations`).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import logging
import threading
import uuid
from typing import Any

from headwater._server_only import ServerOnly, server_only_function
from headwater.automations import (  # Prefect has them here too
    Automation,
    AutomationCore,
    CallWebhook,
    CancelFlowRun,
    ChangeFlowRunState,
    CompositeTrigger,
    CompoundTrigger,
    DeclareIncident,
    DeleteFlowRun,
    DoNothing,
    EventTrigger,
    MetricTrigger,
    MetricTriggerOperator,
    MetricTriggerQuery,
    PauseAutomation,
    PauseDeployment,
    PauseWorkPool,
    PauseWorkQueue,
    Posture,
    PrefectMetric,
    ResourceSpecification,
    ResourceTrigger,
    ResumeAutomation,
    ResumeDeployment,
    ResumeWorkPool,
    ResumeWorkQueue,
    RunDeployment,
    SendNotification,
    SequenceTrigger,
    SuspendFlowRun,
    Trigger,
)
from headwater.modern.server_only import AUTOMATE_LOCALLY

__all__ = [
    "MAX_EVENTS_PER_RUN",
    "MAX_RUNS",
    "DeploymentCompoundTrigger",
    "DeploymentEventTrigger",
    "DeploymentMetricTrigger",
    "DeploymentSequenceTrigger",
    "Event",
    "emit_event",
    "events_of",
    "get_events_client",
    "get_events_subscriber",
    "Automation",
    "AutomationCore",
    "CallWebhook",
    "CancelFlowRun",
    "ChangeFlowRunState",
    "CompositeTrigger",
    "CompoundTrigger",
    "DeclareIncident",
    "DeleteFlowRun",
    "DoNothing",
    "EventTrigger",
    "MetricTrigger",
    "MetricTriggerOperator",
    "MetricTriggerQuery",
    "PauseAutomation",
    "PauseDeployment",
    "PauseWorkPool",
    "PauseWorkQueue",
    "Posture",
    "PrefectMetric",
    "ResourceSpecification",
    "ResourceTrigger",
    "ResumeAutomation",
    "ResumeDeployment",
    "ResumeWorkPool",
    "ResumeWorkQueue",
    "RunDeployment",
    "SendNotification",
    "SequenceTrigger",
    "SuspendFlowRun",
    "Trigger",
]

MAX_EVENTS_PER_RUN = 1000
MAX_RUNS = 200
_logger = logging.getLogger("headwater.events")
_lock = threading.Lock()
_by_run: collections.OrderedDict[str | None, collections.deque[Event]] = collections.OrderedDict()

get_events_client = server_only_function("get_events_client", AUTOMATE_LOCALLY)
get_events_subscriber = server_only_function("get_events_subscriber", AUTOMATE_LOCALLY)


class DeploymentEventTrigger(ServerOnly):
    """A trigger running a deployment on events; needs the server."""

    _alternative = AUTOMATE_LOCALLY


class DeploymentMetricTrigger(DeploymentEventTrigger):
    """A trigger running a deployment on a metric; needs the server."""


class DeploymentCompoundTrigger(DeploymentEventTrigger):
    """A compound trigger running a deployment; needs the server."""


class DeploymentSequenceTrigger(DeploymentEventTrigger):
    """A sequence trigger running a deployment; needs the server."""


@dataclasses.dataclass(frozen=True)
class Event:
    """An event as :func:`emit_event` recorded it.

    Attributes:
        event: the event's name, e.g. ``"warehouse.table.refreshed"``.
        resource: the resource it is about (``{"prefect.resource.id": ..., ...}``).
        related: related resources, the current flow run and task run among them.
        payload: the event's data.
        occurred: when it happened (UTC).
        id: the event's id.
        follows: the id of the event this one follows, if any.
    """

    event: str
    resource: dict[str, str]
    related: list[dict[str, str]]
    payload: dict[str, Any]
    occurred: datetime.datetime
    id: uuid.UUID
    follows: uuid.UUID | None = None


def _resource(value: Any, what: str) -> dict[str, str]:
    if (
        not isinstance(value, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        or not value.get("prefect.resource.id")
    ):
        raise ValueError(
            f"emit_event: {what} must be a dict of strings with a 'prefect.resource.id' key, "
            f"e.g. {{'prefect.resource.id': 'my.table.orders'}}; got {value!r}."
        )
    return dict(value)


def _run_resources() -> tuple[str | None, list[dict[str, str]]]:
    """The current flow run's id, and the current flow run and task run as related resources."""
    from headwater.modern.context import current_flow_run, current_task_run

    related = []
    flow_run, task_run = current_flow_run(), current_task_run()
    if task_run is not None:
        flow_run = flow_run or task_run.flow_run
        related.append(_related(f"prefect.task-run.{task_run.id}", "task-run", task_run.name))
    if flow_run is not None:
        related.append(_related(f"prefect.flow-run.{flow_run.id}", "flow-run", flow_run.name))
        related.append(_related(f"prefect.flow.{flow_run.flow_name}", "flow", flow_run.flow_name))
    return (flow_run.id if flow_run is not None else None), related


def _related(resource_id: str, role: str, name: str) -> dict[str, str]:
    return {
        "prefect.resource.id": resource_id,
        "prefect.resource.role": role,
        "prefect.resource.name": name,
    }


def emit_event(
    event: str,
    resource: dict[str, str],
    occurred: datetime.datetime | None = None,
    related: list[dict[str, str]] | None = None,
    payload: dict[str, Any] | None = None,
    id: uuid.UUID | None = None,
    follows: Any = None,
    **kwargs: Any,
) -> Event:
    """Record an event with the current run; returns it.

    Args:
        event: the event's name.
        resource: the resource it is about; needs a ``"prefect.resource.id"``.
        occurred: when it happened (default: now).
        related: related resources (each with a ``"prefect.resource.id"``).
        payload: the event's data.
        id: the event's id (default: a new one).
        follows: the event (or its id) this one follows.

    Raises:
        ValueError: ``event`` is not a string, or a resource has no ``prefect.resource.id``.
    """
    if not isinstance(event, str) or not event:
        raise ValueError(f"emit_event: the event's name must be a string, got {event!r}.")
    run_id, run_related = _run_resources()
    recorded = Event(
        event=event,
        resource=_resource(resource, "resource"),
        related=[_resource(r, "each related resource") for r in related or ()] + run_related,
        payload=dict(payload or {}),
        occurred=occurred or datetime.datetime.now(datetime.UTC),
        id=id or uuid.uuid4(),
        follows=getattr(follows, "id", follows),
    )
    with _lock:
        kept = _by_run.get(run_id)
        if kept is None:
            kept = _by_run[run_id] = collections.deque(maxlen=MAX_EVENTS_PER_RUN)
            while len(_by_run) > MAX_RUNS:
                _by_run.popitem(last=False)
        kept.append(recorded)
    _logger.debug("event %s about %s", event, recorded.resource["prefect.resource.id"])
    return recorded


def events_of(flow_run_id: str | None) -> list[Event]:
    """The events emitted in flow run ``flow_run_id`` (``None``: outside any flow run)."""
    with _lock:
        return list(_by_run.get(flow_run_id, ()))
