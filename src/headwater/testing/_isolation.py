"""Keeping one test's headwater state away from the next: settings and the in-process cache.

:func:`temporary_settings` changes configuration keys for the whole process while a block runs:
in the calling thread (through ``set_temporary_config``), in threads started during the block
(through the base context every thread sees) and in subprocesses (through the matching
``HEADWATER__...`` environment variables). Everything comes back on exit::

    import headwater
    from headwater.testing._isolation import temporary_settings

    with temporary_settings({"flows.run_on_schedule": False}):
        assert headwater.config.flows.run_on_schedule is False
    assert headwater.config.flows.run_on_schedule is True

:func:`clear_loaded_caches` empties the in-process cache of cached task states, if headwater's
engine has been imported at all (otherwise there is nothing to clear, and nothing is imported).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.configuration import Config

__all__ = ["clear_loaded_caches", "temporary_settings"]

_CACHE_MODULE = "headwater.engine.caching.in_process"
_MISSING = object()


def clear_loaded_caches() -> None:
    """Forget every cached task state of this process, if the engine has been imported."""
    module = sys.modules.get(_CACHE_MODULE)
    if module is not None:
        module.clear_process_caches()


@contextmanager
def temporary_settings(overrides: Mapping[str, Any]) -> Iterator[Config]:
    """Set dotted configuration keys for the whole process while the block runs.

    Args:
        overrides: ``{"section.key": value}``, as for ``set_temporary_config``.

    Yields:
        The configuration in effect inside the block.
    """
    from headwater.configuration import to_environment_variables
    from headwater.context import context
    from headwater.utilities.configuration import set_temporary_config

    with set_temporary_config(overrides) as cfg:
        base = context.base_values
        previous = base.get("config", _MISSING)
        base["config"] = cfg  # threads started in the block see it too
        saved_env = {}
        for name, value in to_environment_variables(cfg, include=set(overrides)).items():
            saved_env[name] = os.environ.get(name)
            os.environ[name] = value  # and so do subprocesses
        try:
            yield cfg
        finally:
            for name, old in saved_env.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old
            if previous is _MISSING:
                base.pop("config", None)
            else:
                base["config"] = previous
