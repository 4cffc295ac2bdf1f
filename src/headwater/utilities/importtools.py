"""Importing objects by their dotted name.

>>> import_object("os.path.join") is __import__("os").path.join
True
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["import_object"]


def import_object(name: str) -> Any:
    """Import and return the object at ``name``: ``"pkg.module.attr"`` or ``"pkg.module"``.

    Raises:
        ImportError: no module or attribute of that name.
    """
    try:
        module_name, attr = name.rsplit(".", 1)
    except ValueError:
        return importlib.import_module(name)
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return importlib.import_module(name)
    try:
        return getattr(module, attr)
    except AttributeError:
        try:
            return importlib.import_module(name)
        except ImportError:
            raise ImportError(f"Module {module_name!r} has no attribute {attr!r}") from None
