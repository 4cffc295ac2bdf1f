"""The ``Config`` mapping: nested sections with attribute access.

:mod:`headwater.configuration` re-exports :class:`Config`. A missing key raises :class:`ConfigKeyError`,
which is both a ``KeyError`` and an ``AttributeError``, so ``getattr(cfg, "x", default)``,
``hasattr`` and ``except KeyError`` all behave as expected::

    from headwater.configuration import Config

    cfg = Config(logging=Config(level="INFO"))
    assert cfg.logging.level == "INFO"
    auto = Config(default_box=True)
    auto.my_app.retries = 3          # missing sections are created on first access
    assert auto.my_app.retries == 3
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from headwater.exceptions import ConfigurationError
from headwater.utilities.collections import DotDict, as_nested_dict

__all__ = ["Config", "ConfigKeyError", "merge_config"]


class ConfigKeyError(KeyError, AttributeError):
    """A configuration key that is not set (raised by attribute access on a ``Config``)."""

    __module__ = "headwater.configuration"  # its public home

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Config(DotDict):
    """Nested, attribute-accessible configuration (each section is itself a ``Config``).

    Args:
        init_dict: initial keys and values.
        default_box: when true, reading a missing key creates (and stores) an empty section
            that behaves the same way, so nested keys can be assigned in one statement.
        **kwargs: more keys and values.
    """

    __module__ = "headwater.configuration"  # its public home (pickles name it there)

    def __new__(cls, *args: Any, default_box: bool = False, **kwargs: Any) -> Config:
        if default_box and cls is Config:
            cls = _AutoSectionConfig
        return super().__new__(cls)

    def __init__(
        self,
        init_dict: Mapping[str, Any] | None = None,
        *,
        default_box: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(init_dict, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        # Only reached when ``attr`` is not a key.
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise ConfigKeyError(
            f"{type(self).__name__!r} object has no attribute {attr!r}: "
            f"the configuration has no key {attr!r}"
        )

    def copy(self) -> Config:
        """A copy in which every section is a new ``Config``; values themselves are shared."""
        new = type(self)()
        for key, value in self.items():
            if isinstance(value, Config):
                value = value.copy()
            new[key] = value
        return new

    def get_nested(self, key: str, default: Any = None) -> Any:
        """The value at dotted ``key`` (``"tasks.defaults.timeout"``), or ``default``."""
        value: Any = self
        for part in key.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return default
            value = value[part]
        return value

    def set_nested(self, key: str, value: Any) -> None:
        """Set the value at dotted ``key``, creating missing sections.

        Raises:
            ConfigurationError: a part of ``key`` before the last names a value, not a section.
        """
        parts = key.split(".")
        if not all(parts):
            raise ConfigurationError(f"invalid configuration key {key!r}: empty part")
        node: MutableMapping[str, Any] = self
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = Config()
            elif not isinstance(child, MutableMapping):
                raise ConfigurationError(
                    f"cannot set {key!r}: {'.'.join(parts[: i + 1])!r} is a value, not a section"
                )
            node = child
        node[parts[-1]] = as_nested_dict(value, Config) if isinstance(value, Mapping) else value


class _AutoSectionConfig(Config):
    """A ``Config`` made with ``default_box=True``: missing keys read as new empty sections."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        section = self.__dict__[attr] = _AutoSectionConfig()
        return section

    def __repr__(self) -> str:
        return super().__repr__().replace("_AutoSectionConfig", "Config", 1)


def merge_config(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> Config:
    """``base`` with ``overrides`` merged in, section by section, as a new ``Config``.

    Only the sections on the path of an override are copied; every other section and value is
    shared with ``base``. Mappings among the overrides become ``Config`` sections.
    """
    new = Config()
    new.__dict__.update(base.__dict__ if isinstance(base, DotDict) else dict(base))
    for key, value in overrides.items():
        current = new.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            new[key] = merge_config(current, value)
        else:
            new[key] = as_nested_dict(value, Config) if isinstance(value, Mapping) else value
    return new
