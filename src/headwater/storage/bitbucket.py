"""``Bitbucket`` storage (metadata only in headwater): a flow script in a Bitbucket repository."""

from __future__ import annotations

from typing import Any

from headwater.storage._git_hosts import GitHostStorage, require_text

__all__ = ["Bitbucket"]


class Bitbucket(GitHostStorage):
    """A flow kept as a script in a Bitbucket (Server or Cloud) repository.

    Args:
        project: the project (Bitbucket Server) or owner of the repository.
        repo: the repository.
        workspace: the workspace (Bitbucket Cloud only).
        host: the server (default ``https://bitbucket.org``).
        path: the script's path in the repository.
        ref: a branch, tag or commit.
        access_token_secret: name of the secret holding a Bitbucket Server access token.
        cloud_username_secret: name of the secret holding the Bitbucket Cloud user name.
        cloud_app_password_secret: name of the secret holding the Bitbucket Cloud app password.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        ValueError: both ``workspace`` (Cloud) and ``access_token_secret`` (Server) are set.
        TypeError: ``project`` or ``repo`` is not a non-empty string.
    """

    _where = "Bitbucket"

    def __init__(
        self,
        project: str,
        repo: str,
        workspace: str | None = None,
        host: str | None = None,
        path: str | None = None,
        ref: str | None = None,
        access_token_secret: str | None = None,
        cloud_username_secret: str | None = None,
        cloud_app_password_secret: str | None = None,
        **kwargs: Any,
    ) -> None:
        require_text("Bitbucket", "project", project)
        require_text("Bitbucket", "repo", repo)
        if workspace and access_token_secret:
            raise ValueError(
                "`access_token_secret` and `workspace` are both set. Setting `workspace` "
                "is only for use with Bitbucket Cloud which uses `cloud_username_secret` "
                "and `cloud_app_password_secret` to provide authentication."
            )
        self.project = project
        self.repo = repo
        self.workspace = workspace
        self.host = host
        self.path = path
        self.ref = ref
        self.access_token_secret = access_token_secret
        self.cloud_username_secret = cloud_username_secret
        self.cloud_app_password_secret = cloud_app_password_secret
        kwargs.setdefault("stored_as_script", True)
        super().__init__(**kwargs)
