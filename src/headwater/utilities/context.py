"""``headwater.context`` under its Prefect 1 path, and the configuration new contexts start from.

A :class:`Context` made here starts with the keys of ``config.context`` (for example
``secrets``) and a ``config`` key holding the loaded configuration, with any ``config``
mapping passed to it merged in section by section::

    from headwater.utilities.context import Context

    ctx = Context(config={"logging": {"level": "DEBUG"}})
    assert ctx.config.logging.level == "DEBUG"
    assert "format" in ctx.config.logging
"""

from headwater.configuration import global_config
from headwater.context import Context, context

__all__ = ["Context", "config", "context"]

config = global_config()
"""The configuration every new :class:`Context` starts from."""
