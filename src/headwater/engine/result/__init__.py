"""The ``Result`` base class and the ``NoResult`` singleton.

Concrete results (``LocalResult``, ``HeadwaterResult``, ``FSSpecResult``...) live in
:mod:`headwater.engine.results`; serializers in :mod:`headwater.engine.serializers`.
"""

from __future__ import annotations

from headwater.engine.result.base import (
    LocationTemplateError,
    MissingTemplateKeyError,
    NoResult,
    NoResultType,
    Result,
    ResultNotImplementedError,
    ResultReadError,
    format_kwargs,
)

__all__ = [
    "LocationTemplateError",
    "MissingTemplateKeyError",
    "NoResult",
    "NoResultType",
    "Result",
    "ResultNotImplementedError",
    "ResultReadError",
    "format_kwargs",
]
