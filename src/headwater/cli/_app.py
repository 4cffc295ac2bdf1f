"""The ``headwater`` command group and :func:`main`, which turns every error into one line.

Commands are click commands added to :data:`app`; they take the :class:`CommandIO` of the
invocation with :data:`pass_io` and return their exit status. :func:`main` runs the group
without click's standalone mode, so it decides how each error is shown: one line on stderr,
exit status 2 for a usage error, 1 for anything else.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import click

from headwater.exceptions import ConfigurationError
from headwater.utilities.imports import MissingExtraError

__all__ = [
    "COMPLETE_VAR",
    "CommandError",
    "CommandIO",
    "UsageProblem",
    "app",
    "main",
    "one_line",
    "pass_io",
]

PROG = "headwater"
COMPLETE_VAR = "_HEADWATER_COMPLETE"
"""The environment variable click's shell completion reads (``bash_source``, ``zsh_source``...)."""


@dataclass
class CommandIO:
    """What a command may touch: the environment and the output streams."""

    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def out(self, text: str = "") -> None:
        """Write a line to standard output."""
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        """Write a line to standard error."""
        print(text, file=self.stderr)


pass_io = click.make_pass_decorator(CommandIO)
"""Decorator giving a command the :class:`CommandIO` of the invocation as first argument."""


class CommandError(click.ClickException):
    """An error a command reports in one line; exit status 1 unless ``exit_code`` says."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageProblem(click.UsageError):
    """A mistake in the command line found by a command itself (exit status 2).

    Its message already says what to pass, so no usage line is added to it.
    """


def one_line(value: object) -> str:
    """``str(value)`` with every run of whitespace, newlines included, made one space."""
    return " ".join(str(value).split())


class HeadwaterGroup(click.Group):
    """The ``headwater`` group: imports ``headwater.cli.COMMAND_MODULES`` before dispatching."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, those added by command modules included."""
        load_command_modules()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called ``cmd_name``, those added by command modules included."""
        load_command_modules()
        return super().get_command(ctx, cmd_name)


def load_command_modules() -> None:
    """Import the modules listed in ``headwater.cli.COMMAND_MODULES`` (once each)."""
    from headwater import cli

    importlib.import_module("headwater.cli._ui")  # `headwater ui`
    importlib.import_module("headwater.cli._history")  # `headwater runs`, `headwater history`
    importlib.import_module("headwater.cli._report_cmd")  # `headwater report`
    importlib.import_module("headwater.cli._serve")  # `headwater serve`, `headwater agent`
    for name in cli.COMMAND_MODULES:
        importlib.import_module(name)


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from headwater import __version__

    click.echo(f"{PROG} {__version__}")
    ctx.exit(0)


@click.group(
    PROG,
    cls=HeadwaterGroup,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Print the headwater version and exit.",
)
def app() -> None:
    """Embeddable, in-process workflow orchestration.

    Run `headwater COMMAND --help` for the options of a command.
    """


@app.command("version")
@pass_io
def version_command(io: CommandIO) -> int:
    """Print the headwater version."""
    from headwater import __version__

    io.out(__version__)
    return 0


@contextlib.contextmanager
def _streams(io: CommandIO) -> Iterator[None]:
    """Send click's own output (help, version) to the streams of ``io``."""
    with contextlib.ExitStack() as stack:
        if io.stdout is not sys.stdout:
            stack.enter_context(contextlib.redirect_stdout(io.stdout))
        if io.stderr is not sys.stderr:
            stack.enter_context(contextlib.redirect_stderr(io.stderr))
        yield


def _usage_line(exc: click.UsageError) -> str:
    ctx = exc.ctx
    path = ctx.command_path if ctx is not None else PROG
    message = one_line(exc.format_message())
    if isinstance(exc, UsageProblem) or ctx is None:
        return f"{path}: {message}"
    usage = one_line(ctx.get_usage()).removeprefix("Usage: ")
    return f"{path}: {message} (usage: {usage}; see '{path} --help')"


def _debugging(env: Mapping[str, str]) -> bool:
    return env.get("HEADWATER__DEBUG", "").strip().lower() == "true"


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
        The exit status: 0 on success, 1 when a command or its flow fails, 2 for a usage
        error (an unknown option, a missing file, no flow, a bad ``-p KEY=VALUE``).
    """
    io = CommandIO(
        env=os.environ if env is None else env,
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
    )
    args = sys.argv[1:] if argv is None else list(argv)
    with _streams(io):
        try:
            return _invoke(args, io)
        except SystemExit as exc:  # shell completion exits by itself
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _invoke(args: list[str], io: CommandIO) -> int:
    try:
        rv: Any = app.main(
            args, prog_name=PROG, complete_var=COMPLETE_VAR, standalone_mode=False, obj=io
        )
    except click.UsageError as exc:
        io.err(_usage_line(exc))
        return 2
    except click.ClickException as exc:
        io.err(f"{PROG}: {one_line(exc.format_message())}")
        return exc.exit_code
    except click.Abort:
        io.err(f"{PROG}: interrupted")
        return 130
    except ConfigurationError as exc:
        io.err(f"{PROG}: configuration error: {one_line(exc)}")
        return 1
    except MissingExtraError as exc:
        io.err(f"{PROG}: {one_line(exc)}")
        return 1
    except BrokenPipeError:  # e.g. `headwater config show | head`
        if io.stdout is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if _debugging(io.env):
            raise
        io.err(
            f"{PROG}: unexpected error: {one_line(repr(exc))} "
            "(set HEADWATER__DEBUG=true to see the traceback)"
        )
        return 1
    return rv if isinstance(rv, int) else 0
