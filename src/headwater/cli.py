"""The ``headwater`` command line.

::

    $ headwater version
    0.1.0
    $ HEADWATER__LOGGING__LEVEL=DEBUG headwater config show
    ...
    [logging]
    level = "DEBUG"  # environment variable HEADWATER__LOGGING__LEVEL
    ...

Commands are registered with :func:`command`; each one gets a ``configure(parser)`` hook to add
its arguments and a handler ``handler(args, io) -> int`` that writes through ``io`` (so it can be
run in-process and tested with an injected environment)::

    def _configure_hello(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name")

    @command("hello", help="Say hello.", configure=_configure_hello)
    def _hello(args: argparse.Namespace, io: CommandIO) -> int:
        io.out(f"hello {args.name}")
        return 0

Modules listed in :data:`COMMAND_MODULES` are imported before the parser is built, so commands
kept in their own module (``headwater run``, ``headwater visualize``) register themselves there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from headwater.exceptions import ConfigurationError

__all__ = ["COMMAND_MODULES", "Command", "CommandIO", "build_parser", "command", "main"]


@dataclass
class CommandIO:
    """What a command handler may touch: the environment and the output streams."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def out(self, text: str = "") -> None:
        """Write a line to standard output."""
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        """Write a line to standard error."""
        print(text, file=self.stderr)


Handler = Callable[[argparse.Namespace, CommandIO], int | None]


@dataclass(frozen=True)
class Command:
    """A registered top-level subcommand."""

    name: str
    help: str
    handler: Handler
    configure: Callable[[argparse.ArgumentParser], None] | None = None


_COMMANDS: dict[str, Command] = {}

COMMAND_MODULES: list[str] = ["headwater.cli_flows"]
"""Modules imported before the parser is built; they register commands with :func:`command`."""


def command(
    name: str, *, help: str, configure: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable[[Handler], Handler]:
    """Register ``headwater NAME`` (decorator for the handler).

    Args:
        name: the subcommand.
        help: one line shown by ``headwater --help``.
        configure: called with the subcommand's parser to add its arguments.
    """

    def register(handler: Handler) -> Handler:
        _COMMANDS[name] = Command(name, help, handler, configure)
        return handler

    return register


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered command."""
    import importlib

    from headwater import __version__

    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(
        prog="headwater", description="Embeddable, in-process workflow orchestration."
    )
    parser.add_argument("--version", action="version", version=f"headwater {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in _COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if cmd.configure is not None:
            cmd.configure(p)
        p.set_defaults(_handler=cmd.handler)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the ``headwater`` command line.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
        env: the environment commands read (default ``os.environ``).
        stdout: where output goes (default ``sys.stdout``).
        stderr: where errors go (default ``sys.stderr``).

    Returns:
        The exit status: 0 on success, 1 when a command fails, 2 for a usage error.
    """
    io = CommandIO(
        env=os.environ if env is None else env,
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
    )
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args._handler(args, io) or 0)
    except ConfigurationError as exc:
        io.err(f"headwater: configuration error: {exc}")
        return 1
    except BrokenPipeError:  # e.g. `headwater config show | head`
        if io.stdout is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# ----------------------------------------------------------------------------- version --
@command("version", help="Print the headwater version.")
def _version(args: argparse.Namespace, io: CommandIO) -> int:
    from headwater import __version__

    io.out(__version__)
    return 0


# ------------------------------------------------------------------------------ config --
def _configure_config(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = sub.add_parser(
        "show",
        help="Print the effective configuration and where each value came from.",
        description="Print the effective configuration (defaults file, user file, "
        "HEADWATER__ environment variables) with the source of each value.",
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    show.add_argument(
        "--show-secrets", action="store_true", help="print [context.secrets] values unmasked"
    )


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MASK = "********"


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _config_show(args: argparse.Namespace, io: CommandIO) -> int:
    from headwater.configuration import explain_configuration

    rows, user_file = explain_configuration(env=io.env)
    if not args.show_secrets:
        rows = [(k, _MASK if k.startswith("context.secrets.") else v, src) for k, v, src in rows]
    if args.json:
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
            io.out("[" + ".".join(_toml_key(p) for p in section.split(".")) + "]")
        lines = [(f"{_toml_key(n)} = {_toml_value(v)}", src) for n, v, src in entries]
        width = max(len(text) for text, _ in lines)
        for text, src in lines:
            io.out(f"{text.ljust(width)}  # {src}")
    return 0


@command("config", help="Inspect headwater's configuration.", configure=_configure_config)
def _config(args: argparse.Namespace, io: CommandIO) -> int:
    if args.config_command == "show":
        return _config_show(args, io)
    raise AssertionError(args.config_command)  # argparse only accepts the actions above


if __name__ == "__main__":
    # `python -m headwater.cli`: command modules register into `headwater.cli`, not `__main__`
    from headwater.cli import main as _main

    sys.exit(_main())
