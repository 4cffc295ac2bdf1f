"""The ``headwater`` command line (click), also run by ``python -m headwater``.

::

    $ headwater --version
    headwater 0.1.0
    $ headwater run examples/etl.py -p base_currency=GBP
    Flow 'orders-etl': Success (All reference tasks succeeded.)
    ...
    $ headwater run headwater.hello_world:hello_flow --json
    $ headwater visualize examples/etl.py --format dot
    $ HEADWATER__LOGGING__LEVEL=DEBUG headwater config show

Errors are one line on stderr; the exit status is 0 on success, 1 when the flow (or a command)
fails and 2 for a usage error. Shell completion follows click's convention:
``eval "$(_HEADWATER_COMPLETE=bash_source headwater)"`` (``zsh_source``, ``fish_source``).

Commands are click commands on :data:`app`. A module listed in :data:`COMMAND_MODULES` is
imported before a command is looked up, so it can add its own::

    import click

    from headwater.cli import CommandIO, app, pass_io

    @app.command("hello")
    @click.argument("name")
    @pass_io
    def hello(io: CommandIO, name: str) -> int:
        io.out(f"hello {name}")
        return 0

:func:`main` runs the command line in-process, with an injected environment and streams (as the
tests do): ``main(["config", "show"], env={...}, stdout=buffer)`` returns the exit status.
"""

from __future__ import annotations

from headwater.cli import _config_show, _run  # noqa: F401  (they add their commands to app)
from headwater.cli._app import (
    COMPLETE_VAR,
    CommandError,
    CommandIO,
    UsageProblem,
    app,
    main,
    pass_io,
)

__all__ = [
    "COMMAND_MODULES",
    "COMPLETE_VAR",
    "CommandError",
    "CommandIO",
    "UsageProblem",
    "app",
    "main",
    "pass_io",
]

COMMAND_MODULES: list[str] = []
"""Modules imported before a command is looked up; they add commands to :data:`app`."""
