"""Stand-ins for Prefect's server and Cloud API: they exist, and raise a clear error.

headwater runs flows in the calling process and has no server. Each stand-in raises
:class:`~headwater.exceptions.ServerNotAvailableError` naming what was called and the local way
to do the same thing.
"""

from __future__ import annotations

from typing import Any, NoReturn

from headwater.exceptions import ServerNotAvailableError

__all__ = ["ServerOnly", "server_only", "server_only_function"]

RUN_LOCALLY = "run the flow in this process with flow.run()"


def server_only(feature: str, alternative: str = RUN_LOCALLY) -> NoReturn:
    """Raise :class:`ServerNotAvailableError` for ``feature``."""
    raise ServerNotAvailableError.for_feature(feature, alternative)


class ServerOnly:
    """A class that needs a server: creating one raises.

    Subclasses set ``_alternative`` to the local way of doing what they did.
    """

    _alternative = RUN_LOCALLY

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        server_only(f"{type(self).__name__}()", self._alternative)


def server_only_function(name: str, alternative: str = RUN_LOCALLY) -> Any:
    """A function called ``name`` that raises when called."""

    def function(*args: Any, **kwargs: Any) -> NoReturn:
        server_only(f"{name}()", alternative)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"Needs a Prefect server; raises ServerNotAvailableError ({alternative})."
    return function
