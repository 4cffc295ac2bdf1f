"""headwater's configuration: packaged defaults, user file, environment, interpolation.

The configuration is read once, when ``headwater`` is imported, from these layers (later ones
win, key by key):

1. the packaged defaults, written out with the documentation of every key in the
   ``config.toml`` next to this module;
2. the user file named by ``HEADWATER__USER_CONFIG_PATH`` (default ``~/.headwater/config.toml``;
   a missing user file is fine);
3. environment variables ``HEADWATER__SECTION__KEY=value``. Values are typed with
   :func:`string_to_type` (``true``/``false`` in any case, numbers, Python literals, else text);
   the text is kept verbatim for keys known to be strings.

On the merged result, string values then get

4. ``$NAME`` / ``${NAME}`` environment variables and a leading ``~`` expanded
   (:func:`interpolate_env_vars`), and
5. ``${section.key}`` references to other keys replaced. References may nest; a value that is
   exactly one reference takes the referenced value with its type. ``${name}`` is a reference
   when ``name`` is a top-level key, otherwise an environment variable. Values under
   ``[context.secrets]`` are used verbatim, so a password may contain ``$``.

Mistakes raise :class:`~headwater.exceptions.ConfigurationError` naming the file, environment
variable or key at fault. Keys headwater does not know are kept, so the configuration can carry
settings of your own::

    from headwater.configuration import load_configuration

    cfg = load_configuration(env={
        "HEADWATER__USER_CONFIG_PATH": "/nonexistent/config.toml",
        "HEADWATER__TASKS__DEFAULTS__MAX_RETRIES": "2",
        "HEADWATER__MY_APP__RESULTS": "${home_dir}/my-app",
    })
    assert cfg.tasks.defaults.max_retries == 2
    assert cfg.my_app.results == cfg.home_dir + "/my-app"

Reading the configuration. :data:`config` (also ``headwater.config``) is a proxy that resolves,
on each access, to ``headwater.context.config`` when a block set one (see
:func:`headwater.utilities.configuration.set_temporary_config`) and to the loaded configuration
otherwise; the loaded configuration sits in the base context, so every thread sees it. Each
attribute access through the proxy costs one context-variable lookup; code that reads many keys
in a loop can take the object once with :func:`current_config`. :func:`setting` reads one
dotted key, falling back on the key's packaged default when the configuration in effect lacks
it::

    from headwater.configuration import setting

    assert setting("tasks.defaults.max_retries") == 0
    assert setting("my_app.mode", default="dev") == "dev"

The schema. Every known key, with its type, default and description, is declared once, in
``headwater._config.schema``; the packaged ``config.toml`` is generated from it, and the checks
at load, the typing of environment variables and the pydantic model all derive from it.

Validation. The values of known keys are checked at load against the schema's kinds, which
costs well under a millisecond and gives messages naming the file or variable a bad value came
from. The pydantic model of the known keys accepts exactly what those checks accept (both come
from the schema; a test checks them against each other), so loading never imports pydantic
(about 100 ms): :func:`validate_config` runs the model on any configuration, missing keys
included, for programs that want a pydantic error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from headwater._config.current import (
    ConfigProxy,
    current_config,
    global_config,
    reserved_names,
    set_global_config,
    setting,
)
from headwater._config.interpolate import interpolate_env_vars, string_to_type
from headwater._config.layers import (
    DEFAULT_CONFIG,
    DEFAULT_USER_CONFIG,
    ENV_PREFIX,
    dotted,
    env_name,
    env_text,
    flatten,
)
from headwater._config.load import Row, explain, load_layers, process_task_defaults
from headwater._config.schema import SECRETS
from headwater._config.types import Config, ConfigKeyError
from headwater.utilities.collections import as_nested_dict

__all__ = [
    "DEFAULT_CONFIG",
    "Config",
    "ConfigKeyError",
    "ConfigProxy",
    "config",
    "current_config",
    "explain_configuration",
    "global_config",
    "interpolate_env_vars",
    "load_class_from_config",
    "load_configuration",
    "process_task_defaults",
    "setting",
    "string_to_type",
    "to_environment_variables",
    "validate_config",
]

USER_CONFIG = os.getenv(f"{ENV_PREFIX}__USER_CONFIG_PATH", DEFAULT_USER_CONFIG)
"""Path of the user's configuration file, as set when headwater was imported."""
ENV_VAR_PREFIX = ENV_PREFIX
"""The prefix of configuration environment variables (``HEADWATER``)."""

StrPath = str | os.PathLike[str]


def load_configuration(
    path: StrPath = DEFAULT_CONFIG,
    user_config_path: StrPath | None = None,
    backend_config_path: StrPath | None = None,
    env_var_prefix: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Load a configuration: defaults file, user files, environment, then interpolation.

    Called with files only, it reads just those files (``$NAME`` references still expand from
    ``os.environ``). Passing ``env_var_prefix`` also reads ``PREFIX__SECTION__KEY`` variables;
    passing ``env`` reads configuration variables from that mapping, with the ``HEADWATER``
    prefix unless ``env_var_prefix`` says otherwise, and the user file named by its
    ``HEADWATER__USER_CONFIG_PATH`` (default ``~/.headwater/config.toml``), as headwater does
    at import.

    Args:
        path: the defaults file (the packaged ``config.toml`` by default).
        user_config_path: a user file merged over the defaults; a missing file is skipped and
            ``""`` reads none.
        backend_config_path: one more file merged over the user file, if it exists.
        env_var_prefix: the prefix of configuration variables to read (``None``: read none,
            unless ``env`` is given).
        env: the environment to read variables from (default ``os.environ``).

    Returns:
        The configuration, with task defaults normalised by :func:`process_task_defaults`.

    Raises:
        ConfigurationError: a file is unreadable or not valid TOML, a value has the wrong type
            for its key, a key would shadow a ``Config`` method, or references form a cycle.
            (It is a ``ValueError``.) A reference to a key that does not exist is replaced by
            ``""`` with a ``UserWarning`` naming both keys.
    """
    prefix = env_var_prefix if env_var_prefix is not None or env is None else ENV_PREFIX
    if user_config_path is None and env is None:
        user_config_path = ""
    data, sources, _ = load_layers(
        path, user_config_path, env, prefix, reserved_names(), backend_config_path
    )
    cfg: Config = as_nested_dict(data, Config)
    context_section = data.get("context")
    secrets = context_section.get("secrets") if isinstance(context_section, dict) else None
    if isinstance(secrets, dict):
        # A secret's value is data, not a section: a dict stays a dict.
        for name, value in secrets.items():
            if isinstance(value, dict):
                cfg.context.secrets[name] = value
    return process_task_defaults(cfg)


def explain_configuration(
    path: StrPath = DEFAULT_CONFIG,
    user_config_path: StrPath | None = None,
    env: Mapping[str, str] | None = None,
    env_var_prefix: str = ENV_PREFIX,
) -> tuple[list[Row], str | None]:
    """Load as headwater does at import and say where each value came from.

    ``user_config_path=None`` reads the file named by ``HEADWATER__USER_CONFIG_PATH`` in
    ``env`` (default ``os.environ``), else ``~/.headwater/config.toml``.

    Returns:
        ``(rows, user_file)``: one ``(dotted_key, value, source)`` row per key, in file order,
        with values as written (before :func:`process_task_defaults`), and the user file that
        was read (or the path that was looked for, marked ``(not found)``).
    """
    return explain(path, user_config_path, env, env_var_prefix, reserved_names())


def to_environment_variables(
    config: Mapping[str, Any], include: Any = None, prefix: str = ENV_PREFIX
) -> dict[str, str]:
    """The environment variables that reproduce ``config`` when loaded.

    Args:
        config: the configuration to export.
        include: dotted keys or section names to export (``{"logging", "tasks.defaults.timeout"}``);
            ``None`` exports every key.
        prefix: the variable prefix.

    Returns:
        ``{"HEADWATER__SECTION__KEY": "value"}``; values re-type to the same value when loaded.
    """
    wanted = None if include is None else {str(i) for i in include}
    flat: dict[tuple[str, ...], Any] = {}
    flatten(config, flat, set())
    out: dict[str, str] = {}
    for key, value in flat.items():
        if wanted is not None and not any(
            dotted(key[:i]) in wanted for i in range(1, len(key) + 1)
        ):
            continue
        if key[:2] == SECRETS and len(key) == 3:
            name = f"{env_name(key[:2], prefix)}__{key[2]}"  # secret names keep their case
        else:
            name = env_name(key, prefix)
        out[name] = env_text(key, value)
    return out


def load_class_from_config(key: str, config: Mapping[str, Any] | None = None) -> Any:
    """Import the class named by dotted configuration ``key`` (``"engine.executor.default_class"``).

    A class object stored at ``key`` (e.g. by ``set_temporary_config``) is returned as it is.

    Args:
        key: the dotted key.
        config: the configuration to read (default: the one in effect).

    Raises:
        ConfigurationError: the key is not set, or its value does not name an importable object;
            the message names the key, the file or variable the value came from, and what is
            expected.
    """
    from headwater._config.classes import load_class_from_config as load

    return load(key, current_config() if config is None else config)


def validate_config(config: Mapping[str, Any] | None = None) -> None:
    """Check a whole configuration against headwater's pydantic model of its known keys.

    Imports pydantic, so it is not run at import time; see the module docstring.

    Args:
        config: the configuration to check (default: the one in effect).

    Raises:
        ConfigurationError: listing every invalid key and why.
    """
    from headwater._config.model import validate

    validate(current_config() if config is None else config)


def _started_as_command_line() -> bool:
    """Whether this process is the ``headwater`` command (its script, or ``python -m``)."""
    import sys

    script = os.path.splitext(os.path.basename(sys.argv[0] if sys.argv else ""))[0]
    if script.removesuffix("-script") == "headwater":
        return True
    argv = list(getattr(sys, "orig_argv", ()))
    return "-m" in argv and argv[argv.index("-m") + 1 :][:1] in (["headwater"], ["headwater.cli"])


def _load_at_import() -> Config:
    """The configuration loaded when headwater is imported.

    In the ``headwater`` command a bad configuration ends the process with one line naming
    what is wrong (the command cannot catch an error raised while it is being imported);
    anywhere else it raises ``ConfigurationError``.
    """
    from headwater.exceptions import ConfigurationError

    try:
        return load_configuration(DEFAULT_CONFIG, env=os.environ)
    except ConfigurationError as exc:
        if not _started_as_command_line():
            raise
        raise SystemExit("headwater: configuration error: " + " ".join(str(exc).split())) from None


set_global_config(_load_at_import())
config: Config = ConfigProxy()
"""The configuration in effect in the current context (see the module docstring)."""
