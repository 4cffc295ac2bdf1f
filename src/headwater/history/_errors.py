"""The error the history store raises for a database it cannot use."""

from __future__ import annotations

from headwater.exceptions import HeadwaterError

__all__ = ["HistoryError"]


class HistoryError(HeadwaterError):
    """The history database cannot be used: not a history database, a newer schema, a bad
    URL. The message names the database and what to do."""
