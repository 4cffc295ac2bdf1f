"""``Secret``: a secret value held in memory, or read from the local secrets configuration.

``Secret(value="...")`` keeps a value that prints as ``********``; ``Secret.load("name")`` reads
``name`` from the ``[context.secrets]`` section of the configuration (or the environment
variable ``HEADWATER__CONTEXT__SECRETS__name``), which is where headwater keeps secrets, so no
secret is ever written to a block file::

    from headwater.blocks.system import Secret

    secret = Secret(value="s3cr3t")
    assert secret.get() == "s3cr3t" and "s3cr3t" not in repr(secret)
"""

from __future__ import annotations

from typing import Any

from headwater._server_only import server_only
from headwater.blocks.core import Block, BlockNotFoundError

__all__ = ["Secret"]

_LOCAL_SECRETS = (
    'put the value under [context.secrets] in your config.toml (NAME = "value") or in the '
    "environment variable HEADWATER__CONTEXT__SECRETS__NAME, then read it with "
    'Secret.load("NAME")'
)


class Secret(Block):
    """A secret value: shown masked, read with :meth:`get`.

    Args:
        value: the secret (a string, or any JSON-compatible value).
    """

    block_type_slug = "secret"
    _fields = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self) -> Any:
        """The secret value."""
        return self.value

    def save(self, name: str, overwrite: bool = False) -> str:
        """Not available: secrets are never written to block files.

        Raises:
            ServerNotAvailableError: always, naming where local secrets go instead.
        """
        server_only("Secret.save()", _LOCAL_SECRETS)

    @classmethod
    def load(cls, name: str) -> Secret:
        """The secret ``name`` from the ``[context.secrets]`` configuration.

        Raises:
            BlockNotFoundError: if no such secret is configured.
        """
        from headwater.configuration import setting

        secrets = setting("context.secrets", default=None) or {}
        try:
            value = secrets[name]
        except (KeyError, TypeError):
            raise BlockNotFoundError(
                f"No secret {name!r} is configured: {_LOCAL_SECRETS}."
            ) from None
        return cls(value=value)

    def __repr__(self) -> str:
        return "Secret(value='********')"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self.value,))
