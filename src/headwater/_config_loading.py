"""Loading internals of :mod:`headwater.configuration`: layers, typing, expansion, references.

Nothing here is public API except :func:`string_to_type` and :func:`interpolate_env_vars`,
which :mod:`headwater.configuration` re-exports. Known keys are typed by the table
:data:`_KNOWN`, kept by hand beside ``config.toml`` so that loading never imports pydantic.
"""

from __future__ import annotations

import datetime
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from headwater.exceptions import ConfigurationError

ENV_PREFIX = "HEADWATER"
USER_CONFIG_VAR = "USER_CONFIG_PATH"
DEFAULT_USER_CONFIG = "~/.headwater/config.toml"


# ----------------------------------------------------------------------- typing and expansion --
def string_to_type(val: str) -> Any:
    """Type a string the way environment variable values are typed.

    ``"true"``/``"false"`` (any case) become booleans; text that is a Python literal (numbers,
    ``None``, lists, dicts, quoted strings ...) becomes that value; anything else stays text.

    >>> string_to_type("TRUE"), string_to_type("3"), string_to_type("2.5")
    (True, 3, 2.5)
    >>> string_to_type("[1, 'a']"), string_to_type("hello")
    ([1, 'a'], 'hello')
    """
    low = val.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    import ast

    try:
        return ast.literal_eval(val)
    except Exception:  # not a literal: SyntaxError, ValueError, MemoryError ...
        return val


_ENV_REF = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")
_MAX_ROUNDS = 10


def _expand_once(text: str, env: Mapping[str, str], skip: frozenset[str] | set[str]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if m.group(2) and name in skip:  # ${home_dir}: a config reference, resolved later
            return m.group(0)
        return env.get(name, m.group(0))

    if "$" in text:
        text = _ENV_REF.sub(sub, text)
    if text[:1] == "~" and (len(text) == 1 or text[1] in "/\\"):
        home = env.get("HOME") or os.path.expanduser("~")
        text = home + text[1:]
    elif text[:1] == "~":
        text = os.path.expanduser(text)
    return text


def _expand(text: str, env: Mapping[str, str], skip: frozenset[str] | set[str]) -> str:
    for _ in range(_MAX_ROUNDS):
        new = _expand_once(text, env, skip)
        if new == text:
            return new
        text = new
    raise ConfigurationError(
        f"expanding environment variables in {text!r} does not settle after {_MAX_ROUNDS} "
        "rounds; an environment variable probably refers to itself"
    )


def interpolate_env_vars(env_var: Any, env: Mapping[str, str] | None = None) -> Any:
    """Expand ``$NAME``/``${NAME}`` and a leading ``~`` in a string.

    Expansion repeats while it changes the text (a variable may name another). Variables that
    are not set are left as written. When anything was expanded, the result is typed with
    :func:`string_to_type`; other values are returned unchanged.

    Args:
        env_var: the value to expand; non-strings are returned as they are.
        env: the environment to read (default ``os.environ``).

    >>> interpolate_env_vars("$N/x", env={"N": "a"}), interpolate_env_vars("$N", env={"N": "4"})
    ('a/x', 4)
    """
    if not isinstance(env_var, str) or not env_var:
        return env_var
    new = _expand(env_var, os.environ if env is None else env, frozenset())
    return env_var if new == env_var else string_to_type(new)


# --------------------------------------------------------------------------- known key types --
class _Spec(NamedTuple):
    expected: str
    check: Callable[[Any], bool]
    text: bool = False  # text from the environment is kept verbatim instead of typed


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_LEVELS = {"CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET"}
_STR = _Spec("a string", lambda v: isinstance(v, str), text=True)
_BOOL = _Spec("a boolean (true or false)", lambda v: isinstance(v, bool))
_STR_LIST = _Spec(
    "a list of strings, e.g. ['a', 'b']",
    lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
)
_CLASS = _Spec(
    "a dotted import path such as 'package.module.Class'",
    lambda v: isinstance(v, type) or (isinstance(v, str) and _DOTTED.fullmatch(v) is not None),
    text=True,
)
_LEVEL = _Spec(
    "a logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL) or its number",
    lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, str) and v.upper() in _LEVELS)
    ),
)
_RETRIES = _Spec(
    "an integer >= 0 (0: no retries)",
    lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
)
_SECONDS = _Spec(
    "a number of seconds >= 0 (0: not set)",
    lambda v: v is None or isinstance(v, datetime.timedelta) or (_is_num(v) and v >= 0),
)

_PROGRESS = _Spec(
    "true, false or 'auto'",
    lambda v: isinstance(v, bool) or (isinstance(v, str) and v.strip().lower() == "auto"),
)

_KNOWN: dict[tuple[str, ...], _Spec] = {
    ("debug",): _BOOL,
    ("home_dir",): _STR,
    ("logging", "level"): _LEVEL,
    ("logging", "format"): _STR,
    ("logging", "datefmt"): _STR,
    ("logging", "log_attributes"): _STR_LIST,
    ("logging", "extra_loggers"): _STR_LIST,
    ("flows", "checkpointing"): _BOOL,
    ("flows", "run_on_schedule"): _BOOL,
    ("flows", "eager_edge_validation"): _BOOL,
    ("flows", "persistent_cache"): _BOOL,
    ("flows", "progress"): _PROGRESS,
    ("flows", "defaults", "storage", "default_class"): _CLASS,
    ("flows", "defaults", "storage", "add_default_labels"): _BOOL,
    ("tasks", "defaults", "max_retries"): _RETRIES,
    ("tasks", "defaults", "retry_delay"): _SECONDS,
    ("tasks", "defaults", "timeout"): _SECONDS,
    ("engine", "executor", "default_class"): _CLASS,
    ("engine", "executor", "dask", "address"): _STR,
    ("engine", "executor", "dask", "cluster_class"): _CLASS,
    ("engine", "flow_runner", "default_class"): _CLASS,
    ("engine", "task_runner", "default_class"): _CLASS,
}
_SECTIONS = {key[:i] for key in _KNOWN for i in range(1, len(key))} | {("context", "secrets")}
_SECRETS = ("context", "secrets")


def _env_name(key: tuple[str, ...], prefix: str = ENV_PREFIX) -> str:
    return "__".join((prefix, *key)).upper()


def _dotted(key: tuple[str, ...]) -> str:
    return ".".join(key)


class _Source(NamedTuple):
    kind: str  # "default", "user", "env" or "set"
    where: str  # file path, variable name or description

    def __str__(self) -> str:
        return {
            "default": "default file {}",
            "user": "user file {}",
            "env": "environment variable {}",
        }.get(self.kind, "{}").format(self.where)


def _check_value(key: tuple[str, ...], value: Any, source: _Source | None, note: str = "") -> None:
    spec = _KNOWN.get(key)
    if spec is None or spec.check(value):
        return
    where = f" from {source}" if source else ""
    if source and source.kind == "env":
        fix = f"set {source.where} to {spec.expected}"
    elif source and source.kind in ("default", "user"):
        fix = f"change {_dotted(key)} in {source.where}"
    else:
        fix = f"set it to {spec.expected}"
    raise ConfigurationError(
        f"configuration key {_dotted(key)} must be {spec.expected}, got {value!r} "
        f"({type(value).__name__}){where}{note}; {fix}"
    )


def _check_structure(flat: Mapping, sections: set, sources: Mapping, reserved: frozenset) -> None:
    for path in [*flat, *sections]:
        if path and path[-1] in reserved:
            src = sources.get(path)
            raise ConfigurationError(
                f"configuration key {_dotted(path)!r}{f' from {src}' if src else ''} is not "
                f"allowed: {path[-1]!r} is the name of a Config method; rename it"
            )
    for key, value in flat.items():
        if key in _SECTIONS:
            src = sources.get(key)
            raise ConfigurationError(
                f"configuration key {_dotted(key)} is a section (a table of keys), but "
                f"{f'{src} sets' if src else 'it was set to'} the value {value!r}"
            )


# ---------------------------------------------------------------------------------- loading --
def _read_toml(path: str, kind: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        where = ""
        if "end of document" in str(exc):
            with open(path, "rb") as f:
                last = f.read().count(b"\n") + 1
            where = f" (line {last} is the end of the file)"
        raise ConfigurationError(
            f"{kind} configuration file {path} is not valid TOML: {exc}{where}"
        ) from exc
    except UnicodeDecodeError as exc:
        before = bytes(exc.object[: exc.start])
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigurationError(
            f"{kind} configuration file {path} is not UTF-8 text: byte "
            f"{exc.object[exc.start : exc.start + 1]!r} at line {line}, column {column} cannot be "
            "decoded. TOML files must be UTF-8: save the file with UTF-8 encoding."
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {kind} configuration file {path}: {exc.strerror or exc}"
        ) from exc


def _merge(
    dst: dict, src: Mapping, source: _Source, sources: dict, parent: tuple[str, ...] = ()
) -> None:
    for k, v in src.items():
        key = (*parent, k)
        if isinstance(v, Mapping) and isinstance(dst.get(k), dict):
            _merge(dst[k], v, source, sources, key)
            continue
        dst[k] = _copy_tree(v)
        _mark(key, v, source, sources)


def _copy_tree(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _copy_tree(x) for k, x in v.items()}
    return v


def _mark(key: tuple[str, ...], v: Any, source: _Source, sources: dict) -> None:
    sources[key] = source
    if isinstance(v, Mapping):
        for k, x in v.items():
            _mark((*key, k), x, source, sources)


def _env_layer(env: Mapping[str, str], prefix: str) -> Iterator[tuple[tuple[str, ...], str, str]]:
    start = prefix + "__"
    skip = start + USER_CONFIG_VAR
    for name in sorted(env):
        if not name.startswith(start) or name == skip:
            continue
        parts = name[len(start) :].split("__")
        if not all(parts):
            raise ConfigurationError(
                f"environment variable {name} has an empty section or key name; write "
                f"{start}SECTION__KEY=value (two underscores between parts)"
            )
        if len(parts) >= 3 and parts[0].lower() == "context" and parts[1].lower() == "secrets":
            key = ("context", "secrets", *parts[2:])  # secret names keep their case
        else:
            key = tuple(p.lower() for p in parts)
        yield key, env[name], name


def _apply_env(data: dict, key: tuple[str, ...], value: Any, name: str, sources: dict) -> None:
    node = data
    for i, part in enumerate(key[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigurationError(
                f"environment variable {name} treats {_dotted(key[: i + 1])} as a section, but "
                f"it is a value ({child!r}); set {_env_name(key[: i + 1])} instead"
            )
        node = child
    if isinstance(node.get(key[-1]), dict) and not isinstance(value, Mapping):
        raise ConfigurationError(
            f"environment variable {name} sets {_dotted(key)}, which is a section; set one of "
            f"its keys instead, e.g. {name}__KEY=value"
        )
    node[key[-1]] = _copy_tree(value)
    _mark(key, value, _Source("env", name), sources)


def _flatten(data: Mapping, flat: dict, sections: set, parent: tuple[str, ...] = ()) -> None:
    for k, v in data.items():
        key = (*parent, k)
        if isinstance(v, Mapping):
            sections.add(key)
            _flatten(v, flat, sections, key)
        else:
            flat[key] = v


def _typed_text(key: tuple[str, ...], text: str) -> Any:
    spec = _KNOWN.get(key)
    return text if spec is not None and spec.text else string_to_type(text)


_CONFIG_REF = re.compile(r"\$\{([^${}]+)\}")


def _resolve_references(flat: dict, sections: set, changed: set) -> None:
    done: set[tuple[str, ...]] = set()
    stack: list[tuple[str, ...]] = []

    def lookup(name: str, referrer: tuple[str, ...]) -> Any:
        target = tuple(name.strip().split("."))
        if target in flat:
            return resolve(target)
        if target in sections:
            raise ConfigurationError(
                f"configuration key {_dotted(referrer)} refers to ${{{name}}}, which is a "
                "section; a reference must name a single key"
            )
        import warnings

        warnings.warn(
            f"configuration key {_dotted(referrer)} refers to ${{{name}}}, but {name!r} is "
            "neither a configuration key nor a set environment variable; the reference is "
            "replaced by an empty string",
            UserWarning,
            stacklevel=2,
        )
        return ""

    def resolve(key: tuple[str, ...]) -> Any:
        value = flat[key]
        if key in done or not isinstance(value, str) or key[:2] == _SECRETS:
            return value
        if key in stack:
            cycle = [*stack[stack.index(key) :], key]
            raise ConfigurationError(
                "configuration references form a cycle: " + " -> ".join(_dotted(k) for k in cycle)
            )
        stack.append(key)
        # Substituting an inner reference may complete an outer one (``${a.${b}}``): repeat.
        for _ in range(_MAX_ROUNDS):
            matches = list(_CONFIG_REF.finditer(value)) if isinstance(value, str) else []
            if not matches:
                break
            if len(matches) == 1 and matches[0].span() == (0, len(value)):
                value = lookup(matches[0].group(1), key)
            else:
                value = _CONFIG_REF.sub(lambda m: _as_text(lookup(m.group(1), key)), value)
            flat[key] = value
            changed.add(key)
        stack.pop()
        done.add(key)
        return value

    for key in list(flat):
        resolve(key)


def _as_text(value: Any) -> str:
    return str(value)


def _load(
    path: str | os.PathLike,
    user_config_path: str | os.PathLike | None,
    env: Mapping[str, str] | None,
    env_prefix: str | None,
    reserved: frozenset[str],
    backend_config_path: str | os.PathLike | None = None,
) -> tuple[dict[str, Any], dict[tuple[str, ...], _Source], str | None]:
    """Merge the layers, expand and resolve; return (data, sources, user file read).

    ``env_prefix=None`` reads no configuration variables (``env`` still expands ``$NAME``);
    ``user_config_path=None`` then reads no user file either.
    """
    env = os.environ if env is None else env
    sources: dict[tuple[str, ...], _Source] = {}
    path = os.fspath(path)
    data: dict[str, Any] = {}
    _merge(data, _read_toml(path, "default"), _Source("default", path), sources)

    if user_config_path is None and env_prefix is not None:
        user_config_path = env.get(f"{env_prefix}__{USER_CONFIG_VAR}", DEFAULT_USER_CONFIG)
    user_path: str | None = None
    if user_config_path:  # "" reads no user file
        user_path = _expand(os.fspath(user_config_path), env, frozenset())
        if os.path.exists(user_path):
            _merge(data, _read_toml(user_path, "user"), _Source("user", user_path), sources)
        else:
            user_path += " (not found)"
    if backend_config_path:
        backend_path = _expand(os.fspath(backend_config_path), env, frozenset())
        if os.path.isfile(backend_path):
            _merge(data, _read_toml(backend_path, "user"), _Source("user", backend_path), sources)

    if env_prefix is not None:
        for key, raw, name in _env_layer(env, env_prefix):
            _apply_env(data, key, _typed_text(key, raw), name, sources)

    flat: dict[tuple[str, ...], Any] = {}
    sections: set[tuple[str, ...]] = set()
    _flatten(data, flat, sections)
    _check_structure(flat, sections, sources, reserved)

    top = frozenset(k[0] for k in flat) | frozenset(k[0] for k in sections)
    changed: set[tuple[str, ...]] = set()
    for key, value in flat.items():
        if isinstance(value, str) and key[:2] != _SECRETS:
            new = _expand(value, env, top)
            if new != value:
                flat[key] = new
                changed.add(key)
    _resolve_references(flat, sections, changed)
    for key, value in flat.items():
        if key in changed:
            if isinstance(value, str):
                value = flat[key] = _typed_text(key, value)
            _check_value(key, value, sources.get(key), note=" after interpolation")
        else:
            _check_value(key, value, sources.get(key))

    for key in changed:
        node = data
        for part in key[:-1]:
            node = node[part]
        node[key[-1]] = flat[key]
    return data, sources, user_path
