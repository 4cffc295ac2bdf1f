"""``get_run_logger()`` and ``disable_run_logger()`` (Prefect 3's ``prefect.logging``).

>>> from headwater import flow
>>> from headwater.logging import get_run_logger
>>> @flow
... def greet():
...     get_run_logger().info("hello")
...     return "done"
>>> greet()
'done'
"""

from __future__ import annotations

from headwater.modern.log import disable_run_logger, get_run_logger

__all__ = ["disable_run_logger", "get_run_logger"]
