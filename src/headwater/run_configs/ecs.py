"""``ECSRun``: a flow run as an AWS ECS task (metadata in headwater)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from headwater.run_configs.base import RunConfig, load_yaml

__all__ = ["ECSRun"]


class ECSRun(RunConfig):
    """Run the flow as an ECS task.

    At most one of ``task_definition``, ``task_definition_path`` and ``task_definition_arn``
    may be given. A local ``task_definition_path`` is read at once and kept as
    ``task_definition``; a remote one (``s3://``...) is kept as a path.

    Args:
        task_definition: a task definition as a dict.
        task_definition_path: path of a task definition (YAML).
        task_definition_arn: a registered task definition (``family:revision`` or an ARN).
        image: the image to use.
        env: extra environment variables of the task.
        cpu: CPU units or e.g. ``"1 vcpu"`` (kept as a string).
        memory: MiB or e.g. ``"2 GB"`` (kept as a string).
        task_role_arn: the IAM role of the task.
        execution_role_arn: the execution role used when registering the task definition.
        run_task_kwargs: extra arguments of ECS ``run_task``.
        labels: labels of the run config.

    Raises:
        ValueError: more than one task definition is given, or ``task_definition_arn`` is
            given with ``image``.
    """

    def __init__(
        self,
        *,
        task_definition: Mapping[str, Any] | None = None,
        task_definition_path: str | None = None,
        task_definition_arn: str | None = None,
        image: str | None = None,
        env: Mapping[str, Any] | None = None,
        cpu: int | str | None = None,
        memory: int | str | None = None,
        task_role_arn: str | None = None,
        execution_role_arn: str | None = None,
        run_task_kwargs: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        super().__init__(env=env, labels=labels)
        given = [task_definition, task_definition_path, task_definition_arn]
        if sum(x is not None for x in given) > 1:
            raise ValueError(
                "Can only provide one of `task_definition`, `task_definition_path`, "
                "or `task_definition_arn`"
            )
        if task_definition_arn is not None and image is not None:
            raise ValueError(
                "Cannot provide both `task_definition_arn` and `image`, since an ECS "
                "task's `image` can only be configured as part of the task definition"
            )
        if task_definition is not None and not isinstance(task_definition, Mapping):
            raise TypeError(
                f"ECSRun: task_definition must be a dict, got {type(task_definition).__name__}; "
                "use task_definition_path for a file."
            )
        if run_task_kwargs is not None and not isinstance(run_task_kwargs, Mapping):
            raise TypeError(f"ECSRun: run_task_kwargs must be a dict, got {run_task_kwargs!r}.")
        if task_definition_path is not None:
            from headwater.utilities.filesystems import parse_path

            parsed = parse_path(task_definition_path)
            if parsed.scheme == "file":
                with open(parsed.path, encoding="utf-8") as f:
                    task_definition = load_yaml("ECSRun", f.read(), task_definition_path)
                task_definition_path = None
        self.task_definition = dict(task_definition) if task_definition is not None else None
        self.task_definition_path = task_definition_path
        self.task_definition_arn = task_definition_arn
        self.image = image
        self.cpu = str(cpu) if cpu is not None else None
        self.memory = str(memory) if memory is not None else None
        self.task_role_arn = task_role_arn
        self.execution_role_arn = execution_role_arn
        self.run_task_kwargs = dict(run_task_kwargs) if run_task_kwargs is not None else None
