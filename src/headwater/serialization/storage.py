"""Schemas of flow storages: their settings and the locations of their flows."""

from __future__ import annotations

from typing import Any

from headwater.serialization._fields import Boolean, Dict, Integer, JSONCompatible, List, String
from headwater.serialization._schema import ObjectSchema, OneOfSchema
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
)

__all__ = ["StorageSchema"]


class BaseStorageSchema(ObjectSchema):
    class Meta:
        object_class = Storage

    flows = Dict(keys=String(), values=String())
    secrets = List(String())

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        data = dict(data)
        flows = data.pop("flows", None) or {}
        obj = super().create_object(data)
        if self.context.get("create_object", True):
            obj.flows = flows
        return obj


class AzureSchema(BaseStorageSchema):
    class Meta:
        object_class = Azure

    container = String(allow_none=False)
    connection_string_secret = String()
    blob_name = String()
    stored_as_script = Boolean()


class DockerSchema(BaseStorageSchema):
    class Meta:
        object_class = Docker

    registry_url = String()
    image_name = String()
    image_tag = String()
    path = String()
    stored_as_script = Boolean()
    prefect_version = String(allow_none=False)


class GCSSchema(BaseStorageSchema):
    class Meta:
        object_class = GCS

    bucket = String(allow_none=False)
    key = String()
    project = String()
    stored_as_script = Boolean()


class LocalSchema(BaseStorageSchema):
    class Meta:
        object_class = Local

    directory = String(allow_none=False)
    path = String()
    stored_as_script = Boolean()

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return super().create_object({"validate": False, **data})


class S3Schema(BaseStorageSchema):
    class Meta:
        object_class = S3

    bucket = String(allow_none=False)
    key = String()
    stored_as_script = Boolean()
    client_options = Dict(keys=String(), values=JSONCompatible())


class GitHubSchema(BaseStorageSchema):
    class Meta:
        object_class = GitHub

    repo = String(allow_none=False)
    ref = String()
    path = String(allow_none=False)
    access_token_secret = String()
    base_url = String()


class GitLabSchema(BaseStorageSchema):
    class Meta:
        object_class = GitLab

    repo = String(allow_none=False)
    path = String()
    host = String()
    ref = String()
    access_token_secret = String()


class BitbucketSchema(BaseStorageSchema):
    class Meta:
        object_class = Bitbucket

    project = String(allow_none=False)
    repo = String(allow_none=False)
    workspace = String()
    host = String()
    path = String()
    ref = String()
    access_token_secret = String()
    cloud_username_secret = String()
    cloud_app_password_secret = String()


class CodeCommitSchema(BaseStorageSchema):
    class Meta:
        object_class = CodeCommit

    repo = String(allow_none=False)
    path = String()
    commit = String()
    client_options = Dict(keys=String(), values=JSONCompatible())


class WebhookSchema(BaseStorageSchema):
    class Meta:
        object_class = Webhook

    build_request_kwargs = Dict(keys=String(), values=JSONCompatible())
    build_request_http_method = String(allow_none=False)
    get_flow_request_kwargs = Dict(keys=String(), values=JSONCompatible())
    get_flow_request_http_method = String(allow_none=False)
    stored_as_script = Boolean()


class GitSchema(BaseStorageSchema):
    class Meta:
        object_class = Git

    flow_path = String(allow_none=False)
    repo = String()
    repo_host = String(allow_none=False)
    flow_name = String()
    git_token_secret_name = String()
    git_token_username = String()
    git_clone_url_secret_name = String()
    branch_name = String()
    tag = String()
    commit = String()
    clone_depth = Integer()
    use_ssh = Boolean(allow_none=False)
    format_access_token = Boolean(allow_none=False)


class ModuleSchema(BaseStorageSchema):
    class Meta:
        object_class = Module

    module = String(allow_none=False)


class StorageSchema(OneOfSchema):
    """Chooses the storage schema by class name."""

    type_schemas = {
        "Azure": AzureSchema,
        "Bitbucket": BitbucketSchema,
        "CodeCommit": CodeCommitSchema,
        "Docker": DockerSchema,
        "GCS": GCSSchema,
        "GitHub": GitHubSchema,
        "GitLab": GitLabSchema,
        "Local": LocalSchema,
        "Module": ModuleSchema,
        "S3": S3Schema,
        "Storage": BaseStorageSchema,
        "Webhook": WebhookSchema,
        "Git": GitSchema,
    }
