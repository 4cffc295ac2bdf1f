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

import functools
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
    from headwater._config_loading import _check_structure, _check_value, _flatten, _Source
    from headwater.configuration import _reserved_names, current_config, process_task_defaults
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
    _flatten(new, flat, sections)
    source = _Source("set", "set_temporary_config")
    sources = {k: source for k in flat}
    _check_structure(flat, sections, sources, _reserved_names())
    for k, v in flat.items():
        _check_value(k, v, source)
    process_task_defaults(new)
    with context(config=new):
        yield new


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    """Build (once) the pydantic model of the known keys; unknown keys are allowed."""
    import datetime
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field, StringConstraints

    class _Section(BaseModel):
        model_config = ConfigDict(extra="allow", strict=True)

    class Logging(_Section):
        level: str | int
        format: str
        datefmt: str
        log_attributes: list[str]
        extra_loggers: list[str]

    class Flows(_Section):
        checkpointing: bool
        run_on_schedule: bool
        eager_edge_validation: bool
        persistent_cache: bool = False
        progress: bool | Annotated[str, StringConstraints(pattern=r"(?i)^\s*auto\s*$")] = "auto"

    class TaskDefaults(_Section):
        max_retries: int | None = Field(ge=0)
        retry_delay: float | datetime.timedelta | None = Field(default=None)
        timeout: float | datetime.timedelta | None = Field(default=None)

    class Tasks(_Section):
        defaults: TaskDefaults

    class Dask(_Section):
        address: str
        cluster_class: str | type

    class Executor(_Section):
        default_class: str | type
        dask: Dask

    class RunnerSection(_Section):
        default_class: str | type

    class Engine(_Section):
        executor: Executor
        flow_runner: RunnerSection
        task_runner: RunnerSection

    class Context(_Section):
        secrets: dict[str, Any] = Field(default_factory=dict)

    class HeadwaterConfig(_Section):
        debug: bool
        home_dir: str
        logging: Logging
        flows: Flows
        tasks: Tasks
        engine: Engine
        context: Context

    return HeadwaterConfig


def validate_config(config: Mapping) -> None:
    """Check a whole configuration against the pydantic model of headwater's known keys.

    Loading already type-checks known keys with a lighter table; this is the thorough check
    (missing keys included), for tests and tools. It imports pydantic.

    Args:
        config: the configuration to check.

    Raises:
        ConfigurationError: listing every invalid or missing key and why.
    """
    from pydantic import ValidationError

    from headwater.utilities.collections import as_nested_dict

    try:
        _model().model_validate(as_nested_dict(config, dict))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: "
            + ("missing" if err["type"] == "missing" else f"{err['msg']} (got {err['input']!r})")
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None
