"""Variables: named, mutable JSON values, kept in files under ``{home_dir}/variables``.

Each variable is one JSON document, ``{home_dir}/variables/<name>.json`` (its name, value, tags
and when it was created and last changed), written atomically, so a reader in any process sees
the old or the new value, never a part. Setting and unsetting hold an exclusive ``lockf`` of
``{home_dir}/variables/.lock`` (and a thread lock), so "set unless it exists" holds across the
processes of a user on one machine. See :class:`headwater.variables.Variable`.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "MAX_VARIABLE_NAME_LENGTH",
    "MAX_VARIABLE_VALUE_LENGTH",
    "check_name",
    "check_value",
    "delete",
    "read",
    "variables_dir",
    "write",
]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: setting is locked in this process only
    fcntl = None  # type: ignore[assignment]

MAX_VARIABLE_NAME_LENGTH = 255
MAX_VARIABLE_VALUE_LENGTH = 5000
_NAME = re.compile(r"^[a-z0-9_-]+$")
_thread_lock = threading.Lock()


def variables_dir() -> str:
    """Where variables live: ``{home_dir}/variables``."""
    from headwater.configuration import setting

    home = os.path.expanduser(str(setting("home_dir", default=None) or "~/.headwater"))
    return os.path.join(os.path.abspath(home), "variables")


def check_name(name: Any) -> str:
    """``name`` if it is a valid variable name.

    Raises:
        ValueError: it is not lower-case letters, digits, ``-`` and ``_`` (at most 255).
    """
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_VARIABLE_NAME_LENGTH:
        raise ValueError(
            f"Variable name {name!r} must only contain lowercase letters, numbers, dashes and "
            f"underscores (at most {MAX_VARIABLE_NAME_LENGTH} characters), e.g. 'api_base_url'."
        )
    return name


def check_value(name: str, value: Any) -> Any:
    """``value`` as JSON gives it back (tuples become lists).

    Raises:
        ValueError: it is not JSON (str, int, float, bool, None, lists and dicts of them), or
            its JSON is longer than 5000 characters.
    """
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Variable {name!r}: the value must be JSON (a str, int, float, bool, None, or a "
            f"list or dict of them), got {type(value).__name__}: {exc}."
        ) from None
    if value is not None and len(text) > MAX_VARIABLE_VALUE_LENGTH:
        raise ValueError(
            f"Variable {name!r}: the value's JSON is {len(text)} characters long; it must be "
            f"at most {MAX_VARIABLE_VALUE_LENGTH}. Keep large data in a file or a result."
        )
    return json.loads(text)


def _path(name: str) -> str:
    return os.path.join(variables_dir(), f"{check_name(name)}.json")


def read(name: str) -> dict[str, Any] | None:
    """The stored document of variable ``name`` (``name, value, tags, created, updated``).

    Returns:
        ``None`` when no variable of that name is set.

    Raises:
        ValueError: the file is not a variable's document.
    """
    path = _path(name)
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"Variable {name!r}: {path} cannot be read ({exc}).") from None
    if not isinstance(document, dict) or "value" not in document:
        raise ValueError(
            f"Variable {name!r}: {path} is not a variable's document; remove it or set the "
            "variable again with overwrite=True."
        )
    return document


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Hold the variables' write lock: this process's threads, and the user's processes."""
    from headwater.engine.results._files import make_dirs

    directory = variables_dir()
    with _thread_lock:
        make_dirs(directory)
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        fd = os.open(os.path.join(directory, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def write(name: str, value: Any, tags: list[str], overwrite: bool) -> dict[str, Any]:
    """Store variable ``name``; returns its document.

    Raises:
        ValueError: the name or value is not valid, or the variable exists and ``overwrite``
            is false.
    """
    from headwater.engine.results._files import atomic_write_bytes

    path = _path(name)
    value = check_value(name, value)
    now = datetime.datetime.now(datetime.UTC).isoformat()
    with _locked():
        try:
            existing = read(name)
        except ValueError:
            if not overwrite:
                raise
            existing = {}  # a damaged document is replaced
        if existing is not None and not overwrite:
            raise ValueError(
                f"Variable {name!r} already exists. Use `overwrite=True` to update it."
            )
        document = {
            "name": name,
            "value": value,
            "tags": list(tags),
            "created": (existing or {}).get("created", now),
            "updated": now,
        }
        atomic_write_bytes(path, json.dumps(document).encode("utf-8"))
    return document


def delete(name: str) -> bool:
    """Remove variable ``name``; whether it existed."""
    path = _path(name)
    with _locked():
        try:
            os.remove(path)
        except FileNotFoundError:
            return False
    return True
