"""Schemas of run configs."""

from __future__ import annotations

from headwater.run_configs import (
    DockerRun,
    ECSRun,
    KubernetesRun,
    LocalRun,
    UniversalRun,
    VertexRun,
)
from headwater.serialization._fields import Dict, Integer, JSONCompatible, List, SortedList, String
from headwater.serialization._schema import ObjectSchema, OneOfSchema

__all__ = ["RunConfigSchema"]


class RunConfigSchemaBase(ObjectSchema):
    env = Dict(keys=String(), values=JSONCompatible())
    labels = SortedList(String())


class UniversalRunSchema(RunConfigSchemaBase):
    class Meta:
        object_class = UniversalRun


class KubernetesRunSchema(RunConfigSchemaBase):
    class Meta:
        object_class = KubernetesRun

    job_template_path = String()
    job_template = JSONCompatible()
    image = String()
    cpu_limit = String()
    cpu_request = String()
    memory_limit = String()
    memory_request = String()
    service_account_name = String()
    image_pull_secrets = List(String())
    image_pull_policy = String()


class ECSRunSchema(RunConfigSchemaBase):
    class Meta:
        object_class = ECSRun

    task_definition_path = String()
    task_definition = JSONCompatible()
    task_definition_arn = String()
    image = String()
    cpu = String()
    memory = String()
    task_role_arn = String()
    execution_role_arn = String()
    run_task_kwargs = JSONCompatible()


class LocalRunSchema(RunConfigSchemaBase):
    class Meta:
        object_class = LocalRun

    working_dir = String()


class DockerRunSchema(RunConfigSchemaBase):
    class Meta:
        object_class = DockerRun

    ports = List(Integer())
    image = String()
    host_config = Dict(keys=String(), values=JSONCompatible())


class VertexRunSchema(RunConfigSchemaBase):
    class Meta:
        object_class = VertexRun

    image = String()
    machine_type = String()
    scheduling = Dict(keys=String(), values=JSONCompatible())
    service_account = String()
    network = String()
    worker_pool_specs = List(Dict(keys=String(), values=JSONCompatible()))


class RunConfigSchema(OneOfSchema):
    """Chooses the run config schema by class name."""

    type_schemas = {
        "KubernetesRun": KubernetesRunSchema,
        "ECSRun": ECSRunSchema,
        "LocalRun": LocalRunSchema,
        "DockerRun": DockerRunSchema,
        "UniversalRun": UniversalRunSchema,
        "VertexRun": VertexRunSchema,
    }
