"""The configuration in effect: ``headwater.config``, :func:`current_config` and :func:`setting`.

The loaded configuration is installed once (:func:`set_global_config`); a block may put another
one in ``headwater.context.config``. :class:`ConfigProxy` and :func:`current_config` resolve to
the context's configuration when set, else the loaded one. :func:`setting` reads one dotted key
from it, with the schema's default when the key is missing::

    from headwater.configuration import setting
    from headwater.utilities.configuration import set_temporary_config

    assert setting("flows.checkpointing") is False
    with set_temporary_config({"flows.checkpointing": True}):
        assert setting("flows.checkpointing") is True
    assert setting("my_app.mode", "dev") == "dev"
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from headwater._config.schema import fallback
from headwater._config.types import Config, ConfigKeyError
from headwater.context import context as _context
from headwater.exceptions import ConfigurationError
from headwater.utilities.collections import as_nested_dict

__all__ = [
    "ConfigProxy",
    "current_config",
    "global_config",
    "reserved_names",
    "set_global_config",
    "setting",
]

_MISSING: Any = object()
_global_config = Config()
# headwater.context keeps its values in a ContextVar holding a dict, falling back to the base
# dict every thread sees; reading those two directly keeps ``config.x`` and setting() cheap.
_context_var_get = _context.context_var.get
_context_base: dict[str, Any] = _context.base_values


class ConfigProxy(Config):
    """``headwater.config``: the configuration in effect in the current context.

    Reads and writes go to ``headwater.context.config`` when a block set one, else to the
    configuration loaded at import. The proxy holds no data itself.
    """

    __module__ = "headwater.configuration"  # its public home, where pickles find ``config``

    def __getattribute__(self, name: str) -> Any:
        # The hot path: one context-variable read and one dict lookup. Keys never shadow
        # methods (loading rejects such keys), so a miss falls back to the proxy's methods.
        ctx = _context_var_get()
        cfg = (_context_base if ctx is None else ctx).get("config")
        if type(cfg) is not Config:
            cfg = _coerce_config(cfg)
        value = cfg.__dict__.get(name, _MISSING)
        if value is _MISSING:
            return object.__getattribute__(self, name)
        return value

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(current_config(), attr)  # raises "Config has no key ..."

    def __setattr__(self, key: str, value: Any) -> None:
        current_config()[key] = value

    def __getitem__(self, key: str) -> Any:
        return current_config()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        current_config()[key] = value

    def __delitem__(self, key: str) -> None:
        del current_config()[key]

    __delattr__ = __delitem__

    def __iter__(self) -> Iterator[str]:
        return iter(current_config())

    def __len__(self) -> int:
        return len(current_config())

    def __contains__(self, key: object) -> bool:
        return key in current_config()

    def __eq__(self, other: object) -> bool:
        return current_config() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(current_config())

    def __reduce__(self) -> str:
        return "config"  # pickles by reference to headwater.configuration's ``config``

    def get(self, key: str, default: Any = None) -> Any:
        return current_config().get(key, default)

    def copy(self) -> Config:
        return current_config().copy()

    def to_dict(self) -> dict[str, Any]:
        return current_config().to_dict()

    def get_nested(self, key: str, default: Any = None) -> Any:
        return current_config().get_nested(key, default)

    def set_nested(self, key: str, value: Any) -> None:
        current_config().set_nested(key, value)


def global_config() -> Config:
    """The configuration loaded at import (what every context sees unless overridden)."""
    return _global_config


def set_global_config(cfg: Config) -> None:
    """Install ``cfg`` as the loaded configuration (done once, when headwater is imported)."""
    global _global_config
    _global_config = cfg


def current_config() -> Config:
    """The configuration in effect here: ``context.config`` if set, else the loaded one."""
    ctx = _context_var_get()
    cfg = (_context_base if ctx is None else ctx).get("config")
    if type(cfg) is Config:
        return cfg
    return _coerce_config(cfg)


def _coerce_config(cfg: Any) -> Config:
    if cfg is None or isinstance(cfg, ConfigProxy):
        return _global_config
    if isinstance(cfg, Config):
        return cfg
    if isinstance(cfg, Mapping):
        nested: Config = as_nested_dict(cfg, Config)
        return nested
    raise ConfigurationError(
        f"context.config must be a Config or a mapping, not {type(cfg).__name__}"
    )


def reserved_names() -> frozenset[str]:
    """Names a key may not take, because they are methods of ``Config``."""
    return frozenset(n for n in dir(ConfigProxy) if not n.startswith("__"))


def _in_effect() -> Mapping[str, Any]:
    """The configuration in effect, as stored: a plain mapping is read as it is, not copied."""
    ctx = _context_var_get()
    cfg = (_context_base if ctx is None else ctx).get("config")
    if type(cfg) is Config or (isinstance(cfg, Mapping) and not isinstance(cfg, ConfigProxy)):
        return cfg
    return _coerce_config(cfg)


_PARTS: dict[str, tuple[str, ...]] = {}


def setting(key: str, default: Any = _MISSING, *, config: Mapping[str, Any] | None = None) -> Any:
    """The value of dotted ``key`` in the configuration in effect, or a default.

    Reading costs a context-variable lookup and one dict lookup per part of the key; nothing
    is validated or copied, so it suits code that runs for every task.

    Args:
        key: a dotted key, ``"flows.checkpointing"``; a section's key (``"tasks.defaults"``)
            gives the section itself.
        default: returned when the key is missing (or a part of it is not a section). Without
            it, a known key falls back on its schema default, as loaded from the packaged
            defaults (``tasks.defaults.timeout`` -> ``None``).
        config: the configuration to read instead of the one in effect.

    Raises:
        ConfigKeyError: ``key`` is missing, not a known key, and no ``default`` was given.
    """
    try:
        parts = _PARTS[key]
    except KeyError:
        parts = tuple(key.split("."))
        if len(_PARTS) < 1024:
            _PARTS[key] = parts
    node: Any = config
    if node is None:  # the configuration in effect, read inline: this runs on hot paths
        ctx = _context_var_get()
        node = (_context_base if ctx is None else ctx).get("config")
        if type(node) is not Config:
            node = _in_effect()
    try:
        for part in parts:
            node = node.__dict__[part] if type(node) is Config else node[part]
        return node
    except (KeyError, TypeError, IndexError):  # missing, or a value where a section should be
        pass
    if default is not _MISSING:
        return default
    try:
        return fallback(key)
    except KeyError:
        raise ConfigKeyError(
            f"configuration key {key!r} is not set and is not a key headwater knows; "
            f"pass a default: setting({key!r}, default)"
        ) from None
