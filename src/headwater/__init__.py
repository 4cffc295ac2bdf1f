"""headwater: embeddable, in-process workflow orchestration."""

from __future__ import annotations

__version__ = "0.1.0"

from headwater.configuration import config
from headwater.context import context

context.update(config=config)
