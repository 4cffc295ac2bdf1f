"""``Git`` storage (metadata only in headwater): a flow script in any git repository."""

from __future__ import annotations

from typing import Any

from headwater.storage._git_hosts import GitHostStorage, require_text

__all__ = ["Git"]


class Git(GitHostStorage):
    """A flow kept as a script in a git repository, cloned over HTTPS or SSH by Prefect 1.

    Args:
        flow_path: the script's path in the repository.
        repo: the repository, ``"org/repo"`` (or give ``git_clone_url_secret_name``).
        repo_host: the git host (default ``"github.com"``).
        flow_name: the flow to load from the script (default: the only one).
        git_token_secret_name: name of the secret holding an access token.
        git_token_username: the user of the token (default: the repository's owner).
        git_clone_url_secret_name: name of the secret holding the whole clone URL.
        branch_name: the branch to clone.
        tag: the tag to clone.
        commit: the commit to check out.
        clone_depth: depth of the clone.
        use_ssh: clone over SSH.
        format_access_token: put the token in the URL as ``user:token``.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        ValueError: more than one of ``branch_name``, ``tag`` and ``commit`` is given, or
            neither ``repo`` nor ``git_clone_url_secret_name``.
    """

    _where = "a git repository"
    _path_attr = "flow_path"

    def __init__(
        self,
        flow_path: str,
        repo: str | None = None,
        repo_host: str = "github.com",
        flow_name: str | None = None,
        git_token_secret_name: str | None = None,
        git_token_username: str | None = None,
        git_clone_url_secret_name: str | None = None,
        branch_name: str | None = None,
        tag: str | None = None,
        commit: str | None = None,
        clone_depth: int = 1,
        use_ssh: bool = False,
        format_access_token: bool = True,
        **kwargs: Any,
    ) -> None:
        require_text("Git", "flow_path", flow_path)
        if sum(bool(x) for x in (branch_name, tag, commit)) > 1:
            raise ValueError(
                "Please provide only one of the following parameters: "
                "`branch_name`, `tag`, `commit`"
            )
        if repo is None and git_clone_url_secret_name is None:
            raise ValueError("Either `repo` or `git_clone_url_secret_name` must be provided")
        self.flow_path = flow_path
        self.repo = repo
        self.repo_host = repo_host
        self.flow_name = flow_name
        self.git_token_secret_name = git_token_secret_name
        self.git_clone_url_secret_name = git_clone_url_secret_name
        self.git_token_username = git_token_username or (repo.split("/")[0] if repo else None)
        self.branch_name = branch_name
        self.tag = tag
        self.commit = commit
        self.clone_depth = clone_depth
        self.use_ssh = use_ssh
        self.format_access_token = format_access_token
        kwargs.setdefault("stored_as_script", True)
        super().__init__(**kwargs)
        if use_ssh and git_token_secret_name is not None:
            self.logger.warning(
                "Git storage: use_ssh=True and git_token_secret_name are both given; SSH "
                "would be used and the token ignored."
            )
