"""Prefect 3 names that only work with Prefect's server: each raises, naming the local way.

The top-level stand-ins (``headwater.deploy``, ``headwater.get_client``...) live here, with the
local alternatives the stand-ins of :mod:`headwater.automations`, :mod:`headwater.workers`,
:mod:`headwater.client.orchestration`, :mod:`headwater.blocks.notifications` and the others
name, and :class:`ServerOnlyBlock`, the base of block types that need the server.
"""

from __future__ import annotations

from typing import Any, NoReturn

from headwater._server_only import ServerOnly, server_only, server_only_function

__all__ = [
    "AUTOMATE_LOCALLY",
    "HISTORY_LOCALLY",
    "NOTIFY_LOCALLY",
    "SERVE_LOCALLY",
    "ServerOnlyBlock",
    "deploy",
    "get_client",
    "pause_flow_run",
    "resume_flow_run",
    "suspend_flow_run",
]

SERVE_LOCALLY = (
    "run the flow on a schedule in this process with flow.serve(cron=..., interval=...) or "
    "headwater.serve(flow.to_deployment(...), ...), or call the flow"
)
HISTORY_LOCALLY = (
    "read runs from headwater's run history (headwater.history.open_store(), the `headwater "
    "runs` command or the `headwater ui` web UI), and keep named values in "
    "headwater.variables.Variable"
)
NOTIFY_LOCALLY = (
    "send the message from a hook of the flow or task, e.g. @flow(on_failure=[notify]) with "
    "notify(flow, flow_run, state) posting to your webhook, or a Prefect 1 flow's "
    "state_handlers=[slack_notifier] (headwater.utilities.notifications); keep the webhook URL "
    "under [context.secrets] in config.toml"
)
AUTOMATE_LOCALLY = (
    "react to run outcomes in the process with hooks: @flow(on_completion=[...], "
    "on_failure=[...], on_crashed=[...]) and @task(on_failure=[...]) call hook(flow, flow_run, "
    "state); for notifications see headwater.utilities.notifications, and run flows on "
    "schedules with flow.serve(...)"
)

deploy = server_only_function("deploy", SERVE_LOCALLY)
get_client = server_only_function("get_client", HISTORY_LOCALLY)
pause_flow_run = server_only_function(
    "pause_flow_run", "pause a task with headwater's pause_task() in a Prefect 1 flow"
)
resume_flow_run = server_only_function("resume_flow_run", "run the flow again")
suspend_flow_run = server_only_function("suspend_flow_run", "end the run and run it again later")


class ServerOnlyBlock(ServerOnly):
    """A Prefect block type kept by Prefect's server: creating, loading or saving one raises.

    Subclasses set ``_alternative`` to the local way of doing what the block did.
    """

    @classmethod
    def load(cls, name: str, *args: Any, **kwargs: Any) -> NoReturn:
        """Needs a Prefect server: raises, naming the local way."""
        server_only(f"{cls.__name__}.load({name!r})", cls._alternative)

    @classmethod
    async def aload(cls, name: str, *args: Any, **kwargs: Any) -> NoReturn:
        """Needs a Prefect server: raises, naming the local way."""
        server_only(f"{cls.__name__}.aload({name!r})", cls._alternative)
