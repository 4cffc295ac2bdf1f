"""Importing optional dependencies, with an error that says which extra installs them.

headwater's base install runs flows on :class:`~headwater.executors.LocalExecutor` and nothing
more; dask executors, pandas serializers, fsspec results and Jinja templates need packages that
come with an extra (``pip install "headwater[dask]"``). Code that needs one imports it through
:func:`require`, so a missing package is an ``ImportError`` that names the extra to install::

    from headwater.utilities.imports import require

    json = require("json", "all")  # any module: returned when it imports
    assert json.dumps([1]) == "[1]"

    try:
        require("headwater_no_such_package", "dask", feature="DaskExecutor")
    except ImportError as exc:
        assert 'pip install "headwater[dask]"' in str(exc)
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "install_hint", "require"]

EXTRAS: dict[str, str] = {
    "dask": "dask",
    "distributed": "dask",
    "pandas": "pandas",
    "fsspec": "fsspec",
    "jinja2": "templates",
}
"""The extra that installs each optional top-level package."""


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def install_hint(extra: str) -> str:
    """The command that installs ``extra``: ``pip install "headwater[EXTRA]"``."""
    return f'pip install "headwater[{extra}]"'


def require(module: str, extra: str | None = None, *, feature: str | None = None) -> ModuleType:
    """Import ``module``, or raise an ``ImportError`` saying which extra installs it.

    Args:
        module: the module to import (``"dask"``, ``"dask.base"``, ``"distributed"``...).
        extra: the headwater extra that installs it (default: looked up in :data:`EXTRAS` by
            the module's top-level package).
        feature: what needs the module, for the message (default: headwater).

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module (or its top-level package) is not installed. An
            ``ImportError`` raised for another reason, by a package that is installed but
            broken, propagates unchanged.
    """
    top = module.partition(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or ""
        if missing not in (module, top) and not module.startswith(missing + "."):
            raise
        extra = extra or EXTRAS.get(top, top)
        who = feature or "headwater"
        raise MissingExtraError(
            f"{who} needs {top}, which is not installed; install it with {install_hint(extra)}",
            name=module,
        ) from exc
