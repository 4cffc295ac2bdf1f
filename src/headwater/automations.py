"""Automations (Prefect 3's ``prefect.automations``): they run on Prefect's server, so they raise.

An automation is a trigger (events seen by the server, or their absence) and actions the server
takes. headwater has no server: every class of Prefect's ``prefect.automations`` exists, so a
script importing them still imports, and creating one (or ``Automation.read(...)``) raises
:class:`~headwater.exceptions.ServerNotAvailableError` naming the local way: hooks of the flow
or task, which run in the process when a run completes, fails or crashes::

    from headwater import flow
    from headwater.automations import Automation
    from headwater.exceptions import ServerNotAvailableError

    failures = []

    def alert(flow, flow_run, state):
        failures.append(flow_run.name)

    @flow(flow_run_name="nightly", on_failure=[alert])
    def nightly():
        raise ValueError("no data")

    assert nightly(return_state=True).is_failed() and failures == ["nightly"]
    try:
        Automation(name="alert on failure")
    except ServerNotAvailableError as exc:
        assert "on_failure" in str(exc)

``Posture``, ``MetricTriggerOperator`` and ``PrefectMetric`` are plain enums (their members can
be read).
"""

from __future__ import annotations

import enum
from typing import Any, NoReturn

from headwater._server_only import ServerOnly, server_only
from headwater.modern.server_only import AUTOMATE_LOCALLY

__all__ = [
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


class Posture(enum.StrEnum):
    """Whether a trigger reacts to events, to their absence, or to a metric."""

    Reactive = "Reactive"
    Proactive = "Proactive"
    Metric = "Metric"


class MetricTriggerOperator(enum.Enum):
    """How a metric trigger compares the metric with its threshold."""

    LT = "<"
    LTE = "<="
    GT = ">"
    GTE = ">="


class PrefectMetric(enum.Enum):
    """The metrics a metric trigger can watch."""

    lateness = "lateness"
    duration = "duration"
    successes = "successes"


class _AutomationPart(ServerOnly):
    _alternative = AUTOMATE_LOCALLY


class AutomationCore(_AutomationPart):
    """Prefect's automation definition; needs the server."""


class Automation(AutomationCore):
    """An automation kept by Prefect's server: creating or reading one raises."""

    @classmethod
    def read(cls, id: Any = None, name: str | None = None) -> NoReturn:
        """Needs a Prefect server: raises, naming the local way."""
        server_only("Automation.read()", AUTOMATE_LOCALLY)

    @classmethod
    async def aread(cls, id: Any = None, name: str | None = None) -> NoReturn:
        """Needs a Prefect server: raises, naming the local way."""
        server_only("Automation.aread()", AUTOMATE_LOCALLY)


class ResourceSpecification(_AutomationPart):
    """Which resources a trigger matches; needs the server."""


class Trigger(_AutomationPart):
    """The base of the triggers; needs the server."""


class ResourceTrigger(Trigger):
    """A trigger on events of resources; needs the server."""


class EventTrigger(ResourceTrigger):
    """A trigger on events (or their absence); needs the server."""


class MetricTriggerQuery(_AutomationPart):
    """The query of a metric trigger; needs the server."""


class MetricTrigger(ResourceTrigger):
    """A trigger on a metric of runs; needs the server."""


class CompositeTrigger(Trigger):
    """The base of triggers made of triggers; needs the server."""


class CompoundTrigger(CompositeTrigger):
    """Some or all of several triggers; needs the server."""


class SequenceTrigger(CompositeTrigger):
    """Triggers in order; needs the server."""


class DoNothing(_AutomationPart):
    """An action that does nothing; needs the server."""


class RunDeployment(_AutomationPart):
    """An action running a deployment; needs the server."""


class PauseDeployment(_AutomationPart):
    """An action pausing a deployment's schedule; needs the server."""


class ResumeDeployment(_AutomationPart):
    """An action resuming a deployment's schedule; needs the server."""


class CancelFlowRun(_AutomationPart):
    """An action cancelling a flow run; needs the server."""


class DeleteFlowRun(_AutomationPart):
    """An action deleting a flow run; needs the server."""


class ChangeFlowRunState(_AutomationPart):
    """An action changing a flow run's state; needs the server."""


class SuspendFlowRun(_AutomationPart):
    """An action suspending a flow run; needs the server."""


class PauseWorkQueue(_AutomationPart):
    """An action pausing a work queue; needs the server."""


class ResumeWorkQueue(_AutomationPart):
    """An action resuming a work queue; needs the server."""


class PauseWorkPool(_AutomationPart):
    """An action pausing a work pool; needs the server."""


class ResumeWorkPool(_AutomationPart):
    """An action resuming a work pool; needs the server."""


class SendNotification(_AutomationPart):
    """An action sending a notification through a block; needs the server."""


class CallWebhook(_AutomationPart):
    """An action calling a webhook block; needs the server."""


class PauseAutomation(_AutomationPart):
    """An action pausing an automation; needs the server."""


class ResumeAutomation(_AutomationPart):
    """An action resuming an automation; needs the server."""


class DeclareIncident(_AutomationPart):
    """An action declaring an incident (Prefect Cloud); needs the server."""
