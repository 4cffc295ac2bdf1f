"""The exceptions of modern runs (Prefect 3's names, in ``headwater.exceptions``' spirit)."""

from __future__ import annotations

__all__ = [
    "CancelledRun",
    "CrashedRun",
    "FailedRun",
    "MissingContextError",
    "ParameterTypeError",
    "TerminationSignal",
    "UnfinishedRun",
]


class FailedRun(RuntimeError):
    """A run failed without an exception of its own (a ``Failed`` state made by hand)."""


class CrashedRun(RuntimeError):
    """A run crashed: it was interrupted (Ctrl-C, ``SIGTERM``) or the engine itself failed."""


class CancelledRun(RuntimeError):
    """A run was cancelled."""


class UnfinishedRun(RuntimeError):
    """A future's result was asked for before its run finished (``timeout`` elapsed)."""


class MissingContextError(RuntimeError):
    """Something that needs a running flow or task (``get_run_logger()``) was used outside one."""


class ParameterTypeError(TypeError):
    """A flow's arguments do not validate against its signature's annotations."""


class TerminationSignal(BaseException):
    """The process received ``SIGTERM`` while a flow ran: the run ends ``Crashed``."""

    def __init__(self, signal: int) -> None:
        super().__init__(f"The process received signal {signal}.")
        self.signal = signal
