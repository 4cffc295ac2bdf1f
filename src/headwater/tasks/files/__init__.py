"""File-system tasks: move, copy, remove and find files; create and extract zip archives.

::

    from headwater.tasks.files import Copy, Glob, Move, Remove, Unzip, Zip

See :mod:`headwater.tasks.files.operations` and :mod:`headwater.tasks.files.compression`.
"""

from __future__ import annotations

from headwater.tasks.files.compression import Unzip, Zip
from headwater.tasks.files.operations import Copy, Glob, Move, Remove

__all__ = ["Copy", "Glob", "Move", "Remove", "Unzip", "Zip"]
