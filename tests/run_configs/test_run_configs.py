"""Run configs: Prefect 1's arguments and validation, kept as metadata on the flow."""

from __future__ import annotations

import json
import os

import pytest

from headwater import Flow
from headwater.run_configs import (
    DockerRun,
    ECSRun,
    KubernetesRun,
    LocalRun,
    RunConfig,
    UniversalRun,
    VertexRun,
)
from headwater.serialization.run_config import RunConfigSchema

ALL = [UniversalRun, LocalRun, DockerRun, KubernetesRun, ECSRun, VertexRun]


@pytest.mark.parametrize("cls", ALL)
def test_defaults(cls: type[RunConfig]) -> None:
    config = cls()
    assert config.env is None
    assert config.labels == set()


@pytest.mark.parametrize("cls", ALL)
def test_env_and_labels(cls: type[RunConfig]) -> None:
    config = cls(env={"A": "1"}, labels=["x", "y", "x"])
    assert config.env == {"A": "1"}
    assert config.labels == {"x", "y"}


@pytest.mark.parametrize("cls", ALL)
def test_a_bare_string_label_is_refused(cls: type[RunConfig]) -> None:
    with pytest.raises(TypeError, match=r"labels=\['gpu'\]"):
        cls(labels="gpu")


@pytest.mark.parametrize("cls", ALL)
def test_env_must_be_a_dict(cls: type[RunConfig]) -> None:
    with pytest.raises(TypeError, match=f"{cls.__name__}: env must be a dict"):
        cls(env=["A=1"])


@pytest.mark.parametrize("cls", [LocalRun, DockerRun, KubernetesRun, ECSRun, VertexRun])
def test_arguments_are_keyword_only(cls: type[RunConfig]) -> None:
    with pytest.raises(TypeError):
        cls({"A": "1"})


def test_local_run_makes_working_dir_absolute(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert LocalRun(working_dir="sub").working_dir == os.path.join(os.getcwd(), "sub")


def test_docker_run_ports_must_be_ints() -> None:
    assert DockerRun(image="img", ports=[8080]).ports == [8080]
    with pytest.raises(TypeError, match="ports must be ints"):
        DockerRun(ports=["8080"])


class TestKubernetesRun:
    def test_template_path_and_template_are_exclusive(self) -> None:
        with pytest.raises(ValueError, match="both `job_template_path` and `job_template`"):
            KubernetesRun(job_template_path="job.yaml", job_template={"kind": "Job"})

    def test_bad_image_pull_policy(self) -> None:
        with pytest.raises(ValueError, match="Invalid image_pull_policy 'Sometimes'"):
            KubernetesRun(image_pull_policy="Sometimes")

    def test_local_template_is_read(self, tmp_path: os.PathLike[str]) -> None:
        path = os.path.join(tmp_path, "job.yaml")
        with open(path, "w") as f:
            f.write("kind: Job\nspec: {}\n")
        config = KubernetesRun(job_template_path=path)
        assert config.job_template == {"kind": "Job", "spec": {}}
        assert config.job_template_path is None

    def test_remote_template_path_is_kept(self) -> None:
        config = KubernetesRun(job_template_path="s3://bucket/job.yaml")
        assert config.job_template_path == "s3://bucket/job.yaml"
        assert config.job_template is None

    def test_yaml_text_template_and_string_resources(self) -> None:
        config = KubernetesRun(job_template="kind: Job", cpu_limit=2, cpu_request=0.5)
        assert config.job_template == {"kind": "Job"}
        assert (config.cpu_limit, config.cpu_request) == ("2", "0.5")


class TestECSRun:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {"task_definition": {"family": "f"}, "task_definition_arn": "f:1"},
            {"task_definition_path": "s3://b/t.yaml", "task_definition_arn": "f:1"},
            {"task_definition": {"family": "f"}, "task_definition_path": "s3://b/t.yaml"},
        ],
    )
    def test_one_task_definition_only(self, kwargs: dict[str, object]) -> None:
        with pytest.raises(ValueError, match="Can only provide one of `task_definition`"):
            ECSRun(**kwargs)  # type: ignore[arg-type]

    def test_arn_and_image_are_exclusive(self) -> None:
        with pytest.raises(ValueError, match="both `task_definition_arn` and `image`"):
            ECSRun(task_definition_arn="f:1", image="img")

    def test_cpu_and_memory_become_strings(self) -> None:
        config = ECSRun(cpu=1024, memory="2 GB")
        assert (config.cpu, config.memory) == ("1024", "2 GB")


def test_vertex_run_checks_specs() -> None:
    assert VertexRun().machine_type == "e2-standard-4"
    with pytest.raises(TypeError, match="worker_pool_specs must be a list of dicts"):
        VertexRun(worker_pool_specs=["n1"])  # type: ignore[list-item]


def test_flow_keeps_its_run_config_and_serializes_it() -> None:
    config = KubernetesRun(image="img:1", labels=["b", "a"], env={"X": "1"})
    flow = Flow("f", run_config=config)
    assert flow.run_config is config
    data = json.loads(json.dumps(flow.serialize()))
    assert data["run_config"]["type"] == "KubernetesRun"
    assert data["run_config"]["labels"] == ["a", "b"]
    assert data["run_config"]["image"] == "img:1"


@pytest.mark.parametrize(
    "config",
    [
        UniversalRun(labels=["a"]),
        LocalRun(working_dir="/tmp", env={"A": "1"}),
        DockerRun(image="i", ports=[1], host_config={"mem_limit": "1g"}),
        KubernetesRun(job_template={"kind": "Job"}, image_pull_secrets=["s"]),
        ECSRun(task_definition_arn="f:1", run_task_kwargs={"cluster": "c"}),
        VertexRun(image="i", scheduling={"timeout": "60s"}),
    ],
)
def test_serialize_round_trip(config: RunConfig) -> None:
    data = config.serialize()
    loaded = RunConfigSchema().load(json.loads(json.dumps(data)))
    assert type(loaded) is type(config)
    assert loaded == config
