"""``CodeCommit`` storage (metadata only in headwater): a flow script in AWS CodeCommit."""

from __future__ import annotations

from typing import Any

from headwater.storage._git_hosts import GitHostStorage, require_text

__all__ = ["CodeCommit"]


class CodeCommit(GitHostStorage):
    """A flow kept as a script in an AWS CodeCommit repository.

    Args:
        repo: the repository name.
        path: the script's path in the repository.
        commit: a branch name or commit id.
        client_options: options of the boto3 client.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        TypeError: ``repo`` is not a non-empty string.
    """

    _where = "AWS CodeCommit"

    def __init__(
        self,
        repo: str,
        path: str | None = None,
        commit: str | None = None,
        client_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        require_text("CodeCommit", "repo", repo)
        self.repo = repo
        self.path = path
        self.commit = commit
        self.client_options = client_options
        kwargs.setdefault("stored_as_script", True)
        super().__init__(**kwargs)
