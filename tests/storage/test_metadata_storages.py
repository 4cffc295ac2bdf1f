"""Prefect 1's remote storages: same arguments and validation, kept on the flow as metadata."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from headwater import Flow, task
from headwater.exceptions import FlowStorageError
from headwater.serialization.storage import StorageSchema
from headwater.storage import (
    GCS,
    S3,
    Azure,
    Bitbucket,
    CodeCommit,
    Docker,
    Git,
    GitHub,
    GitLab,
    Local,
    Module,
    Storage,
    Webhook,
    get_default_storage_class,
)
from headwater.utilities.configuration import set_temporary_config


def _webhook() -> Webhook:
    return Webhook(
        build_request_kwargs={"url": "https://example.com/upload"},
        build_request_http_method="POST",
        get_flow_request_kwargs={"url": "https://example.com/flow"},
        get_flow_request_http_method="GET",
    )


REMOTE = {
    "S3": lambda: S3(bucket="bucket", key="flows/etl"),
    "GCS": lambda: GCS(bucket="bucket", key="flows/etl"),
    "Azure": lambda: Azure(container="box", blob_name="flows/etl"),
    "Docker": lambda: Docker(registry_url="reg", image_name="img", image_tag="1"),
    "Webhook": _webhook,
}
GIT = {
    "GitHub": lambda: GitHub(repo="org/repo", path="flows/etl.py"),
    "GitLab": lambda: GitLab(repo="group/repo", path="flows/etl.py"),
    "Bitbucket": lambda: Bitbucket(project="P", repo="repo", path="flows/etl.py"),
    "CodeCommit": lambda: CodeCommit(repo="repo", path="flows/etl.py"),
    "Git": lambda: Git(flow_path="flows/etl.py", repo="org/repo"),
}


def flow() -> Flow:
    @task
    def one() -> int:
        return 1

    with Flow("etl") as f:
        one()
    return f


@pytest.mark.parametrize("name", sorted({**REMOTE, **GIT}))
def test_storage_is_kept_on_the_flow_and_serialized(name: str) -> None:
    storage = {**REMOTE, **GIT}[name]()
    f = flow()
    f.storage = storage
    location = storage.add_flow(f)
    assert "etl" in storage and storage.flows["etl"] == location
    assert storage.get_flow("etl") is f  # added in this process
    data = json.loads(json.dumps(f.serialize()))
    assert data["storage"]["type"] == name
    assert data["storage"]["flows"] == {"etl": location}
    loaded = StorageSchema().load(data["storage"])
    assert type(loaded) is type(storage)
    assert loaded.flows == {"etl": location}


@pytest.mark.parametrize("name", sorted(REMOTE))
def test_remote_storages_refuse_to_build_or_download(name: str) -> None:
    storage = REMOTE[name]()
    with pytest.raises(FlowStorageError, match=f"{name} storage cannot be built.*Local"):
        storage.build()
    storage.flows["other"] = "somewhere"
    with pytest.raises(FlowStorageError, match="does not download flows"):
        storage.get_flow("other")


@pytest.mark.parametrize("name", sorted(GIT))
def test_git_storages_build_to_themselves(name: str) -> None:
    storage = GIT[name]()
    assert storage.build() is storage
    assert storage.stored_as_script


@pytest.mark.parametrize("name", sorted({**REMOTE, **GIT}))
def test_adding_a_flow_twice_is_refused(name: str) -> None:
    storage = {**REMOTE, **GIT}[name]()
    storage.add_flow(flow())
    if name == "Webhook":  # a webhook holds one flow: adding replaces it
        storage.add_flow(flow())
        assert list(storage.flows) == ["etl"]
        return
    with pytest.raises(ValueError, match='Flow with the name "etl" is already present'):
        storage.add_flow(flow())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: S3(bucket=""), "S3 storage needs a bucket name"),
        (lambda: GCS(bucket=None), "GCS storage needs a bucket name"),
        (lambda: Azure(container=3), "Azure storage needs a container name"),
        (lambda: GitHub(repo="org/repo", path=None), "GitHub storage: path must be"),
        (lambda: Module(module=""), "Module storage needs the dotted import path"),
    ],
)
def test_required_arguments_are_checked(make: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    "make, exc, message",
    [
        (
            lambda: Docker(base_image="python:3.11", dockerfile="Dockerfile"),
            ValueError,
            "Only one of `base_image` and `dockerfile`",
        ),
        (lambda: Docker(files={"rel/path": "/x"}), ValueError, "rel/path are not absolute"),
        (
            lambda: Bitbucket(project="P", repo="r", workspace="w", access_token_secret="T"),
            ValueError,
            "`access_token_secret` and `workspace` are both set",
        ),
        (
            lambda: Git(flow_path="f.py", repo="o/r", branch_name="main", tag="v1"),
            ValueError,
            "only one of the following parameters: `branch_name`, `tag`, `commit`",
        ),
        (lambda: Git(flow_path="f.py"), ValueError, "Either `repo` or `git_clone_url_secret_name`"),
        (
            lambda: Webhook(
                build_request_kwargs={},
                build_request_http_method="FETCH",
                get_flow_request_kwargs={},
                get_flow_request_http_method="GET",
            ),
            RuntimeError,
            "HTTP method 'FETCH' not recognized",
        ),
    ],
)
def test_conflicting_arguments_are_refused(make: object, exc: type, message: str) -> None:
    with pytest.raises(exc, match=message):
        make()  # type: ignore[operator]


def test_docker_name() -> None:
    assert Docker(registry_url="reg", image_name="img", image_tag="1").name == "reg/img:1"
    with pytest.raises(ValueError, match="missing required fields image_name and image_tag"):
        _ = Docker().name


def test_module_storage_loads_the_flow_by_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_flows_mod.py").write_text(
        textwrap.dedent(
            """
            from headwater import Flow, task

            @task
            def two():
                return 2

            with Flow("two") as flow:
                two()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_flows_mod", raising=False)
    storage = Module("my_flows_mod")
    loaded = storage.get_flow("two")
    assert loaded.name == "two"
    assert loaded.run().is_successful()


def test_labels_and_default_labels() -> None:
    import socket

    assert S3(bucket="b", labels=["x"]).labels == ["x"]
    local = Local(directory="/tmp/hw-flows", labels=["x"], validate=False)
    assert set(local.labels) == {"x", socket.gethostname()}
    assert Local(directory="/tmp/hw-flows", add_default_labels=False).labels == []


def test_default_storage_class_follows_the_configuration() -> None:
    assert get_default_storage_class() is Local
    with set_temporary_config({"flows.defaults.storage.default_class": "headwater.storage.S3"}):
        assert get_default_storage_class() is S3
    with set_temporary_config({"flows.defaults.storage.default_class": "nowhere.Nothing"}):
        with pytest.raises(ValueError, match="nowhere.Nothing.*cannot be imported"):
            get_default_storage_class()


def test_base_storage_serializes() -> None:
    data = Storage(secrets=["TOKEN"]).serialize()
    assert data["type"] == "Storage" and data["secrets"] == ["TOKEN"]
