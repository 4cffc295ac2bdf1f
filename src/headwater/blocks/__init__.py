"""Blocks: named, saved configuration objects, kept locally under ``{home_dir}/blocks``.

headwater has two kinds of block, :class:`~headwater.filesystems.LocalFileSystem` and
:class:`~headwater.blocks.system.Secret`. ``block.save("name")`` writes a block's fields as a
JSON document to ``{home_dir}/blocks/<block type>/<name>.json`` (never a pickle, so loading one
runs no code), and ``Type.load("name")`` reads it back, in this process or a later one::

    import tempfile
    from headwater.filesystems import LocalFileSystem
    from headwater.testing.utilities import headwater_test_harness

    with headwater_test_harness():
        LocalFileSystem(basepath=tempfile.mkdtemp()).save("results")
        assert LocalFileSystem.load("results").basepath

Other Prefect block types (cloud storage, credentials, notifications) need Prefect's server or
integrations: importing them from here raises an error naming the local alternative.
"""

from __future__ import annotations

from typing import Any

from headwater.blocks.core import Block, BlockNotFoundError

__all__ = ["Block", "BlockNotFoundError"]


def __getattr__(name: str) -> Any:
    if name == "Secret":
        from headwater.blocks.system import Secret

        return Secret
    raise AttributeError(f"module 'headwater.blocks' has no attribute {name!r}")
