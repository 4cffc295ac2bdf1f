"""A task cache that survives the process: cached states stored as files on disk.

In-process caching keeps ``Cached`` states in ``context.caches`` for as long as the Python
process lives. With ``config.flows.persistent_cache = true`` (or ``Flow(cache_dir=...)``) each
cached state is also written to ``{cache_dir}/<flow>/<task>/`` (default ``cache_dir``:
``{home_dir}/cache``) and read back by later runs, in this process or another one::

    import tempfile
    from datetime import timedelta
    from headwater import Flow, task

    @task(cache_for=timedelta(days=1))
    def expensive(x):
        return x * 2

    with Flow("etl", cache_dir=tempfile.mkdtemp()) as flow:
        expensive(21)

    flow.run()  # runs the task and stores its result
    flow.run()  # in any later process too: Cached, the task does not run

An entry is reused only while

* the task's code is unchanged (a hash of the source of its ``run`` function, or of the
  function behind ``@task``; the bytecode when the source is not available),
* ``cache_for`` has not expired, and
* the task's ``cache_validator`` accepts it, exactly as for in-process caching.

Entries are pickles, so they are only read from directories and files that belong to the
current user and that group and others cannot write (a :class:`PersistentCacheError` says how
to fix one that does not), and only when their HMAC-SHA256 signature, made with the user's key
in ``{home_dir}/cache.key``, matches (see :mod:`headwater.engine.caching.signing`). Headwater
creates cache directories with mode ``0o700`` and entries with ``0o600``.

Inputs are hashed with a stable, process-independent hash (see
:mod:`headwater.engine.caching.hashing`). An input that cannot be hashed this way disables the
persistent cache for that task run, with a :class:`PersistentCacheWarning` naming the
input. Inputs that come from secret tasks are stored only as a hash keyed with the user's key,
never in clear. A damaged or unsigned entry is ignored (and removed) with the same warning; it
never fails a run. Entries are written atomically (temporary file, ``fsync``, ``os.replace``).
"""

from __future__ import annotations

import copy
import hashlib
import os
import pathlib
import re
import threading
import warnings
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from headwater.engine.caching import signing
from headwater.engine.caching.entries import (
    FORMAT,
    SUFFIX,
    MaskedSecret,
    PersistentCacheWarning,
    read_entry,
    remove,
)
from headwater.engine.caching.hashing import (
    UnhashableInputError,
    code_hash,
    combine_hashes,
    hash_inputs,
    stable_hash,
)
from headwater.engine.caching.signing import PersistentCacheError

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task
    from headwater.engine.state import Cached

__all__ = [
    "MaskedSecret",
    "PersistentCache",
    "PersistentCacheError",
    "PersistentCacheWarning",
    "UnhashableInputError",
    "code_hash",
    "hash_inputs",
    "stable_hash",
]


def _slug(text: str, limit: int = 60) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return (s or "x")[:limit]


class PersistentCache:
    """Cached task states of one flow, stored as signed files under ``directory``.

    The task runner calls :meth:`load` before a cached task runs and :meth:`save` after it
    succeeded; users normally only switch the cache on (see the module docstring).

    Args:
        directory: the cache root; entries go to ``<directory>/<flow>/<key>/``, or
            ``<directory>/_shared/<key>/`` for tasks with an explicit ``cache_key``, so that
            tasks sharing a key share entries across flows.
        flow_name: the flow whose tasks are cached.
        home_dir: the directory of the signing key ``cache.key`` (default: the configured
            ``home_dir`` when the key is first needed).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        flow_name: str,
        home_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.directory = pathlib.Path(directory).expanduser()
        self.flow_name = flow_name
        self.home_dir = home_dir
        self._code_hashes: dict[int, tuple[Any, str]] = {}
        self._warned: set[int] = set()
        self._checked: set[pathlib.Path] = set()
        self._key: bytes | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_flow(
        cls, flow: Flow, cache_dir: str | os.PathLike[str] | None, cfg: Any
    ) -> PersistentCache:
        """The cache of ``flow`` in ``cache_dir`` (default ``{cfg.home_dir}/cache``).

        Raises:
            PersistentCacheError: if ``cache_dir`` exists but is not owned by the current user
                or is writable by group or others.
        """
        home = os.path.expanduser(str(getattr(cfg, "home_dir", None) or "~/.headwater"))
        if cache_dir is None:
            cache_dir = os.path.join(home, "cache")
        store = cls(cache_dir, flow.name, home_dir=home)
        try:
            signing.check_private_dir(store.directory)
        except FileNotFoundError:
            pass  # created private on the first write
        else:
            store._checked.add(store.directory)
        return store

    def __repr__(self) -> str:
        return f"<PersistentCache: {str(self.directory)!r} flow={self.flow_name!r}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"directory": self.directory, "flow_name": self.flow_name, "home_dir": self.home_dir}

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__init__(d["directory"], d["flow_name"], d.get("home_dir"))  # type: ignore[misc]

    # -- paths, keys, hashes ----------------------------------------------------------------
    def _key_dir(self, task: Task, key: str) -> pathlib.Path:
        suffix = hashlib.sha256(key.encode()).hexdigest()[:10]
        if getattr(task, "cache_key", None):
            return self.directory / "_shared" / f"{_slug(key)}-{suffix}"
        return self.directory / _slug(self.flow_name) / f"{_slug(key)}-{suffix}"

    def _check_dirs(self, folder: pathlib.Path) -> None:
        """Every directory from the cache root down to ``folder`` must be private."""
        chain = [folder, *folder.parents]
        chain = chain[: chain.index(self.directory) + 1] if self.directory in chain else [folder]
        for path in reversed(chain):
            if path not in self._checked:
                signing.check_private_dir(path)
                self._checked.add(path)

    def _signing_key(self) -> bytes | None:
        """The user's cache key (``None``, with a warning, if it cannot be read or created)."""
        if self._key is None:
            try:
                self._key = signing.load_key(self.home_dir)
            except OSError as exc:
                warnings.warn(
                    f"The persistent cache is not used: its key "
                    f"{str(signing.key_path(self.home_dir))!r} could not be read or created "
                    f"({exc}). Make home_dir writable, or switch the persistent cache off.",
                    PersistentCacheWarning,
                    stacklevel=3,
                )
        return self._key

    def _code_hash(self, task: Task) -> str:
        hit = self._code_hashes.get(id(task))
        if hit is not None and hit[0] is task:
            return hit[1]
        value = code_hash(task)
        self._code_hashes[id(task)] = (task, value)
        return value

    def _input_hashes(
        self, task: Task, inputs: dict[str, Any], warn: bool, secret: Collection[str]
    ) -> dict[str, str] | None:
        try:
            hashes = hash_inputs(inputs)
        except UnhashableInputError as exc:
            if warn:
                warnings.warn(
                    f"Task {task.name!r}: input {exc.path} (a {exc.type_name}) cannot be hashed "
                    "stably, so the persistent cache is not used for this task run. Pass "
                    "numbers, strings, bytes, dates, collections of them, numpy arrays or "
                    "pandas objects, or give the task a cache_validator that ignores this input "
                    "and no persistent cache.",
                    PersistentCacheWarning,
                    stacklevel=3,
                )
            return None
        secret_names = [name for name in secret if name in hashes]
        if secret_names:
            key = self._signing_key()
            if key is None:
                return None
            for name in secret_names:
                hashes[name] = signing.keyed_hash(key, hashes[name])
        return hashes

    # -- API ------------------------------------------------------------------------------
    def load(
        self, task: Task, key: str, inputs: dict[str, Any], secret: Collection[str] = ()
    ) -> list[Cached]:
        """The unexpired cached states stored for ``key`` by this version of the task's code.

        Entries whose inputs equal ``inputs`` come first; for a mapped child (``map_index`` in
        the context) only those are returned, so that siblings never share results. Where a
        stored input has the same hash as the current one, the returned state's
        ``cached_inputs`` holds the current object, so that validators comparing inputs work
        for arrays, frames and secrets too.

        Args:
            task: the task.
            key: its cache key.
            inputs: its inputs for this run.
            secret: the names of inputs that come from secret tasks.

        Raises:
            PersistentCacheError: if a directory or entry on the way is not private.
        """
        hashes = self._input_hashes(task, inputs, warn=True, secret=secret)
        if hashes is None:
            with self._lock:
                self._warned.add(id(inputs))
            return []
        folder = self._key_dir(task, key)
        prefix = self._code_hash(task)[:16] + "-"
        try:
            names = sorted(
                n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(SUFFIX)
            )
        except FileNotFoundError:
            return []
        except OSError as exc:
            warnings.warn(
                f"Could not read the persistent cache {str(folder)!r}: {exc}",
                PersistentCacheWarning,
                stacklevel=2,
            )
            return []
        self._check_dirs(folder)
        signing_key = self._signing_key() if names else None
        if signing_key is None:
            return []
        import pendulum

        from headwater.context import context

        now = pendulum.now("UTC")
        wanted = combine_hashes(hashes)
        # a mapped child only reuses an entry made from its own inputs, never a sibling's
        exact_only = context.get("map_index") is not None
        exact: list[tuple[float, Cached]] = []
        others: list[tuple[float, Cached]] = []
        for name in names:
            path = folder / name
            entry = read_entry(path, signing_key, self.home_dir)
            if entry is None:
                continue
            state = entry["state"]
            expiration = state.cached_result_expiration
            if expiration is not None and expiration <= now:
                remove(path)
                continue
            stored: dict[str, str] = entry["input_hashes"]
            cached_inputs = dict(state.cached_inputs or {})
            for k, h in stored.items():
                if hashes.get(k) == h:
                    cached_inputs[k] = inputs[k]
            state.cached_inputs = cached_inputs
            state.hashed_inputs = stored
            if entry["inputs_hash"] == wanted:
                exact.append((entry["created"], state))
            elif not exact_only:
                others.append((entry["created"], state))
        exact.sort(key=lambda p: p[0], reverse=True)
        others.sort(key=lambda p: p[0], reverse=True)
        return [s for _, s in exact] + [s for _, s in others]

    def save(
        self,
        task: Task,
        key: str,
        inputs: dict[str, Any],
        cached_state: Cached,
        secret: Collection[str] = (),
    ) -> None:
        """Store ``cached_state`` for ``key`` and these inputs (replacing an older entry).

        Inputs named in ``secret`` are stored as :class:`MaskedSecret` and a keyed hash only.
        """
        with self._lock:
            warned = id(inputs) in self._warned
            self._warned.discard(id(inputs))
        hashes = self._input_hashes(task, inputs, warn=not warned, secret=secret)
        if hashes is None:
            return
        signing_key = self._signing_key()
        if signing_key is None:
            return
        import time

        import cloudpickle

        inputs_hash = combine_hashes(hashes)
        code = self._code_hash(task)
        stored_state = cached_state
        if secret and cached_state.cached_inputs:
            stored_state = copy.copy(cached_state)
            stored_state.cached_inputs = {
                k: MaskedSecret() if k in secret else v
                for k, v in cached_state.cached_inputs.items()
            }
        entry = {
            "format": FORMAT,
            "key": key,
            "task": task.name,
            "flow": self.flow_name,
            "code_hash": code,
            "inputs_hash": inputs_hash,
            "input_hashes": hashes,
            "created": time.time(),
            "state": stored_state,
        }
        try:
            value = cached_state.result
            if isinstance(value, Exception):
                # a state pickles an unpicklable exception as a readable stand-in; a cache must
                # not (any other value that cannot be pickled fails the dump below)
                cloudpickle.dumps(value)
            payload = cloudpickle.dumps(entry)
        except Exception as exc:  # an unpicklable result is not fatal
            warnings.warn(
                f"Task {task.name!r}: its cached state could not be pickled ({exc!r}); it is "
                "cached in this process only.",
                PersistentCacheWarning,
                stacklevel=2,
            )
            return
        folder = self._key_dir(task, key)
        path = folder / f"{code[:16]}-{inputs_hash[:32]}{SUFFIX}"
        try:
            _make_dirs(folder)
            self._check_dirs(folder)
            _atomic_write(path, signing.sign(signing_key, payload))
        except (OSError, PersistentCacheError) as exc:
            warnings.warn(
                f"Task {task.name!r}: could not write the persistent cache entry {str(path)!r}: {exc}",
                PersistentCacheWarning,
                stacklevel=2,
            )
            return
        if not getattr(task, "cache_key", None):
            # entries written by older versions of this task's code can never be used again
            for name in os.listdir(folder):
                if name.endswith(SUFFIX) and not name.startswith(code[:16]):
                    remove(folder / name)

    def clear(self) -> None:
        """Delete every entry of this flow (shared ``cache_key`` entries are kept)."""
        import shutil

        shutil.rmtree(self.directory / _slug(self.flow_name), ignore_errors=True)


def _make_dirs(folder: pathlib.Path) -> None:
    from headwater.engine.results._files import make_dirs

    make_dirs(str(folder))


def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    from headwater.engine.results._files import atomic_write_bytes

    atomic_write_bytes(str(path), data)
