"""The :class:`Block` base class: fields saved as JSON documents under ``{home_dir}/blocks``."""

from __future__ import annotations

import json
import os
import re
from typing import Any, ClassVar, TypeVar

from headwater.exceptions import HeadwaterError

__all__ = ["Block", "BlockNotFoundError", "blocks_dir"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
B = TypeVar("B", bound="Block")


class BlockNotFoundError(HeadwaterError, ValueError):
    """No block of this type was saved under this name."""


def blocks_dir() -> str:
    """Where saved blocks live: ``{home_dir}/blocks``."""
    from headwater.configuration import setting

    home = os.path.expanduser(str(setting("home_dir", default=None) or "~/.headwater"))
    return os.path.join(os.path.abspath(home), "blocks")


class Block:
    """A block: a few named fields, saved and loaded by name.

    Subclasses set ``block_type_slug`` and ``_fields`` (the names of their JSON fields).
    """

    block_type_slug: ClassVar[str] = "block"
    _fields: ClassVar[tuple[str, ...]] = ()

    def _document(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    @classmethod
    def _path(cls, name: str) -> str:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"{cls.__name__}: block name {name!r} must be lower-case letters, digits, "
                "'-' and '_', starting with a letter or digit, e.g. 'results'."
            )
        return os.path.join(blocks_dir(), cls.block_type_slug, f"{name}.json")

    def save(self, name: str, overwrite: bool = False) -> str:
        """Save the block's fields under ``name``; returns the document's path.

        Raises:
            ValueError: if ``name`` is not a valid block name, or a block of this type is
                already saved under it and ``overwrite`` is false.
        """
        from headwater.engine.results._files import atomic_write_bytes

        path = self._path(name)
        if os.path.exists(path) and not overwrite:
            raise ValueError(
                f"{type(self).__name__} {name!r} is already saved ({path}); pass "
                "overwrite=True to replace it."
            )
        data = json.dumps({"block_type": self.block_type_slug, "data": self._document()})
        atomic_write_bytes(path, data.encode("utf-8"))
        return path

    @classmethod
    def load(cls: type[B], name: str) -> B:
        """The block of this type saved under ``name``.

        Raises:
            BlockNotFoundError: if none was saved under that name.
        """
        path = cls._path(name)
        try:
            with open(path, encoding="utf-8") as f:
                document = json.load(f)
        except FileNotFoundError:
            raise BlockNotFoundError(
                f"No {cls.__name__} block is saved as {name!r} (looked for {path}). Create it "
                f"with {cls.__name__}(...).save({name!r}) first."
            ) from None
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict):
            raise BlockNotFoundError(f"{path} is not a saved {cls.__name__} block.")
        return cls(**{k: v for k, v in data.items() if k in cls._fields})

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._document() == other._document()

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(map(str, self._document().items())))))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._document().items())
        return f"{type(self).__name__}({fields})"
