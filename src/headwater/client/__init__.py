"""Access to secrets from the run context and the configuration.

::

    from headwater.client import Secret

headwater runs in-process, so only local secrets exist: see :mod:`headwater.client.secrets`.
"""

from __future__ import annotations

from headwater.client.secrets import Secret

__all__ = ["Secret"]
