"""Tasks that render text templates with their arguments and the run context.

::

    from headwater.tasks.templates import JinjaTemplate, StringFormatter

:class:`StringFormatter` uses ``str.format``; :class:`JinjaTemplate` uses Jinja (install it with
``pip install "headwater[templates]"``).
"""

from __future__ import annotations

from headwater.tasks.templates.jinja import JinjaTemplate
from headwater.tasks.templates.strings import StringFormatter

__all__ = ["JinjaTemplate", "StringFormatter"]
