"""``headwater.runtime``'s objects: attribute views of the current flow run and task run."""

from __future__ import annotations

import datetime
from typing import Any

from headwater.modern.context import FLOW_RUN, TASK_RUN

__all__ = ["deployment", "flow_run", "task_run"]


class _FlowRunView:
    """The current flow run (read ``headwater.runtime.flow_run.<attribute>``)."""

    def _run(self) -> Any:
        return FLOW_RUN.get()

    def _get(self, name: str, default: Any = None) -> Any:
        run = self._run()
        return getattr(run, name) if run is not None else default

    @property
    def id(self) -> str | None:
        return self._get("id")  # type: ignore[no-any-return]

    @property
    def name(self) -> str | None:
        return self._get("name")  # type: ignore[no-any-return]

    @property
    def flow_name(self) -> str | None:
        return self._get("flow_name")  # type: ignore[no-any-return]

    @property
    def flow_version(self) -> str | None:
        return self._get("flow_version")  # type: ignore[no-any-return]

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self._get("parameters", {}))

    @property
    def run_count(self) -> int:
        return self._get("run_count", 0)  # type: ignore[no-any-return]

    @property
    def tags(self) -> list[str]:
        return sorted(self._get("tags", ()))

    @property
    def scheduled_start_time(self) -> datetime.datetime:
        value = self._get("scheduled_start_time")
        return value if value is not None else datetime.datetime.now(datetime.UTC)

    @property
    def start_time(self) -> datetime.datetime | None:
        return self._get("start_time")  # type: ignore[no-any-return]

    @property
    def parent_flow_run_id(self) -> str | None:
        return self._get("parent_flow_run_id")  # type: ignore[no-any-return]

    @property
    def parent_task_run_id(self) -> str | None:
        return self._get("parent_task_run_id")  # type: ignore[no-any-return]

    @property
    def root_flow_run_id(self) -> str | None:
        return self._get("root_flow_run_id")  # type: ignore[no-any-return]

    @property
    def parent_deployment_id(self) -> None:
        return None

    @property
    def api_url(self) -> None:
        return None

    @property
    def ui_url(self) -> None:
        return None


class _TaskRunView:
    """The current task run (read ``headwater.runtime.task_run.<attribute>``)."""

    def _get(self, name: str, default: Any = None) -> Any:
        run = TASK_RUN.get()
        return getattr(run, name) if run is not None else default

    @property
    def id(self) -> str | None:
        return self._get("id")  # type: ignore[no-any-return]

    @property
    def name(self) -> str | None:
        return self._get("name")  # type: ignore[no-any-return]

    @property
    def task_name(self) -> str | None:
        return self._get("task_name")  # type: ignore[no-any-return]

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self._get("parameters", {}))

    @property
    def run_count(self) -> int:
        return self._get("run_count", 0)  # type: ignore[no-any-return]

    @property
    def tags(self) -> list[str]:
        return sorted(self._get("tags", ()))

    @property
    def api_url(self) -> None:
        return None

    @property
    def ui_url(self) -> None:
        return None


class _DeploymentView:
    """Deployments live on Prefect's server: every attribute is ``None`` (``parameters`` {})."""

    id = name = version = flow_run_id = None

    @property
    def parameters(self) -> dict[str, Any]:
        return {}


flow_run = _FlowRunView()
task_run = _TaskRunView()
deployment = _DeploymentView()
