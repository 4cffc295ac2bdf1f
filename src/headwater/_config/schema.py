"""The one schema of headwater's configuration: every known key with its kind, default and doc.

:data:`KEYS` lists the keys headwater reads, in the order of the packaged ``config.toml``.
Everything else about known keys is derived from it:

- the packaged ``config.toml`` is :func:`render_defaults` of the schema (a test keeps the file
  and the schema equal; regenerate the file with ``python -m headwater._config.schema``);
- loading checks each known key's value with its :class:`Kind` (``Kind.check``), and types
  the text of an environment variable with ``Kind.parse``;
- :mod:`headwater._config.model` builds the pydantic model from the same table;
- :func:`headwater.configuration.setting` falls back on the schema's default.

A kind is a small value with a check function, so checking at load costs microseconds and never
imports pydantic::

    from headwater._config.schema import KEY, fallback

    spec = KEY[("tasks", "defaults", "max_retries")]
    assert spec.kind.check(3) and not spec.kind.check(-1)
    assert spec.kind.parse("3") == 3
    assert fallback("flows.checkpointing") is False
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from headwater._config.interpolate import string_to_type

__all__ = [
    "HEADER",
    "KEY",
    "KEYS",
    "OPEN_SECTIONS",
    "SECRETS",
    "SECTIONS",
    "Key",
    "Kind",
    "defaults_tree",
    "fallback",
    "is_number",
    "render_defaults",
]


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or a float (``bool`` is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Kind(NamedTuple):
    """The values a key accepts.

    Attributes:
        name: the kind's name; :mod:`headwater._config.model` maps it to a pydantic type.
        expected: what a value must be, worded for error messages ("a boolean (true or false)").
        check: whether a value (after loading and interpolation) is acceptable.
        text: text from an environment variable is kept verbatim instead of typed.
    """

    name: str
    expected: str
    check: Callable[[Any], bool]
    text: bool = False

    def parse(self, text: str) -> Any:
        """The value of an environment variable's ``text`` for a key of this kind."""
        return text if self.text else string_to_type(text)


DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
LOG_LEVELS = frozenset({"CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET"})

STRING = Kind("string", "a string", lambda v: isinstance(v, str), text=True)
BOOLEAN = Kind("boolean", "a boolean (true or false)", lambda v: isinstance(v, bool))
STRING_LIST = Kind(
    "string_list",
    "a list of strings, e.g. ['a', 'b']",
    lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
)
CLASS_PATH = Kind(
    "class_path",
    "a dotted import path such as 'package.module.Class'",
    lambda v: isinstance(v, type) or (isinstance(v, str) and DOTTED_PATH.fullmatch(v) is not None),
    text=True,
)
LOG_LEVEL = Kind(
    "log_level",
    "a logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL) or its number",
    lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, str) and v.upper() in LOG_LEVELS)
    ),
)
RETRIES = Kind(
    "retries",
    "an integer >= 0 (0: no retries)",
    lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
)
SECONDS = Kind(
    "seconds",
    "a number of seconds >= 0 (0: not set)",
    lambda v: v is None or isinstance(v, datetime.timedelta) or (is_number(v) and v >= 0),
)
PROGRESS = Kind(
    "progress",
    "true, false or 'auto'",
    lambda v: isinstance(v, bool) or (isinstance(v, str) and v.strip().lower() == "auto"),
)
COUNT = Kind(
    "count",
    "an integer >= 0",
    lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
)
KINDS = (STRING, BOOLEAN, STRING_LIST, CLASS_PATH, LOG_LEVEL, RETRIES, SECONDS, PROGRESS, COUNT)


class Key(NamedTuple):
    """One known configuration key.

    Attributes:
        path: the key's parts (``("flows", "checkpointing")``).
        kind: the values it accepts.
        default: its packaged default, as written in ``config.toml``.
        doc: its description: the comment above it in ``config.toml`` (lines split by ``\\n``).
    """

    path: tuple[str, ...]
    kind: Kind
    default: Any
    doc: str

    @property
    def dotted(self) -> str:
        """The dotted key (``"flows.checkpointing"``)."""
        return ".".join(self.path)


def _key(dotted: str, kind: Kind, default: Any, doc: str) -> Key:
    return Key(tuple(dotted.split(".")), kind, default, doc)


HEADER = """\
headwater's packaged defaults: every key headwater reads, with its default value.

Override them, later winning over earlier:
  1. in your user file, ~/.headwater/config.toml (or the file named by
     HEADWATER__USER_CONFIG_PATH); a missing user file is fine;
  2. with environment variables HEADWATER__SECTION__KEY=value, e.g.
     HEADWATER__TASKS__DEFAULTS__MAX_RETRIES=3 (values are typed: true/false, numbers,
     Python literals such as ['a', 'b'], else text).
String values may use $ENV_VAR, ${ENV_VAR}, a leading ~, and ${section.key} references to
other keys. `headwater config show` prints the effective values and where each came from.
Keys of your own are kept and readable as headwater.config.<section>.<key>."""
"""The comment that opens ``config.toml``."""

KEYS: tuple[Key, ...] = (
    _key("debug", BOOLEAN, False, "Extra checks and louder errors."),
    _key(
        "home_dir",
        STRING,
        "~/.headwater",
        'Where headwater keeps results, caches and stored flows ("~" is your home directory).',
    ),
    _key(
        "logging.level",
        LOG_LEVEL,
        "INFO",
        'Level of the "headwater" logger: DEBUG, INFO, WARNING, ERROR or CRITICAL.',
    ),
    _key(
        "logging.format",
        STRING,
        "[%(asctime)s.%(msecs)03d] %(levelname)s - %(name)s | %(message)s",
        "Format of headwater's log lines (logging.Formatter %-style fields).",
    ),
    _key(
        "logging.datefmt",
        STRING,
        "%Y-%m-%d %H:%M:%S",
        "Date format of %(asctime)s (time.strftime codes; %(msecs)03d adds milliseconds).",
    ),
    _key(
        "logging.color",
        PROGRESS,
        "auto",
        'Colour the level names: true, false or "auto" (on a terminal, unless NO_COLOR is set;\n'
        "FORCE_COLOR forces them).",
    ),
    _key(
        "logging.notebook_level",
        LOG_LEVEL,
        "WARNING",
        'Level of the "headwater" logger in a Jupyter kernel, where the progress bar shows a\n'
        'run\'s advance (instead of logging.level); "INFO" gives the lines of a terminal.',
    ),
    _key(
        "logging.log_attributes",
        STRING_LIST,
        [],
        'Context keys added to each log record as attributes, e.g. ["flow_run_id"].',
    ),
    _key(
        "logging.extra_loggers",
        STRING_LIST,
        [],
        "Other libraries' loggers that get headwater's handler, e.g. [\"dask\"].",
    ),
    _key(
        "flows.checkpointing",
        BOOLEAN,
        False,
        "Persist task results through their Result when true (see context.checkpointing).",
    ),
    _key(
        "flows.run_on_schedule",
        BOOLEAN,
        True,
        "flow.run() follows the flow's schedule when true; false runs the flow once, now.",
    ),
    _key(
        "flows.eager_edge_validation",
        BOOLEAN,
        False,
        "Check edge keys against the task's run() signature when an edge is added.",
    ),
    _key(
        "flows.persistent_cache",
        BOOLEAN,
        False,
        "Keep cached task states (cache_for) on disk under {home_dir}/cache, across processes.",
    ),
    _key(
        "flows.progress",
        PROGRESS,
        "auto",
        'Progress bar for flow runs: true, false, or "auto" (in a terminal or notebook, when INFO'
        " log\nlines are off, once a run has lasted a second).",
    ),
    _key(
        "flows.defaults.storage.default_class",
        CLASS_PATH,
        "headwater.storage.Local",
        "Dotted import path of the storage flow.register() gives a flow that has none.",
    ),
    _key(
        "flows.defaults.storage.add_default_labels",
        BOOLEAN,
        True,
        "Whether a storage adds its default labels (e.g. the host name of Local) to a flow's"
        " run config.",
    ),
    _key(
        "tasks.defaults.max_retries",
        RETRIES,
        0,
        "Retries allowed per task (0: none). Used when a Task is created without max_retries.",
    ),
    _key(
        "tasks.defaults.retry_delay",
        SECONDS,
        0,
        "Seconds to wait between retries (0: none set; then max_retries > 0 needs retry_delay).",
    ),
    _key(
        "tasks.defaults.timeout",
        SECONDS,
        0,
        "Seconds a task may run before it times out (0: no limit).",
    ),
    _key(
        "tasks.refresh_cache",
        BOOLEAN,
        False,
        "@flow tasks ignore cached results (and write new ones), as refresh_cache=True does.",
    ),
    _key(
        "results.persist_by_default",
        BOOLEAN,
        False,
        "@flow runs and their tasks persist results to {home_dir}/storage unless told otherwise.",
    ),
    _key(
        "engine.executor.default_class",
        CLASS_PATH,
        "headwater.executors.LocalExecutor",
        "Dotted import path of the executor flow.run() uses when none is given.",
    ),
    _key(
        "engine.executor.dask.address",
        STRING,
        "",
        'Address of a running dask scheduler used by DaskExecutor when none is given ("": none).',
    ),
    _key(
        "engine.executor.dask.cluster_class",
        CLASS_PATH,
        "distributed.deploy.local.LocalCluster",
        "Dotted import path of the cluster class DaskExecutor starts when no address is given.",
    ),
    _key(
        "engine.flow_runner.default_class",
        CLASS_PATH,
        "headwater.engine.flow_runner.FlowRunner",
        "Dotted import path of the default flow runner class.",
    ),
    _key(
        "engine.task_runner.default_class",
        CLASS_PATH,
        "headwater.engine.task_runner.TaskRunner",
        "Dotted import path of the default task runner class.",
    ),
    _key(
        "history.enabled",
        BOOLEAN,
        True,
        "Record every flow.run() in the run history (flow.run(history=False) or headwater run\n"
        "--no-history turn it off for one run).",
    ),
    _key(
        "history.path",
        STRING,
        "{home_dir}/history.db",
        "The SQLite file of the run history; {home_dir} is replaced by home_dir when it opens.",
    ),
    _key(
        "history.url",
        STRING,
        "",
        'A PostgreSQL URL ("postgresql://user@host:5432/db", needs headwater[postgres]) used\n'
        'instead of history.path, for one history shared by several machines ("": none).',
    ),
    _key(
        "history.log_level",
        LOG_LEVEL,
        "INFO",
        "Log lines of a run at this level or above are recorded (if the headwater logger\n"
        "emits them: see logging.level).",
    ),
    _key(
        "history.max_logs_per_run",
        COUNT,
        10000,
        "Log lines recorded per flow run at most; one last line counts those left out.",
    ),
    _key(
        "history.graph_max_tasks",
        COUNT,
        2000,
        "Flows with more tasks are recorded without their graph (flow.serialize() is slow).",
    ),
    _key(
        "history.heartbeat_seconds",
        COUNT,
        10,
        "How often a running flow run is marked alive; one silent for 6 times as long is\n"
        "shown as Crashed.",
    ),
)
"""Every known key, in ``config.toml`` order."""

KEY: dict[tuple[str, ...], Key] = {k.path: k for k in KEYS}
"""The known keys by path."""

SECRETS = ("context", "secrets")
"""The section of local secrets: its values are data, used verbatim (no interpolation)."""

OPEN_SECTIONS: dict[tuple[str, ...], str] = {
    SECRETS: 'Local secrets, read by Secret("NAME").get(): add NAME = "value" lines here or set\n'
    "HEADWATER__CONTEXT__SECRETS__NAME=value (the NAME keeps its case). Used verbatim: no\n"
    "$ or ${...} expansion.",
    (
        "tasks",
        "concurrency",
    ): "Tag-based task concurrency limits of @flow runs: TAG = N lets at most N tasks tagged TAG\n"
    "run at once, across threads and this user's processes (0: such tasks cannot run).",
    (
        "concurrency",
        "limits",
    ): "Named concurrency limits for headwater.concurrency.sync.concurrency(NAME): NAME = N\n"
    "holders at once, across threads and this user's processes.",
    (
        "concurrency",
        "rate_limits",
    ): 'Named rate limits for rate_limit(NAME): NAME = "N/s" (also "N/5s", "N/min", "N/h"):\n'
    "at most N a period, in bursts of up to N.",
}
"""Sections holding keys of the user's choosing (documented, with no known keys)."""

SECTIONS: frozenset[tuple[str, ...]] = frozenset(
    [key[:i] for key in KEY for i in range(1, len(key))]
    + [path[:i] for path in OPEN_SECTIONS for i in range(1, len(path) + 1)]
)
"""Every path that must be a section (a table), never a value."""


def defaults_tree() -> dict[str, Any]:
    """The packaged defaults as nested dicts, in key order: what ``config.toml`` parses to.

    Each call returns new dicts and lists, which the caller may change.
    """
    tree: dict[str, Any] = {}
    for key in KEYS:
        node = tree
        for part in key.path[:-1]:
            node = node.setdefault(part, {})
        node[key.path[-1]] = list(key.default) if isinstance(key.default, list) else key.default
    for path in OPEN_SECTIONS:
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    return tree


_FALLBACKS: dict[str, Any] = {}


def fallback(dotted: str) -> Any:
    """The value a known key has when only the packaged defaults are loaded.

    That is its schema default, normalised as loading normalises it (``tasks.defaults.timeout``
    is ``None``, not ``0``).

    Raises:
        KeyError: ``dotted`` is not a known key.
    """
    if not _FALLBACKS:
        from headwater._config.load import process_task_defaults
        from headwater._config.types import Config

        cfg = Config()
        for key in KEYS:
            cfg.set_nested(key.dotted, key.default)
        process_task_defaults(cfg)
        _FALLBACKS.update({key.dotted: cfg.get_nested(key.dotted) for key in KEYS})
    return _FALLBACKS[dotted]


# ------------------------------------------------------------------------- config.toml --
def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _comment(text: str) -> Iterator[str]:
    for line in text.split("\n"):
        yield f"# {line}".rstrip()


def render_defaults() -> str:
    """The text of the packaged ``config.toml``: each key of :data:`KEYS` under its doc."""
    lines = [*_comment(HEADER), ""]
    section: tuple[str, ...] = ()
    for key in KEYS:
        if key.path[:-1] != section:
            section = key.path[:-1]
            lines += ["", f"[{'.'.join(section)}]"]
        lines += [*_comment(key.doc), f"{key.path[-1]} = {_toml(key.default)}"]
    for path, doc in OPEN_SECTIONS.items():
        lines += ["", f"[{'.'.join(path)}]", *_comment(doc)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_defaults(), end="")
