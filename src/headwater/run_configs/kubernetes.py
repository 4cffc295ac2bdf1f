"""``KubernetesRun``: a flow run as a Kubernetes job (metadata in headwater)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from headwater.run_configs.base import RunConfig, load_yaml

__all__ = ["KubernetesRun"]

_PULL_POLICIES = ("Always", "IfNotPresent", "Never")


class KubernetesRun(RunConfig):
    """Run the flow as a Kubernetes job.

    A local ``job_template_path`` (no scheme, or ``file://``/``local://``) is read at once and
    kept as ``job_template``; a remote one (``s3://``, ``gcs://``, ``agent://``) is kept as a path.

    Args:
        job_template_path: path of a job template (YAML).
        job_template: a job template as a dict or YAML text.
        image: the image to use.
        env: extra environment variables of the job.
        cpu_limit: CPU limit (kept as a string).
        cpu_request: CPU request (kept as a string).
        memory_limit: memory limit.
        memory_request: memory request.
        service_account_name: the service account of the job.
        image_pull_secrets: names of image pull secrets.
        labels: labels of the run config.
        image_pull_policy: ``"Always"``, ``"IfNotPresent"`` or ``"Never"``.

    Raises:
        ValueError: both ``job_template_path`` and ``job_template`` are given, or
            ``image_pull_policy`` is not one of the three policies.
    """

    def __init__(
        self,
        *,
        job_template_path: str | None = None,
        job_template: str | Mapping[str, Any] | None = None,
        image: str | None = None,
        env: Mapping[str, Any] | None = None,
        cpu_limit: float | str | None = None,
        cpu_request: float | str | None = None,
        memory_limit: str | None = None,
        memory_request: str | None = None,
        service_account_name: str | None = None,
        image_pull_secrets: Iterable[str] | None = None,
        labels: Iterable[str] | None = None,
        image_pull_policy: str | None = None,
    ) -> None:
        super().__init__(env=env, labels=labels)
        if job_template_path is not None and job_template is not None:
            raise ValueError(
                "KubernetesRun: cannot provide both `job_template_path` and `job_template`; "
                "give one of them."
            )
        template: Any = job_template
        if job_template_path is not None:
            from headwater.utilities.filesystems import parse_path

            parsed = parse_path(job_template_path)
            if parsed.scheme == "file":
                with open(parsed.path, encoding="utf-8") as f:
                    template = load_yaml("KubernetesRun", f.read(), job_template_path)
                job_template_path = None
        elif isinstance(job_template, str):
            template = load_yaml("KubernetesRun", job_template, "job_template")
        if template is not None and not isinstance(template, Mapping):
            raise TypeError(
                f"KubernetesRun: the job template must be a mapping (a Kubernetes Job), got "
                f"{type(template).__name__}."
            )
        if image_pull_policy is not None and image_pull_policy not in _PULL_POLICIES:
            raise ValueError(
                f"Invalid image_pull_policy {image_pull_policy!r}.  "
                "Expected 'Always', 'IfNotPresent', or 'Never'"
            )
        if isinstance(image_pull_secrets, str):
            raise TypeError(
                f"KubernetesRun: image_pull_secrets must be a list of secret names; write "
                f"image_pull_secrets=[{image_pull_secrets!r}]."
            )
        self.job_template_path = job_template_path
        self.job_template = dict(template) if template is not None else None
        self.image = image
        self.cpu_limit = str(cpu_limit) if cpu_limit is not None else None
        self.cpu_request = str(cpu_request) if cpu_request is not None else None
        self.memory_limit = memory_limit
        self.memory_request = memory_request
        self.service_account_name = service_account_name
        self.image_pull_secrets = (
            list(image_pull_secrets) if image_pull_secrets is not None else None
        )
        self.image_pull_policy = image_pull_policy
