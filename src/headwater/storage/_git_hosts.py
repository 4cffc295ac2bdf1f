"""What the storages that read a flow script from a git repository share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.storage._metadata import MetadataStorage

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.storage.base import Storage

__all__ = ["GitHostStorage"]


class GitHostStorage(MetadataStorage):
    """A flow script committed to a repository: building uploads nothing, so it succeeds."""

    _where = "a git host"
    _path_attr = "path"

    def location(self, flow: Flow) -> str:
        return getattr(self, self._path_attr)  # type: ignore[no-any-return]

    def build(self) -> Storage:
        """Nothing to build: the script is committed to the repository by its author."""
        return self


def require_text(owner: str, name: str, value: object, required: bool = True) -> None:
    """A ``TypeError`` naming ``owner`` and ``name`` when ``value`` is not a string."""
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise TypeError(f"{owner} storage: {name} must be a non-empty string, got {value!r}.")
