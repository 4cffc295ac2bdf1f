"""``--executor``: where ``headwater run`` runs the flow's tasks.

========================  ======================================================================
``local`` (default)       :class:`~headwater.executors.LocalExecutor`, in this process
``sync``                  ``LocalDaskExecutor(scheduler="sync")``, dask's synchronous scheduler
``threads``               ``LocalDaskExecutor(scheduler="threads")``
``processes``             ``LocalDaskExecutor(scheduler="processes")``
``dask``                  ``DaskExecutor()``: a temporary ``distributed`` cluster
``tcp://HOST:PORT``       ``DaskExecutor(address=...)``: an existing ``distributed`` scheduler
========================  ======================================================================

Every executor but ``local`` needs the ``dask`` extra (``pip install "headwater[dask]"``);
``local-dask-threads`` and ``local-dask-processes`` are accepted as longer spellings.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    _StrParamType = click.ParamType[str]  # generic in click's own annotations
else:
    _StrParamType = click.ParamType

__all__ = ["EXECUTORS", "ExecutorType", "make_executor"]

EXECUTORS: dict[str, str] = {
    "local": "LocalExecutor, in this process (the default)",
    "sync": "dask's synchronous scheduler",
    "threads": "dask's threaded scheduler",
    "processes": "dask's multiprocessing scheduler",
    "dask": "a temporary dask.distributed cluster",
}
"""The executor names ``--executor`` takes, besides a scheduler address."""

_ALIASES = {
    "local-dask-sync": "sync",
    "local-dask-threads": "threads",
    "local-dask-processes": "processes",
}
_ADDRESS = re.compile(r"([a-z][a-z0-9+.-]*://\S+|[\w.-]+:\d+|\[[0-9a-fA-F:]+\]:\d+)")


def is_address(text: str) -> bool:
    """Whether ``text`` is a ``distributed`` scheduler address (``tcp://host:8786``, ``host:8786``)."""
    return _ADDRESS.fullmatch(text) is not None


class ExecutorType(_StrParamType):
    """The ``--executor`` value: a name of :data:`EXECUTORS` or a scheduler address."""

    name = "executor"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The canonical name, or the address as given."""
        text = str(value).strip()
        name = _ALIASES.get(text.lower(), text.lower())
        if name in EXECUTORS:
            return name
        if is_address(text):
            return text
        choices = ", ".join(EXECUTORS)
        self.fail(
            f"invalid choice: {text!r} (choose from {choices}, "
            "or a scheduler address such as tcp://127.0.0.1:8786)",
            param,
            ctx,
        )

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        """The executor names starting with ``incomplete``."""
        from click.shell_completion import CompletionItem

        return [CompletionItem(n, help=h) for n, h in EXECUTORS.items() if n.startswith(incomplete)]

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        """How help shows the value."""
        return "[" + "|".join(EXECUTORS) + "|ADDRESS]"


def make_executor(spec: str) -> Any:
    """The executor ``--executor spec`` names (a value :class:`ExecutorType` returned).

    Raises:
        headwater.utilities.imports.MissingExtraError: a dask executor was asked for and dask
            or distributed is not installed.
    """
    from headwater.utilities.imports import require

    if spec == "local":
        from headwater.executors import LocalExecutor

        return LocalExecutor()
    if spec in ("sync", "threads", "processes"):
        require("dask", "dask", feature=f"--executor {spec}")
        from headwater.executors import LocalDaskExecutor

        return LocalDaskExecutor(scheduler=spec)
    require("dask", "dask", feature=f"--executor {spec}")
    require("distributed", "dask", feature=f"--executor {spec}")
    from headwater.executors import DaskExecutor

    if spec == "dask":
        return DaskExecutor()
    return DaskExecutor(address=spec)
