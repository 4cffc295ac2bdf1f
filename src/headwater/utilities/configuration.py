"""Temporary configuration for a block, and a full check of a configuration with pydantic.

``set_temporary_config`` changes the configuration in effect inside a ``with`` block only, and
only for the thread (or asyncio task) running the block; everything else keeps seeing the
normal configuration::

    import headwater
    from headwater.utilities.configuration import set_temporary_config

    with set_temporary_config({"tasks.defaults.max_retries": 3, "my_app.mode": "test"}):
        assert headwater.config.tasks.defaults.max_retries == 3
        assert headwater.config.my_app.mode == "test"
    assert "my_app" not in headwater.config
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from headwater.exceptions import ConfigurationError

if TYPE_CHECKING:
    from headwater.configuration import Config

__all__ = ["set_temporary_config", "validate_config"]


@contextmanager
def set_temporary_config(temp_config: Mapping[str, Any]) -> Iterator[Config]:
    """Run a block with some configuration keys changed.

    The block gets a copy of the configuration in effect with the given dotted keys set
    (missing sections are created, unknown keys are allowed); the copy is placed in
    ``headwater.context`` so the change is isolated to this thread or task and undone on exit.
    Values of known keys are type-checked as at load, and ``tasks.defaults`` are normalised
    with :func:`~headwater.configuration.process_task_defaults`.

    Args:
        temp_config: ``{"section.key": value}``.

    Yields:
        The temporary configuration.

    Raises:
        ConfigurationError: a key is empty, passes through a value, or a known key gets a
            value of the wrong type.
    """
    from headwater._config.current import current_config, reserved_names
    from headwater._config.layers import Source, flatten
    from headwater._config.load import check_structure, check_value, process_task_defaults
    from headwater.context import context

    new = current_config().copy()
    for key, value in temp_config.items():
        if not isinstance(key, str):
            raise ConfigurationError(
                f"set_temporary_config keys are dotted strings like 'tasks.defaults.timeout', "
                f"not {key!r}"
            )
        new.set_nested(key, value)
    flat: dict[tuple[str, ...], Any] = {}
    sections: set[tuple[str, ...]] = set()
    flatten(new, flat, sections)
    source = Source("set", "set_temporary_config")
    sources = {k: source for k in flat}
    check_structure(flat, sections, sources, reserved_names())
    for k, v in flat.items():
        check_value(k, v, source)
    process_task_defaults(new)
    with context(config=new):
        yield new


def validate_config(config: Mapping[str, Any]) -> None:
    """Check a whole configuration against the pydantic model of headwater's known keys.

    Loading already type-checks known keys against the same schema; this is the thorough check
    (missing keys included), for tests and tools. It imports pydantic.

    Args:
        config: the configuration to check.

    Raises:
        ConfigurationError: listing every invalid or missing key and why.
    """
    from headwater._config.model import validate

    validate(config)
