"""Concrete results: where task values are stored.

- :class:`LocalResult` — files in a local directory (default ``{home_dir}/results``).
- :class:`HeadwaterResult` (alias ``PrefectResult``) — the JSON text itself is the location.
- :class:`ConstantResult` — a fixed in-memory value.
- :class:`SecretResult` — a secret task's value, never stored.
- :class:`FSSpecResult` — any fsspec URL (``s3://``, ``gcs://``, ``file://``, ``memory://``).

Every file write is atomic: a temporary file beside the target, ``fsync``, then a rename.
"""

from __future__ import annotations

from headwater.engine.results.constant_result import ConstantResult
from headwater.engine.results.fsspec_result import FSSpecResult
from headwater.engine.results.headwater_result import HeadwaterResult, PrefectResult
from headwater.engine.results.local_result import LocalResult
from headwater.engine.results.secret_result import SecretResult

__all__ = [
    "ConstantResult",
    "FSSpecResult",
    "HeadwaterResult",
    "LocalResult",
    "PrefectResult",
    "SecretResult",
]
