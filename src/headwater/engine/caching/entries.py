"""Persistent cache entry files: what they hold, and reading them back without trusting them.

An entry is a dict pickled with cloudpickle and signed (see
:mod:`~headwater.engine.caching.signing`)::

    {"format": 2, "key": ..., "task": ..., "flow": ..., "code_hash": ..., "inputs_hash": ...,
     "input_hashes": {name: hash}, "created": <time.time()>, "state": <Cached>}

:func:`read_entry` returns an entry only when the file is private, its signature matches and
its contents have this structure. Anything else — a file that is not a cache entry, an entry
from an older headwater, a wrong signature, a valid pickle of the wrong shape — is ignored with
a :class:`PersistentCacheWarning` naming the file, and removed: the task runs again and writes a
new entry. Secret inputs are stored as :class:`MaskedSecret`.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import pickle
import warnings
from typing import Any, cast

from headwater.engine.caching import signing

__all__ = [
    "FORMAT",
    "SUFFIX",
    "MaskedSecret",
    "PersistentCacheWarning",
    "entry_problem",
    "read_entry",
    "remove",
]

FORMAT = 2
SUFFIX = ".hwcache"
_OLD_MAGIC = b"HEADWATER-CACHE-1\n"
# what the engine and the validators read from a cached state
_STATE_ATTRIBUTES = (
    "message",
    "result",
    "_result",
    "_context",
    "cached_inputs",
    "cached_parameters",
    "cached_result_expiration",
)


class PersistentCacheWarning(UserWarning):
    """The persistent cache could not be used for a task run (the run itself goes on)."""


class MaskedSecret:
    """Stands in for a secret input in a stored entry's ``cached_inputs``: shown as ``****``.

    It equals nothing, so a validator comparing inputs only accepts the entry when the stored
    (keyed) hash of the secret matched and the current value was put back in its place.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "****"

    def __reduce__(self) -> tuple[Any, ...]:
        return (MaskedSecret, ())


def entry_problem(entry: Any) -> str | None:
    """Why an unpickled object is not a usable cache entry (``None`` when it is one)."""
    if not isinstance(entry, dict):
        return f"it holds a {type(entry).__name__}, not a cache entry"
    if entry.get("format") != FORMAT:
        return f"it has format {entry.get('format')!r}, not {FORMAT}"
    return _state_problem(entry.get("state")) or _fields_problem(entry)


def _fields_problem(entry: dict[str, Any]) -> str | None:
    """Why the hashes or the creation time of an entry are not usable, or ``None``."""
    hashes = entry.get("input_hashes")
    if not isinstance(hashes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()
    ):
        return "its input hashes are missing or malformed"
    if not isinstance(entry.get("inputs_hash"), str):
        return "its inputs hash is missing"
    created = entry.get("created")
    if isinstance(created, bool) or not isinstance(created, int | float):
        return "its creation time is missing"
    return None


def _state_problem(state: Any) -> str | None:
    """Why the state stored in an entry is not a usable ``Cached`` state, or ``None``."""
    from headwater.engine.state import Cached

    if not isinstance(state, Cached):
        return f"its state is a {type(state).__name__}, not a Cached state"
    missing = [name for name in _STATE_ATTRIBUTES if not hasattr(state, name)]
    if missing:
        return f"its state has no {', '.join(missing)}"
    expiration = state.cached_result_expiration
    if expiration is not None and not (
        isinstance(expiration, datetime.datetime) and expiration.tzinfo is not None
    ):
        return "its expiration is not a time zone aware datetime"
    if state.cached_inputs is not None and not isinstance(state.cached_inputs, dict):
        return "its cached inputs are not a dict"
    parameters = state.cached_parameters
    if parameters is not None and not isinstance(parameters, dict):
        return "its cached parameters are not a dict"
    return None


def read_entry(
    path: pathlib.Path, signing_key: bytes, home_dir: str | os.PathLike[str] | None
) -> dict[str, Any] | None:
    """The verified entry stored at ``path``, or ``None`` (with a warning if it is bad).

    Args:
        path: the entry file.
        signing_key: the user's cache key.
        home_dir: where the key lives (named in the warning about a wrong signature).

    Raises:
        PersistentCacheError: if the file is not the user's own or others can write it.
    """
    try:
        data = signing.read_private_file(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        warnings.warn(
            f"Could not read the persistent cache entry {str(path)!r}: {exc}",
            PersistentCacheWarning,
            stacklevel=3,
        )
        return None
    problem = None
    entry: Any = None
    payload = signing.verify(signing_key, data)
    if payload is not None:
        try:
            entry = pickle.loads(payload)
        except Exception as exc:  # any unpickling error means a bad entry
            problem = f"it could not be unpickled ({exc!r})"
        else:
            problem = entry_problem(entry)
    elif data.startswith(_OLD_MAGIC):
        problem = "it was written by an older headwater, without a signature"
    elif data.startswith(signing.MAGIC):
        problem = (
            "its signature does not match: it was not written by your headwater with the key "
            f"{str(signing.key_path(home_dir))!r}, or it was changed since"
        )
    else:
        problem = "it is not a headwater cache file"
    if problem is not None:
        warnings.warn(
            f"Ignoring the damaged persistent cache entry {str(path)!r}: {problem}. It is not "
            "read; the task runs again and writes a new entry.",
            PersistentCacheWarning,
            stacklevel=3,
        )
        remove(path)
        return None
    return cast("dict[str, Any]", entry)


def remove(path: pathlib.Path) -> None:
    """Delete a file if it is there (errors are ignored)."""
    try:
        path.unlink()
    except OSError:
        pass
