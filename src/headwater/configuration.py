"""headwater's configuration: packaged defaults, user file, environment, interpolation.

The configuration is read once, when ``headwater`` is imported, from these layers (later ones
win, key by key):

1. the packaged ``config.toml`` next to this module (every key is documented there);
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
in a loop can take the object once with :func:`current_config`.

Validation. The values of known keys are checked at load against a small hand-written type
table (``_KNOWN`` in ``headwater._config_loading``), which costs well under a millisecond and
gives messages naming the file or variable a bad value came from. When a user file or a
``HEADWATER__`` variable supplied any value, the merged configuration is then also validated
against the pydantic model of the known keys (unknown keys allowed). Importing pydantic and
building the model costs about 100 ms, so a configuration made only of the packaged defaults
(which pass the model; a test checks) skips it, and a plain ``import headwater`` stays near
20 ms. :func:`validate_config` runs the same model on any configuration, missing keys included.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator, Mapping
from typing import Any

from headwater._config_loading import (
    _KNOWN,
    _SECRETS,
    ENV_PREFIX,
    _dotted,
    _env_name,
    _flatten,
    _is_num,
    _load,
    interpolate_env_vars,
    string_to_type,
)
from headwater._config_types import Config, ConfigKeyError
from headwater.context import context as _context
from headwater.exceptions import ConfigurationError
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
    "string_to_type",
    "to_environment_variables",
    "validate_config",
]

DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.toml")
"""Path of the packaged defaults."""
USER_CONFIG = os.getenv(f"{ENV_PREFIX}__USER_CONFIG_PATH", "~/.headwater/config.toml")
"""Path of the user's configuration file, as set when headwater was imported."""
ENV_VAR_PREFIX = ENV_PREFIX


class ConfigProxy(Config):
    """``headwater.config``: the configuration in effect in the current context.

    Reads and writes go to ``headwater.context.config`` when a block set one, else to the
    configuration loaded at import. The proxy holds no data itself.
    """

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
        return "config"  # pickles by reference to this module's ``config``

    def get(self, key: str, default: Any = None) -> Any:
        return current_config().get(key, default)

    def copy(self) -> Config:
        return current_config().copy()

    def to_dict(self) -> dict:
        return current_config().to_dict()

    def get_nested(self, key: str, default: Any = None) -> Any:
        return current_config().get_nested(key, default)

    def set_nested(self, key: str, value: Any) -> None:
        current_config().set_nested(key, value)


_global_config: Config = Config()
_MISSING = object()
# headwater.context keeps its values in a ContextVar holding a dict, falling back to the base
# dict every thread sees; reading those two directly keeps ``config.x`` cheap.
_context_var_get = _context._var.get
_context_base: dict[str, Any] = _context._base


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
        return as_nested_dict(cfg, Config)
    raise ConfigurationError(
        f"context.config must be a Config or a mapping, not {type(cfg).__name__}"
    )


def _reserved_names() -> frozenset[str]:
    """Names a key may not take, because they are methods of ``Config``."""
    return frozenset(n for n in dir(ConfigProxy) if not n.startswith("__"))


def global_config() -> Config:
    """The configuration loaded at import (what every context sees unless overridden)."""
    return _global_config


def load_configuration(
    path: str | os.PathLike = DEFAULT_CONFIG,
    user_config_path: str | os.PathLike | None = None,
    backend_config_path: str | os.PathLike | None = None,
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
    data, sources, _ = _load(
        path, user_config_path, env, prefix, _reserved_names(), backend_config_path
    )
    if any(src.kind in ("user", "env") for src in sources.values()):
        # Values a user supplied are also checked against the pydantic model of the known
        # keys. The packaged defaults alone pass it (a test checks), so a plain
        # ``import headwater`` skips this and never imports pydantic.
        _validate_against_model(data, sources)
    cfg = as_nested_dict(data, Config)
    secrets = (
        data.get("context", {}).get("secrets") if isinstance(data.get("context"), dict) else None
    )
    if isinstance(secrets, dict):
        # A secret's value is data, not a section: a dict stays a dict.
        for name, value in secrets.items():
            if isinstance(value, dict):
                cfg.context.secrets[name] = value
    return process_task_defaults(cfg)


def _validate_against_model(
    data: Mapping[str, Any], sources: Mapping[tuple[str, ...], Any]
) -> None:
    from pydantic import ValidationError

    from headwater.utilities.configuration import _model

    try:
        _model().model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["type"] == "missing":
                continue  # a file of other defaults may leave known keys out
            loc = tuple(str(p) for p in err["loc"])
            where = next(
                (sources[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in sources), None
            )
            origin = f" (from {where})" if where is not None else ""
            problems.append(f"{'.'.join(loc)}: {err['msg']}, got {err['input']!r}{origin}")
        if not problems:
            return
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None


def explain_configuration(
    path: str | os.PathLike = DEFAULT_CONFIG,
    user_config_path: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    env_var_prefix: str = ENV_PREFIX,
) -> tuple[list[tuple[str, Any, str]], str | None]:
    """Load as headwater does at import and say where each value came from.

    ``user_config_path=None`` reads the file named by ``HEADWATER__USER_CONFIG_PATH`` in
    ``env`` (default ``os.environ``), else ``~/.headwater/config.toml``.

    Returns:
        ``(rows, user_file)``: one ``(dotted_key, value, source)`` row per key, in file order,
        with values as written (before :func:`process_task_defaults`), and the user file that
        was read (or the path that was looked for, marked ``(not found)``).
    """
    data, sources, user_path = _load(path, user_config_path, env, env_var_prefix, _reserved_names())
    flat: dict[tuple[str, ...], Any] = {}
    _flatten(data, flat, set())
    rows = [(_dotted(k), v, str(sources.get(k, "unknown"))) for k, v in flat.items()]
    return rows, user_path


# ----------------------------------------------------------------------------- helpers --
def process_task_defaults(config: Config) -> Config:
    """Normalise ``tasks.defaults`` in place: 0/None values mean "not set".

    ``max_retries`` becomes ``0`` when unset; ``retry_delay`` and ``timeout`` become ``None``
    when 0 or unset, and a ``timedelta`` when given in seconds.

    Returns:
        ``config`` itself.
    """
    tasks = config.setdefault("tasks", Config())
    defaults = tasks.setdefault("defaults", Config())
    defaults["max_retries"] = defaults.get("max_retries") or 0
    for key in ("retry_delay", "timeout"):
        value = defaults.get(key)
        if not value:
            defaults[key] = None
        elif _is_num(value):
            defaults[key] = datetime.timedelta(seconds=value)
    return config


def _env_text(key: tuple[str, ...], value: Any) -> str:
    if isinstance(value, str):
        spec = _KNOWN.get(key)
        if spec is not None and spec.text:
            return value  # read back verbatim
        typed = string_to_type(value)
        # Quote text that would otherwise come back as another value ("123", "true", "None").
        return value if type(typed) is str and typed == value else repr(value)
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        return str(int(seconds)) if seconds.is_integer() else str(seconds)
    if isinstance(value, (list, tuple, set, dict)):
        return repr(value)
    return str(value)


def to_environment_variables(
    config: Mapping, include: Any = None, prefix: str = ENV_PREFIX
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
    _flatten(config, flat, set())
    out: dict[str, str] = {}
    for key, value in flat.items():
        if wanted is not None and not any(
            _dotted(key[:i]) in wanted for i in range(1, len(key) + 1)
        ):
            continue
        if key[:2] == _SECRETS and len(key) == 3:
            name = f"{_env_name(key[:2], prefix)}__{key[2]}"
        else:
            name = _env_name(key, prefix)
        out[name] = _env_text(key, value)
    return out


_CLASS_EXAMPLES = {
    "engine.executor.default_class": "headwater.executors.LocalDaskExecutor",
    "engine.flow_runner.default_class": "headwater.engine.flow_runner.FlowRunner",
    "engine.task_runner.default_class": "headwater.engine.task_runner.TaskRunner",
}


def _origin(key: str, value: Any) -> str:
    """Where the loaded configuration got ``key`` from (" (from user file ...)"), if it did.

    Only used to word errors: it loads the configuration again, with the process environment.
    """
    try:
        rows, _ = explain_configuration()
    except ConfigurationError:
        return ""
    for dotted, loaded, source in rows:
        if dotted == key and loaded == value:
            return f" (from {source})"
    return ""


def _import_configured(key: str, value: str) -> Any:
    """Import the object named by dotted path ``value``, the value of configuration ``key``.

    Raises:
        ConfigurationError: naming the key, where its value came from, and what is expected.
    """
    example = _CLASS_EXAMPLES.get(key, "package.module.Class")

    def error(problem: str) -> ConfigurationError:
        return ConfigurationError(
            f"configuration key {key} = {value!r}{_origin(key, value)}: {problem}; set {key} "
            f"(or {_env_name(tuple(key.split('.')))}) to an importable dotted path such as "
            f"{example!r}"
        )

    import importlib

    parts = value.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                continue  # this prefix is not a module; try a shorter one
            raise error(f"importing {module_name} failed: {exc}") from exc
        except Exception as exc:
            raise error(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from exc
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            raise error(f"module {module_name} has no attribute {'.'.join(parts[i:])!r}") from None
        return obj
    raise error(f"no module {parts[0]!r} can be imported")


def load_class_from_config(key: str, config: Mapping | None = None) -> Any:
    """Import the class named by dotted configuration ``key`` (``"engine.executor.default_class"``).

    A class object stored at ``key`` (e.g. by ``set_temporary_config``) is returned as it is.

    Raises:
        ConfigurationError: the key is not set, or its value does not name an importable object;
            the message names the key, the file or variable the value came from, and what is
            expected.
    """
    cfg = current_config() if config is None else config
    value: Any = cfg
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    fix = f"set {key} (or {_env_name(tuple(key.split('.')))}) to an importable dotted path"
    if value is None:
        raise ConfigurationError(f"configuration key {key} is not set; {fix}")
    if not isinstance(value, str):
        if callable(value):
            return value
        raise ConfigurationError(f"configuration key {key} = {value!r} is not a class; {fix}")
    return _import_configured(key, value)


def validate_config(config: Mapping | None = None) -> None:
    """Check a whole configuration against headwater's pydantic model of its known keys.

    Imports pydantic, so it is not run at import time; see the module docstring.

    Args:
        config: the configuration to check (default: the one in effect).

    Raises:
        ConfigurationError: listing every invalid key and why.
    """
    from headwater.utilities.configuration import validate_config as _validate_config

    _validate_config(current_config() if config is None else config)


_global_config = load_configuration(DEFAULT_CONFIG, env=os.environ)
config: Config = ConfigProxy()
"""The configuration in effect in the current context (see the module docstring)."""
