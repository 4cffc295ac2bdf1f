"""Signed, private cache files: the per-user cache key, entry signatures and permission checks.

A persistent cache entry is a pickle, and unpickling runs code. So an entry is only unpickled
when

- the directories it sits in and the file itself are owned by the current user and not
  writable by group or others (else :class:`PersistentCacheError`, whose
  message names the path and the ``chmod`` that fixes it), and
- its HMAC-SHA256 signature, made with the current user's cache key, matches its bytes.

The key is 32 random bytes, kept (as hex) in ``{home_dir}/cache.key``, created with mode
``0o600`` the first time a cache is written or read. Another user can neither read it nor sign
entries with it; deleting it makes every existing entry unusable (they are recomputed). An
entry file is::

    HEADWATER-CACHE-2\\n
    <64 hex digits: HMAC-SHA256(key, first line + payload)>\\n
    <payload: the pickled entry>

>>> key = bytes(32)
>>> data = sign(key, b"payload")
>>> verify(key, data)
b'payload'
>>> verify(bytes.fromhex("11" * 32), data) is None
True
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from headwater.exceptions import HeadwaterError

__all__ = [
    "KEY_FILE_NAME",
    "MAGIC",
    "PersistentCacheError",
    "check_private_dir",
    "key_path",
    "keyed_hash",
    "load_key",
    "read_private_file",
    "sign",
    "verify",
]

MAGIC = b"HEADWATER-CACHE-2\n"
KEY_FILE_NAME = "cache.key"
_TAG_HEX = 64
_KEY_BYTES = 32
_POSIX = os.name == "posix"


class PersistentCacheError(HeadwaterError):
    """A persistent cache directory, entry or key file is not private enough to be trusted.

    It is owned by another user, or other users could change it (or, for the key, read it). The
    message names the path and says how to fix it.
    """


# -- signatures ------------------------------------------------------------------------------
def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, MAGIC + payload, hashlib.sha256).hexdigest().encode("ascii")


def sign(key: bytes, payload: bytes) -> bytes:
    """The bytes of a signed cache file holding ``payload``."""
    return MAGIC + _tag(key, payload) + b"\n" + payload


def verify(key: bytes, data: bytes) -> bytes | None:
    """The payload of a signed cache file, or ``None`` if ``key`` did not sign these bytes."""
    start = len(MAGIC)
    if not data.startswith(MAGIC) or data[start + _TAG_HEX : start + _TAG_HEX + 1] != b"\n":
        return None
    tag = data[start : start + _TAG_HEX]
    payload = data[start + _TAG_HEX + 1 :]
    if not hmac.compare_digest(tag, _tag(key, payload)):
        return None
    return payload


def keyed_hash(key: bytes, value_hash: str) -> str:
    """A hash of a secret input's hash that only the key's owner can compute or test guesses on."""
    return hmac.new(key, b"secret-input\0" + value_hash.encode("ascii"), hashlib.sha256).hexdigest()


# -- ownership and permissions ---------------------------------------------------------------
def _user(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _problem(st: os.stat_result, forbidden: int) -> str | None:
    """What is wrong with a path's owner or mode, or ``None`` when it is private enough."""
    uid = os.geteuid()
    if st.st_uid != uid:
        return f"owned by {_user(st.st_uid)!r}, not by you ({_user(uid)!r})"
    who = []
    if st.st_mode & forbidden & 0o070:
        who.append("its group")
    if st.st_mode & forbidden & 0o007:
        who.append("other users")
    if who:
        verb = "readable or writable" if forbidden & 0o044 else "writable"
        return f"{verb} by {' and '.join(who)} (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def check_private_dir(path: str | os.PathLike[str]) -> None:
    """Refuse a cache directory that is not the current user's own and private.

    Raises:
        PersistentCacheError: if ``path`` is owned by another user or writable by group or
            others; the message says how to fix it.
        OSError: if ``path`` cannot be examined (``FileNotFoundError`` if it does not exist).
    """
    if not _POSIX:
        return
    st = os.stat(path)
    problem = _problem(st, 0o022)
    if problem is not None:
        raise PersistentCacheError(
            f"The persistent cache directory {os.fspath(path)!r} is {problem}, so another user "
            "could plant cache entries in it that would run code as you when read. Use a "
            f"directory only you can write to: `chmod 700 {os.fspath(path)}` (and `chown` it to "
            "yourself if needed), or give the flow another cache_dir."
        )


def read_private_file(path: str | os.PathLike[str]) -> bytes:
    """Read a cache entry, refusing symlinks and files that are not the user's own and private.

    Raises:
        PersistentCacheError: if the file is owned by another user or writable by group or
            others.
        OSError: if it cannot be opened or read (a symlink raises ``OSError`` too).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        if _POSIX:
            problem = _problem(os.fstat(f.fileno()), 0o022)
            if problem is not None:
                raise PersistentCacheError(
                    f"The persistent cache entry {os.fspath(path)!r} is {problem}, so it is not "
                    "read. Delete it (the task runs again and writes a new one), or, if you "
                    f"wrote it yourself, `chmod 600 {os.fspath(path)}`."
                )
        return f.read()


# -- the key ---------------------------------------------------------------------------------
def key_path(home_dir: str | os.PathLike[str] | None) -> Path:
    """Where the cache key lives: ``{home_dir}/cache.key`` (default home: the configured one)."""
    if home_dir is None:
        from headwater.configuration import current_config

        home_dir = current_config().get("home_dir") or "~/.headwater"
    return Path(os.path.expanduser(os.fspath(home_dir))) / KEY_FILE_NAME


def _read_key(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        if _POSIX:
            problem = _problem(os.fstat(f.fileno()), 0o077)
            if problem is not None:
                raise PersistentCacheError(
                    f"The persistent cache key {str(path)!r} is {problem}: whoever can read or "
                    f"replace it can make the cache run their code as you. `chmod 600 {path}` if "
                    "the file is yours; otherwise delete it (headwater makes a new key, and "
                    "existing cache entries are recomputed)."
                )
        text = f.read().strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != _KEY_BYTES:
        raise PersistentCacheError(
            f"The persistent cache key {str(path)!r} is damaged (it must hold {2 * _KEY_BYTES} "
            "hex digits). Delete it: headwater makes a new key, and existing cache entries are "
            "recomputed."
        )
    return key


def load_key(home_dir: str | os.PathLike[str] | None = None) -> bytes:
    """The current user's cache key from ``{home_dir}/cache.key``, created on first use.

    A new key is written to a private temporary file and linked into place, so two processes
    creating it at once agree on one key.

    Raises:
        PersistentCacheError: if the key file is not private or is damaged.
        OSError: if the key cannot be read or created.
    """
    from headwater.engine.results._files import make_dirs

    path = key_path(home_dir)
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    make_dirs(str(path.parent))
    tmp = path.with_name(f".{KEY_FILE_NAME}.{secrets.token_hex(6)}.headwater-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(_KEY_BYTES).hex().encode("ascii") + b"\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made the key first: use theirs
        except OSError:  # no hard links on this filesystem
            if not path.exists():
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return _read_key(path)
