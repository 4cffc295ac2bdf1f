"""Flow storage: where flows are kept between the process that builds them and the one that runs them.

:class:`Local` keeps flows as files in a directory (default ``{home_dir}/flows``) and
:class:`Module` reads them from an importable module::

    import tempfile
    from headwater import Flow, task
    from headwater.storage import Local

    @task
    def hello():
        return "hello"

    with Flow("greeting") as flow:
        hello()

    storage = Local(directory=tempfile.mkdtemp())
    location = storage.add_flow(flow)
    assert "greeting" in storage
    assert storage.get_flow("greeting").name == "greeting"

Prefect 1's remote storages (:class:`S3`, :class:`GCS`, :class:`Azure`, :class:`Docker`,
:class:`Webhook`, :class:`GitHub`, :class:`GitLab`, :class:`Bitbucket`, :class:`CodeCommit`,
:class:`Git`) are accepted with the same arguments and validation and kept on the flow as
metadata (``flow.storage``, ``flow.serialize()``); headwater uploads and downloads nothing, and
says so when asked to.
"""

from __future__ import annotations

from headwater.storage.azure import Azure
from headwater.storage.base import Storage, get_default_storage_class
from headwater.storage.bitbucket import Bitbucket
from headwater.storage.codecommit import CodeCommit
from headwater.storage.docker import Docker
from headwater.storage.gcs import GCS
from headwater.storage.git import Git
from headwater.storage.github import GitHub
from headwater.storage.gitlab import GitLab
from headwater.storage.local import Local
from headwater.storage.module import Module
from headwater.storage.s3 import S3
from headwater.storage.webhook import Webhook

__all__ = [
    "GCS",
    "S3",
    "Azure",
    "Bitbucket",
    "CodeCommit",
    "Docker",
    "Git",
    "GitHub",
    "GitLab",
    "Local",
    "Module",
    "Storage",
    "Webhook",
    "get_default_storage_class",
]
