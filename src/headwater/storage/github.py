"""``GitHub`` storage (metadata only in headwater): a flow script in a GitHub repository."""

from __future__ import annotations

from typing import Any

from headwater.storage._git_hosts import GitHostStorage, require_text

__all__ = ["GitHub"]


class GitHub(GitHostStorage):
    """A flow kept as a script in a GitHub repository.

    Args:
        repo: the repository, ``"org/repo"``.
        path: the script's path in the repository.
        ref: a branch, tag or commit (default: the default branch).
        access_token_secret: name of the secret holding a GitHub access token.
        base_url: the API URL of a GitHub Enterprise server.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        TypeError: ``repo`` or ``path`` is not a non-empty string.
    """

    _where = "GitHub"

    def __init__(
        self,
        repo: str,
        path: str,
        ref: str | None = None,
        access_token_secret: str | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        require_text("GitHub", "repo", repo)
        require_text("GitHub", "path", path)
        self.repo = repo
        self.path = path
        self.ref = ref
        self.access_token_secret = access_token_secret
        self.base_url = base_url
        kwargs.setdefault("stored_as_script", True)
        super().__init__(**kwargs)
