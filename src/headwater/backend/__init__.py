"""Prefect's views of server-side objects (flows, flow runs, task runs, tenants), its key-value
store and its artifacts API. headwater has no server: each of them raises
:class:`~headwater.exceptions.ServerNotAvailableError` naming the local alternative.
"""

from __future__ import annotations

from headwater._server_only import RUN_LOCALLY, ServerOnly, server_only_function

__all__ = [
    "FlowRunView",
    "FlowView",
    "TaskRunView",
    "TenantView",
    "create_link_artifact",
    "create_markdown_artifact",
    "delete_artifact",
    "delete_key",
    "get_key_value",
    "list_keys",
    "set_key_value",
    "update_link_artifact",
    "update_markdown_artifact",
]

_STATES = "look at the State that flow.run() returns: state.result maps each task to its state"
_KV = "keep values in a file, a database, or headwater.context during a run"
_ARTIFACTS = "log the link or markdown with the task's logger, or write it to a file"


class FlowRunView(ServerOnly):
    """A flow run on Prefect's server; raises when created."""

    _alternative = _STATES


class TaskRunView(ServerOnly):
    """A task run on Prefect's server; raises when created."""

    _alternative = _STATES


class FlowView(ServerOnly):
    """A registered flow on Prefect's server; raises when created."""

    _alternative = "keep flows with flow.save() / Flow.load() or headwater.storage.Local"


class TenantView(ServerOnly):
    """A Prefect Cloud tenant; raises when created."""

    _alternative = RUN_LOCALLY


set_key_value = server_only_function("set_key_value", _KV)
get_key_value = server_only_function("get_key_value", _KV)
delete_key = server_only_function("delete_key", _KV)
list_keys = server_only_function("list_keys", _KV)
create_link_artifact = server_only_function("create_link_artifact", _ARTIFACTS)
create_markdown_artifact = server_only_function("create_markdown_artifact", _ARTIFACTS)
update_link_artifact = server_only_function("update_link_artifact", _ARTIFACTS)
update_markdown_artifact = server_only_function("update_markdown_artifact", _ARTIFACTS)
delete_artifact = server_only_function("delete_artifact", _ARTIFACTS)
