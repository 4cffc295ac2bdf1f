"""``JinjaTemplate`` under Prefect 1's module path (``tasks.templates.jinja2``); it lives in
:mod:`headwater.tasks.templates.jinja`."""

from __future__ import annotations

from headwater.tasks.templates.jinja import JinjaTemplate

__all__ = ["JinjaTemplate"]
