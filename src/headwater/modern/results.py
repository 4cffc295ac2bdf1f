"""Persisted results of Prefect 3 style tasks and flows: signed record files in a directory.

A task or flow with ``persist_result=True`` (or with ``result_storage``, ``result_serializer``,
``result_storage_key`` or a cache policy, which imply it) writes its return value to a record
file in its result storage:

- ``result_storage``: a path, a :class:`~headwater.filesystems.LocalFileSystem`, the name of a
  saved one (``"local-file-system/<name>"``) or a headwater ``LocalResult``; default
  ``{home_dir}/storage`` (Prefect's ``~/.prefect/storage``);
- ``result_storage_key``: the file's name inside it, a template filled from the run:
  ``"{parameters[x]}.json"``, ``"{task_run.task_name}"``, ``"{flow_run.name}/out"``; default a
  cache key or the run's id;
- ``result_serializer``: ``"pickle"`` (cloudpickle, the default), ``"json"``,
  ``"compressed/pickle"``, ``"compressed/json"`` or a headwater
  :class:`~headwater.engine.serializers.Serializer`.

A record is one file: a signature line, a JSON header (serializer, creation time, expiration)
and the serialized value. Files are written atomically with mode ``0o600``; they are read back
only under the rules of headwater's persistent cache: the file and its directories must be the
user's own and not writable by others, and the HMAC signature made with the user's key in
``{home_dir}/cache.key`` must match, so a file someone else planted is never unpickled.
:func:`read_result` reads a record back, in any process of the same user::

    import tempfile
    from headwater.modern.results import read_result, write_record
    from headwater.engine.serializers import JSONSerializer

    folder = tempfile.mkdtemp()
    path = write_record(folder, "answer.json", {"x": 42}, "json", JSONSerializer())
    assert read_result("answer.json", result_storage=folder) == {"x": 42}
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import time
import types
import warnings
from typing import Any

from headwater.engine.caching import signing
from headwater.engine.serializers import Serializer

__all__ = [
    "ResultRecord",
    "ResultWarning",
    "default_storage_dir",
    "format_storage_key",
    "load_record",
    "persist",
    "read_result",
    "resolve_serializer",
    "should_persist",
    "storage_dir",
    "write_record",
]

RECORD_FORMAT = 1
_saved = threading.local()
_SAVED_BLOCK = re.compile(r"^local-file-system/([a-z0-9][a-z0-9_-]*)$")


class ResultWarning(UserWarning):
    """A persisted result could not be written or read; the run goes on without it."""


@dataclasses.dataclass(frozen=True)
class ResultRecord:
    """A persisted value with its metadata.

    Attributes:
        value: the value.
        path: the record file.
        serializer: the name of the serializer that wrote it.
        created: when it was written (seconds since the epoch).
        expiration: when it stops being a valid cache entry (``None``: never).
    """

    value: Any
    path: str
    serializer: str
    created: float
    expiration: float | None

    def expired(self, now: float | None = None) -> bool:
        """Whether the record's expiration has passed."""
        return self.expiration is not None and self.expiration <= (now or time.time())


# -- where and how -----------------------------------------------------------------------------
def _home_dir() -> str:
    from headwater.configuration import setting

    return os.path.abspath(
        os.path.expanduser(str(setting("home_dir", default=None) or "~/.headwater"))
    )


def default_storage_dir() -> str:
    """``{home_dir}/storage``: where results go without a ``result_storage``."""
    return os.path.join(_home_dir(), "storage")


def storage_dir(result_storage: Any) -> str:
    """The absolute directory a ``result_storage`` value names.

    Raises:
        TypeError: if it is none of the accepted kinds; the message lists them.
    """
    from headwater.engine.results import LocalResult
    from headwater.filesystems import LocalFileSystem

    if result_storage is None:
        return default_storage_dir()
    if isinstance(result_storage, str) and (match := _SAVED_BLOCK.match(result_storage)):
        result_storage = LocalFileSystem.load(match.group(1))
    if isinstance(result_storage, LocalFileSystem):
        base = result_storage.basepath or "."
        return os.path.abspath(os.path.expanduser(base))
    if isinstance(result_storage, LocalResult):
        return str(result_storage.dir)
    if isinstance(result_storage, str | os.PathLike):
        return os.path.abspath(os.path.expanduser(os.fspath(result_storage)))
    raise TypeError(
        f"result_storage must be a path, a LocalFileSystem(basepath=...), "
        f"'local-file-system/<saved name>' or a LocalResult, not {type(result_storage).__name__} "
        f"{result_storage!r}. headwater stores results on the local disk; remote storage "
        "needs Prefect's server."
    )


def resolve_serializer(
    result_serializer: Any, result_storage: Any = None
) -> tuple[str, Serializer]:
    """The name and instance of a ``result_serializer`` value (default: pickle).

    A ``LocalResult`` given as storage lends its serializer when no serializer is given.

    Raises:
        ValueError: for an unknown serializer name.
        TypeError: for a value that is neither a name nor a ``Serializer``.
    """
    from headwater.engine.results import LocalResult
    from headwater.engine.serializers import CompressedSerializer, JSONSerializer, PickleSerializer

    if result_serializer is None and isinstance(result_storage, LocalResult):
        result_serializer = result_storage.serializer
    if result_serializer is None:
        result_serializer = "pickle"
    if isinstance(result_serializer, Serializer):
        cls = type(result_serializer)
        return f"{cls.__module__}.{cls.__qualname__}", result_serializer
    if not isinstance(result_serializer, str):
        raise TypeError(
            f"result_serializer must be 'pickle', 'json', 'compressed/pickle', "
            f"'compressed/json' or a headwater Serializer, not {result_serializer!r}."
        )
    name = result_serializer.lower()
    plain = name.removeprefix("compressed/")
    base: Serializer
    if plain in ("pickle", "cloudpickle"):
        base = PickleSerializer()
    elif plain == "json":
        base = JSONSerializer()
    else:
        raise ValueError(
            f"Unknown result_serializer {result_serializer!r}: use 'pickle', 'json', "
            "'compressed/pickle', 'compressed/json' or a headwater Serializer instance."
        )
    if name.startswith("compressed/"):
        return name, CompressedSerializer(base, format="gzip")
    return plain if plain != "cloudpickle" else "pickle", base


def record_path(directory: str, key: str) -> str:
    """The file of storage key ``key`` in ``directory``.

    Raises:
        ValueError: if the key is empty, absolute or leaves the directory.
    """
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"A result storage key must be a non-empty string, not {key!r}.")
    full = os.path.abspath(os.path.join(directory, key))
    if os.path.isabs(key) or os.path.commonpath([directory, full]) != directory:
        raise ValueError(
            f"Result storage key {key!r} must name a file inside the result storage "
            f"{directory!r} (a relative path without '..')."
        )
    return full


# -- templates ---------------------------------------------------------------------------------
def _runtime_views(options: Any, ids: dict[str, Any], inputs: Any) -> dict[str, Any]:
    """``flow_run``, ``task_run`` and ``deployment`` views for storage key templates.

    The current runs as :mod:`headwater.runtime` shows them; a task run not current yet (its
    cache key is computed before it starts) is described by the ids the caller passes.
    """
    from headwater import runtime

    name = getattr(options, "name", None)
    own: Any = types.SimpleNamespace(
        id=ids.get("task_run_id"), name=name, task_name=name, parameters=dict(inputs or {})
    )
    current = runtime.task_run
    wanted = ids.get("task_run_id")
    if current.id is not None and (wanted is None or current.id == wanted):
        own = current
    return {"flow_run": runtime.flow_run, "task_run": own, "deployment": runtime.deployment}


def format_storage_key(
    template: str, options: Any, inputs: dict[str, Any] | None = None, **ids: Any
) -> str:
    """Fill a ``result_storage_key`` template from the current run.

    Fields: ``parameters`` (the task's inputs: ``inputs``, else the current task run's),
    ``flow_run``, ``task_run`` and ``deployment`` (as :mod:`headwater.runtime` gives them).

    Raises:
        ValueError: if the template names a field or parameter the run does not have.
    """
    fields = _runtime_views(options, ids, inputs)
    if inputs is None:
        inputs = getattr(fields["task_run"], "parameters", None)
    try:
        return template.format(parameters=dict(inputs or {}), **fields)
    except (KeyError, AttributeError, IndexError, ValueError) as exc:
        raise ValueError(
            f"Task {getattr(options, 'name', '?')!r}: result_storage_key {template!r} could not "
            f"be filled ({type(exc).__name__}: {exc}). It may use {{parameters[name]}} for the "
            "task's inputs and {flow_run.*}, {task_run.*} fields."
        ) from None


# -- records -----------------------------------------------------------------------------------
def _check_dirs(directory: str, folder: str) -> None:
    """Every directory from the storage root down to ``folder`` must be private."""
    signing.check_private_dir(directory)
    relative = os.path.relpath(folder, directory)
    current = directory
    for part in [] if relative == "." else relative.split(os.sep):
        current = os.path.join(current, part)
        signing.check_private_dir(current)


def write_record(
    directory: str,
    key: str,
    value: Any,
    serializer_name: str,
    serializer: Serializer,
    expiration: float | None = None,
) -> str:
    """Write ``value`` as a signed record at ``key`` in ``directory``; returns its path.

    Raises:
        SerializationError: if the value cannot be serialized.
        OSError: if the file cannot be written.
    """
    from headwater.engine.results._files import atomic_write_bytes

    directory = os.path.abspath(directory)
    path = record_path(directory, key)
    header = {
        "format": RECORD_FORMAT,
        "serializer": serializer_name,
        "created": time.time(),
        "expiration": expiration,
        "storage_key": key,
    }
    payload = json.dumps(header).encode("utf-8") + b"\n" + serializer.serialize(value)
    signed = signing.sign(signing.load_key(_home_dir()), payload)
    atomic_write_bytes(path, signed)
    return path


def _header(payload: bytes) -> tuple[dict[str, Any], bytes] | None:
    line, sep, data = payload.partition(b"\n")
    try:
        header = json.loads(line) if sep else None
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("format") != RECORD_FORMAT:
        return None
    return header, data


def load_record(
    directory: str, key: str, serializer: Serializer | None = None, *, strict: bool = False
) -> ResultRecord | None:
    """The record at ``key`` in ``directory``, or ``None`` if there is none.

    Args:
        directory: the result storage directory.
        key: the storage key.
        serializer: reads values written by a custom serializer (the built-in names are
            recognised from the record).
        strict: raise ``ValueError`` for a damaged or foreign record instead of warning with a
            :class:`ResultWarning` and returning ``None``.

    Raises:
        PersistentCacheError: if the file or a directory on its way is not private.
    """
    directory = os.path.abspath(directory)
    path = record_path(directory, key)
    try:
        data = signing.read_private_file(path)
    except FileNotFoundError:
        return None
    _check_dirs(directory, os.path.dirname(path))
    payload = signing.verify(signing.load_key(_home_dir()), data)
    parsed = _header(payload) if payload is not None else None
    problem = None
    if payload is None:
        problem = "its signature does not match your key (it was not written by you, or changed)"
    elif parsed is None:
        problem = "it is not a headwater result record"
    if parsed is not None:
        header, body = parsed
        name = str(header.get("serializer"))
        reader = serializer if serializer is not None and not _builtin(name) else None
        try:
            reader = reader or resolve_serializer(name)[1]
            value = reader.deserialize(body)
        except Exception as exc:  # unknown serializer, or bytes it cannot read
            problem = f"its value could not be read with serializer {name!r} ({exc})"
        else:
            expiration = header.get("expiration")
            return ResultRecord(
                value,
                path,
                name,
                float(header.get("created") or 0.0),
                None if expiration is None else float(expiration),
            )
    message = f"Ignoring the result record {path!r}: {problem}."
    if strict:
        raise ValueError(message)
    warnings.warn(message, ResultWarning, stacklevel=2)
    return None


def _builtin(name: str) -> bool:
    return name.removeprefix("compressed/") in ("pickle", "json")


def read_result(key: str, result_storage: Any = None, serializer: Serializer | None = None) -> Any:
    """The value persisted at storage key ``key`` (in ``result_storage``, default
    ``{home_dir}/storage``).

    Raises:
        FileNotFoundError: if no result is stored there.
        ValueError: if the record is damaged, foreign or unreadable.
    """
    directory = storage_dir(result_storage)
    record = load_record(directory, key, serializer, strict=True)
    if record is None:
        raise FileNotFoundError(f"No result is stored at {record_path(directory, key)!r}.")
    return record.value


# -- the hooks the runtime calls ---------------------------------------------------------------
def _given_policy(options: Any) -> bool:
    """Whether the task names a cache policy of its own other than ``NO_CACHE``."""
    from headwater.cache_policies import NO_CACHE, CachePolicy

    policy = getattr(options, "cache_policy", None)
    return isinstance(policy, CachePolicy) and policy != NO_CACHE


def should_persist(options: Any, flow_default: bool | None) -> bool:
    """Whether a run with these options persists its result (Prefect 3's rules).

    ``persist_result`` when set; else true when the run names a result storage, serializer or
    storage key, a cache policy or a ``cache_key_fn``; else the flow's setting
    (``flow_default``); else the ``results.persist_by_default`` setting (false).
    """
    explicit = getattr(options, "persist_result", None)
    if explicit is not None:
        return bool(explicit)
    implied = (
        getattr(options, "cache_key_fn", None) is not None
        or getattr(options, "result_storage_key", None) is not None
        or getattr(options, "result_storage", None) is not None
        or getattr(options, "result_serializer", None) is not None
        or _given_policy(options)
    )
    if implied:
        return True
    if flow_default is not None:
        return bool(flow_default)
    from headwater.configuration import setting

    return bool(setting("results.persist_by_default", default=False))


def note_saved(options: Any, key: str, path: str) -> None:
    """Remember, for this thread, that a cache save wrote ``key`` for ``options`` at ``path``."""
    _saved.last = (id(options), key, path)


def _just_saved(options: Any, key: str) -> str | None:
    last = getattr(_saved, "last", None)
    _saved.last = None
    if last is not None and last[0] == id(options) and last[1] == key:
        return str(last[2])
    return None


def _key_for(options: Any, default_key: str, inputs: dict[str, Any] | None) -> str:
    template = getattr(options, "result_storage_key", None)
    if not template:
        return default_key
    try:
        return format_storage_key(template, options, inputs)
    except ValueError as exc:
        if inputs is not None:
            raise
        warnings.warn(
            f"{exc} The result is stored as {default_key!r}.", ResultWarning, stacklevel=3
        )
        return default_key


def persist(
    options: Any,
    value: Any,
    *,
    default_key: str,
    inputs: dict[str, Any] | None = None,
    expiration: float | None = None,
    lookup: Any = None,
) -> str | None:
    """Write a run's result to its storage; returns the path (``None`` if it failed).

    The key is the filled ``result_storage_key`` template (``inputs`` fill
    ``{parameters[...]}``), else ``default_key``. A value that cannot be serialized or written
    is not persisted, with a :class:`ResultWarning`. When
    :func:`headwater.modern.caching.save` has just written the same key (or the run's cache
    ``lookup`` says it did), nothing is written twice.
    """
    if lookup is not None and getattr(lookup, "path", None) is not None:
        return str(lookup.path)
    done = _just_saved(options, default_key)
    if done is not None:
        return done
    if inputs is None and lookup is not None:
        inputs = getattr(lookup, "inputs", None)
    storage = getattr(options, "result_storage", None)
    key = _key_for(options, default_key, inputs)
    name, serializer = resolve_serializer(getattr(options, "result_serializer", None), storage)
    directory = storage_dir(storage)
    try:
        return write_record(directory, key, value, name, serializer, expiration)
    except Exception as exc:  # an unserializable value or a full disk must not fail the run
        warnings.warn(
            f"{getattr(options, 'name', 'The run')!r}: its result was not persisted to "
            f"{os.path.join(directory, key)!r}: {type(exc).__name__}: {exc}",
            ResultWarning,
            stacklevel=2,
        )
        return None
