"""``headwater config show``: the effective configuration and where each value came from.

::

    $ HEADWATER__LOGGING__LEVEL=DEBUG headwater config show
    # Effective headwater configuration, with the source of each value.
    # user file: /home/me/.headwater/config.toml (not found)
    ...
    [logging]
    level = "DEBUG"  # environment variable HEADWATER__LOGGING__LEVEL

The output is TOML (``--json`` gives JSON); ``[context.secrets]`` values are masked unless
``--show-secrets`` is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import click

from headwater.cli._app import CommandIO, app, pass_io

__all__ = ["config_group", "config_show", "toml_key", "toml_value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
MASK = "********"


def toml_key(key: str) -> str:
    """``key`` as a TOML key: bare when it can be, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (inline tables and arrays for containers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


@app.group("config", subcommand_metavar="ACTION [ARGS]...", no_args_is_help=False)
def config_group() -> None:
    """Inspect headwater's configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
@click.option("--show-secrets", is_flag=True, help="Print [context.secrets] values unmasked.")
@pass_io
def config_show(io: CommandIO, as_json: bool, show_secrets: bool) -> int:
    """Print the effective configuration and where each value came from.

    The layers are the packaged defaults file, the user file and HEADWATER__ environment
    variables; each line names the one that set it.
    """
    from headwater.configuration import explain_configuration

    rows, user_file = explain_configuration(env=io.env)
    if not show_secrets:
        rows = [(k, MASK if k.startswith("context.secrets.") else v, src) for k, v, src in rows]
    if as_json:
        payload = {k: {"value": v, "source": src} for k, v, src in rows}
        io.out(json.dumps(payload, indent=2, default=repr))
        return 0

    # TOML needs top-level keys before any table; keep file order otherwise.
    groups: dict[str, list[tuple[str, Any, str]]] = {"": []}
    for key, value, src in rows:
        section, _, name = key.rpartition(".")
        groups.setdefault(section, []).append((name, value, src))
    io.out("# Effective headwater configuration, with the source of each value.")
    io.out(f"# user file: {user_file or 'none'}")
    for section, entries in groups.items():
        if not entries:
            continue
        io.out()
        if section:
            io.out("[" + ".".join(toml_key(p) for p in section.split(".")) + "]")
        lines = [(f"{toml_key(n)} = {toml_value(v)}", src) for n, v, src in entries]
        width = max(len(text) for text, _ in lines)
        for text, src in lines:
            io.out(f"{text.ljust(width)}  # {src}")
    return 0
