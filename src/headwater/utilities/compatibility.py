"""Compatibility shims kept from Prefect 1 (``nullcontext``)."""

from __future__ import annotations

from contextlib import nullcontext

__all__ = ["nullcontext"]
