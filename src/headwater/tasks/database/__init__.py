"""Database tasks. SQLite (standard library) lives in :mod:`headwater.tasks.database.sqlite`.

::

    from headwater.tasks.database import SQLiteQuery, SQLiteScript
"""

from __future__ import annotations

from headwater.tasks.database.sqlite import SQLiteQuery, SQLiteScript

__all__ = ["SQLiteQuery", "SQLiteScript"]
