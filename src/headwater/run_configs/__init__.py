"""Run configs: where and how a flow's runs should be started, kept as flow metadata.

In Prefect 1 a run config told an agent (local process, Docker, Kubernetes, ECS, Vertex) how to
start each flow run. headwater runs flows in the calling process, so a run config is
metadata: it is validated like Prefect's, kept on the flow (``flow.run_config``), included in
``flow.serialize()``, and otherwise does not change how ``flow.run()`` behaves::

    from headwater import Flow
    from headwater.run_configs import KubernetesRun, LocalRun

    flow = Flow("etl", run_config=LocalRun(env={"STAGE": "dev"}, labels=["dev"]))
    assert flow.run_config.labels == {"dev"}

    try:
        KubernetesRun(job_template_path="job.yaml", job_template={"kind": "Job"})
    except ValueError as exc:
        assert "job_template_path" in str(exc)
"""

from __future__ import annotations

from headwater.run_configs.base import RunConfig, UniversalRun
from headwater.run_configs.docker import DockerRun
from headwater.run_configs.ecs import ECSRun
from headwater.run_configs.kubernetes import KubernetesRun
from headwater.run_configs.local import LocalRun
from headwater.run_configs.vertex import VertexRun

__all__ = [
    "DockerRun",
    "ECSRun",
    "KubernetesRun",
    "LocalRun",
    "RunConfig",
    "UniversalRun",
    "VertexRun",
]
