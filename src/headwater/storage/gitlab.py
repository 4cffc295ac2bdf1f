"""``GitLab`` storage (metadata only in headwater): a flow script in a GitLab repository."""

from __future__ import annotations

from typing import Any

from headwater.storage._git_hosts import GitHostStorage, require_text

__all__ = ["GitLab"]


class GitLab(GitHostStorage):
    """A flow kept as a script in a GitLab repository.

    Args:
        repo: the project, ``"group/project"`` or its numeric id.
        host: the GitLab server (default ``https://gitlab.com``).
        path: the script's path in the repository.
        ref: a branch, tag or commit.
        access_token_secret: name of the secret holding a GitLab access token.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        TypeError: ``repo`` is not a non-empty string.
    """

    _where = "GitLab"

    def __init__(
        self,
        repo: str,
        host: str | None = None,
        path: str | None = None,
        ref: str | None = None,
        access_token_secret: str | None = None,
        **kwargs: Any,
    ) -> None:
        require_text("GitLab", "repo", repo)
        require_text("GitLab", "path", path, required=False)
        self.repo = repo
        self.host = host
        self.path = path
        self.ref = ref
        self.access_token_secret = access_token_secret
        kwargs.setdefault("stored_as_script", True)
        super().__init__(**kwargs)
