"""Local secrets: values such as passwords and tokens that a flow reads by name.

:class:`Secret` looks a name up in ``headwater.context.secrets`` (filled for every flow run from
the configuration and from ``flow.run(context={"secrets": {...}})``) and, outside a run or when
the run context lacks it, in the ``[context.secrets]`` section of the configuration, which the
environment variables ``HEADWATER__CONTEXT__SECRETS__<NAME>`` set (read when headwater is
imported)::

    import headwater
    from headwater.client import Secret

    with headwater.context(secrets={"DB_PASSWORD": "hunter2"}):
        assert Secret("DB_PASSWORD").get() == "hunter2"
        assert not Secret("API_TOKEN").exists()

A secret whose value is a string holding a JSON object or array (for instance
``HEADWATER__CONTEXT__SECRETS__AWS='{"key": "...", "secret": "..."}'``) is returned decoded, as
a ``dict`` or ``list``. Values never appear in reprs or error messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from headwater.context import context

__all__ = ["Secret"]

_MISSING = object()


def _config_secrets() -> Mapping[str, Any]:
    from headwater.configuration import current_config

    try:
        found = current_config().context.secrets
    except (AttributeError, KeyError):
        return {}
    return found if isinstance(found, Mapping) else {}


def _plain(value: Any) -> Any:
    """Config sections become plain dicts; JSON object/array strings are decoded."""
    if isinstance(value, Mapping) and not isinstance(value, dict):
        to_dict = getattr(value, "to_dict", None)
        return to_dict() if callable(to_dict) else dict(value)
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, (dict, list)):
            return decoded
    return value


class Secret:
    """A named local secret.

    Args:
        name: the secret's name (case-sensitive).

    Raises:
        TypeError: if ``name`` is not a string.
        ValueError: if ``name`` is empty.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Secret name must be a string, got {type(name).__name__}: {name!r}")
        if not name:
            raise ValueError("Secret name must not be empty.")
        self.name = name

    def __repr__(self) -> str:
        return f"<Secret: {self.name!r}>"

    def _lookup(self) -> Any:
        secrets = context.get("secrets")
        if isinstance(secrets, Mapping) and self.name in secrets:
            return secrets[self.name]
        return _config_secrets().get(self.name, _MISSING)

    def exists(self) -> bool:
        """Whether the secret is set in the context or the configuration."""
        return self._lookup() is not _MISSING

    def get(self) -> Any:
        """Return the secret's value.

        Raises:
            ValueError: if the secret is set nowhere; the message names it and says how to set it.
        """
        value = self._lookup()
        if value is _MISSING:
            raise ValueError(
                f"Local secret {self.name!r} was not found. Set it in the run context "
                f"(flow.run(context={{'secrets': {{{self.name!r}: ...}}}})), in the "
                "[context.secrets] section of your headwater config.toml, or with the environment "
                f"variable HEADWATER__CONTEXT__SECRETS__{self.name} before headwater is imported."
            )
        return _plain(value)
