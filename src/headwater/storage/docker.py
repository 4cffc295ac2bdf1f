"""``Docker`` storage (metadata only in headwater): flows baked into a Docker image."""

from __future__ import annotations

import os
import sys
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from headwater.storage._metadata import MetadataStorage

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Docker"]


class Docker(MetadataStorage):
    """Flows kept in a Docker image that Prefect 1 built and pushed.

    Args:
        registry_url: the registry to push to.
        base_image: the image to build from (not with ``dockerfile``).
        dockerfile: a Dockerfile to build from (not with ``base_image``).
        dockerignore: a ``.dockerignore`` file.
        python_dependencies: pip packages to install.
        image_name: the image name.
        image_tag: the image tag.
        env_vars: environment variables of the image.
        files: ``{absolute local path: path in the image}`` to copy.
        prefect_version: the version installed in the image (kept as given).
        local_image: use a local image without pulling.
        ignore_healthchecks: skip the build's health checks.
        base_url: the Docker daemon URL (default ``$DOCKER_HOST`` or the local socket).
        tls_config: TLS settings of the daemon connection.
        build_kwargs: extra arguments of the image build.
        prefect_directory: the directory of flows inside the image.
        path: the flow file inside the image.
        stored_as_script: the flow is a script at ``path``.
        extra_dockerfile_commands: extra Dockerfile lines.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        ValueError: both ``base_image`` and ``dockerfile`` are given, or a ``files`` path is
            not absolute.
    """

    _where = "a Docker image"

    def __init__(
        self,
        registry_url: str | None = None,
        base_image: str | None = None,
        dockerfile: str | None = None,
        dockerignore: str | None = None,
        python_dependencies: list[str] | None = None,
        image_name: str | None = None,
        image_tag: str | None = None,
        env_vars: dict[str, Any] | None = None,
        files: dict[str, str] | None = None,
        prefect_version: str | None = None,
        local_image: bool = False,
        ignore_healthchecks: bool = False,
        base_url: str | None = None,
        tls_config: Any = False,
        build_kwargs: dict[str, Any] | None = None,
        prefect_directory: str = "/opt/prefect",
        path: str | None = None,
        stored_as_script: bool = False,
        extra_dockerfile_commands: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if base_image and dockerfile:
            raise ValueError("Only one of `base_image` and `dockerfile` can be provided.")
        files = dict(files or {})
        not_absolute = [p for p in files if not os.path.isabs(p)]
        if not_absolute:
            raise ValueError(
                f"Provided paths {', '.join(not_absolute)} are not absolute file paths, please "
                "provide absolute paths only."
            )
        from headwater import __version__

        self.registry_url = registry_url
        self.image_name = image_name
        self.image_tag = image_tag
        self.python_dependencies = list(python_dependencies or []) + ["wheel"]
        self.prefect_directory = prefect_directory
        self.path = path
        self.env_vars = dict(env_vars or {})
        self.env_vars.setdefault("HEADWATER__USER_CONFIG_PATH", f"{prefect_directory}/config.toml")
        self.files = files
        self.local_image = local_image
        self.ignore_healthchecks = ignore_healthchecks
        default_url = (
            "npipe:////./pipe/docker_engine"
            if sys.platform == "win32"
            else "unix://var/run/docker.sock"
        )
        self.base_url = base_url or os.environ.get("DOCKER_HOST", default_url)
        self.tls_config = tls_config
        self.build_kwargs = dict(build_kwargs or {})
        self.rm_build_kwarg = self.build_kwargs.pop("rm", True)
        self.extra_dockerfile_commands = extra_dockerfile_commands
        self.prefect_version = prefect_version or __version__
        if base_image is None and dockerfile is None:
            python = f"{sys.version_info.major}.{sys.version_info.minor}"
            self.base_image = f"python:{python}-slim"
        else:
            self.base_image = base_image  # type: ignore[assignment]
        self.dockerfile = dockerfile
        self.dockerignore = dockerignore
        self.installation_commands: list[str] = []
        super().__init__(stored_as_script=stored_as_script, **kwargs)

    @property
    def name(self) -> str:
        """The image's full name, ``registry/name:tag``.

        Raises:
            ValueError: ``image_name`` or ``image_tag`` is not set.
        """
        if self.image_name is None or self.image_tag is None:
            raise ValueError("Docker storage is missing required fields image_name and image_tag")
        return f"{PurePosixPath(self.registry_url or '', self.image_name)}:{self.image_tag}"

    def location(self, flow: Flow) -> str:
        from headwater.storage.serialize import slugify

        return self.path or f"{self.prefect_directory}/flows/{slugify(flow.name)}.prefect"

    def build(self, push: bool = True) -> Docker:
        """Refuse clearly: headwater builds no images.

        Raises:
            FlowStorageError: always.
        """
        return super().build()  # type: ignore[return-value]
