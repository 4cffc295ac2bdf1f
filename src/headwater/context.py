"""The run context: a dict of values visible to whatever is running now.

``headwater.context`` is a mapping with attribute access whose contents live in a
:class:`contextvars.ContextVar`. Each thread, asyncio task and flow run therefore sees its own
values, and a ``with`` block restores the previous values on exit::

    import headwater

    with headwater.context(answer=42):
        assert headwater.context.answer == 42
        assert headwater.context.get("missing", "default") == "default"
    assert "answer" not in headwater.context

Writes (``context.x = 1``, ``context.update(...)``) replace the current dict rather than
mutating it, so a dict handed to another thread or an executor (see :meth:`Context.snapshot`)
never changes under it.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from contextlib import contextmanager
from typing import Any

__all__ = ["Context", "context"]

_MISSING = object()


class Context:
    """Attribute-accessible mapping backed by a ``ContextVar``.

    Args:
        init: initial values, visible in every thread until overridden there.
        **kwargs: more initial values.
    """

    __slots__ = ("_var", "_base")
    _var: contextvars.ContextVar[dict[str, Any] | None]
    _base: dict[str, Any]

    def __init__(self, init: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        base = dict(init or {})
        base.update(kwargs)
        object.__setattr__(self, "_base", _seeded(base))
        object.__setattr__(
            self, "_var", contextvars.ContextVar(f"headwater_context_{id(self)}", default=None)
        )

    # -- the engine's view ------------------------------------------------------------------
    # The run's code reads and sets the current dict directly (one variable lookup instead of
    # a copy) and hands a snapshot to each submitted task.
    @property
    def context_var(self) -> contextvars.ContextVar[dict[str, Any] | None]:
        """The variable holding the current dict (``None``: the base values)."""
        return self._var

    @property
    def base_values(self) -> dict[str, Any]:
        """The values seen where the variable is not set (changing them changes every thread's
        view that has not set its own)."""
        return self._base

    def current(self) -> dict[str, Any]:
        """The current values themselves, not a copy: read them, never change them."""
        d = self._var.get()
        return self._base if d is None else d

    _get = current

    # -- reading -----------------------------------------------------------------------------

    def __getattr__(self, key: str) -> Any:
        try:
            return self._get()[key]
        except KeyError:
            raise AttributeError(f"context has no key {key!r}") from None

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._get().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._get()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._get()))

    def __len__(self) -> int:
        return len(self._get())

    def keys(self) -> KeysView[str]:
        """The current keys."""
        return self._get().keys()

    def items(self) -> ItemsView[str, Any]:
        """The current ``(key, value)`` pairs."""
        return self._get().items()

    def values(self) -> ValuesView[Any]:
        """The current values."""
        return self._get().values()

    def to_dict(self) -> dict[str, Any]:
        """A shallow copy of the current values as a plain dict."""
        return dict(self._get())

    def copy(self) -> dict[str, Any]:
        """A shallow copy of the current values as a plain dict (same as :meth:`to_dict`)."""
        return dict(self._get())

    def snapshot(self) -> dict[str, Any]:
        """The current values, as passed with each task submitted to an executor."""
        return dict(self._get())

    def __repr__(self) -> str:
        return f"<Context: {', '.join(sorted(map(repr, self._get())))}>"

    # -- writing -----------------------------------------------------------------------------
    def _set(self, new: dict[str, Any]) -> contextvars.Token[dict[str, Any] | None]:
        return self._var.set(new)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several keys in the current context (this thread / task / run only)."""
        new = dict(self._get())
        new.update(*args, **kwargs)
        self._var.set(new)

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    __setitem__ = __setattr__

    def __delitem__(self, key: str) -> None:
        new = dict(self._get())
        del new[key]
        self._var.set(new)

    __delattr__ = __delitem__

    def setdefault(self, key: str, default: Any = None) -> Any:
        cur = self._get()
        if key in cur:
            return cur[key]
        self.update({key: default})
        return default

    def clear(self) -> None:
        """Remove every key from the current context (this thread / task / run only)."""
        self._var.set({})

    @contextmanager
    def __call__(self, *args: Mapping[str, Any], **kwargs: Any) -> Iterator[Context]:
        """Temporarily set keys; the previous values come back when the block exits."""
        cur = self._get()
        new = dict(cur)
        for a in args:
            new.update(a)
        new.update(kwargs)
        if "config" in new and new["config"] is not cur.get("config"):
            new["config"] = _merged_config(cur.get("config"), new["config"])
        token = self._var.set(new)
        try:
            yield self
        finally:
            self._var.reset(token)

    def __reduce__(self) -> str:
        if self is context:
            return "context"  # by reference: the receiving process uses its own context
        raise TypeError(
            "a Context cannot be pickled: its values change while flows run. Read them "
            "through `headwater.context` where they are needed, or pickle "
            "`headwater.context.to_dict()`"
        )


def _seeded(values: dict[str, Any]) -> dict[str, Any]:
    """The first values of a new ``Context``: ``config.context`` keys, then ``values``.

    ``config`` is the loaded configuration, with any ``values["config"]`` merged in. Before the
    configuration is loaded (the module-level ``context`` below), ``values`` is used as given.
    """
    module = sys.modules.get("headwater.utilities.context")
    cfg = getattr(module, "config", None) if module is not None else None
    if cfg is None:
        return values
    init = dict(cfg.get("context", None) or {})
    init.update(values)
    init["config"] = _merged_config(cfg, init.get("config") or {})
    return init


def _merged_config(base: Any, overrides: Any) -> Any:
    """``base`` (a configuration) with the sections and keys of ``overrides`` merged in.

    A whole ``Config`` (as ``set_temporary_config`` and context snapshots pass) replaces
    ``base``; a plain mapping is a partial override.
    """
    from headwater._config.types import Config, merge_config

    if base is None or not isinstance(overrides, Mapping) or isinstance(overrides, Config):
        return overrides

    return merge_config(base, overrides)


context = Context()
