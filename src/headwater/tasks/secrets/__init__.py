"""Tasks that fetch secrets: :class:`HeadwaterSecret` (local secrets) and :class:`EnvVarSecret`.

::

    from headwater.tasks.secrets import EnvVarSecret, HeadwaterSecret, SecretBase

Secret tasks never checkpoint, cache, log or display their values: their states show ``****``,
and cached downstream tasks keep an input that comes from a secret task only as a keyed hash.
"""

from __future__ import annotations

from headwater.tasks.secrets.base import HeadwaterSecret, PrefectSecret, SecretBase
from headwater.tasks.secrets.env_var import EnvVarSecret

__all__ = ["EnvVarSecret", "HeadwaterSecret", "PrefectSecret", "SecretBase"]
