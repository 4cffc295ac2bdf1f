"""A flow's parameters: binding a call's arguments, and validating them with pydantic.

With ``validate_parameters=True`` (the default) each argument given for an annotated
parameter is validated and coerced by pydantic, as Prefect 3 does (``"1"`` becomes ``1`` for
an ``int``; a dict becomes the annotated pydantic model). A parameter whose annotation pydantic
cannot handle is passed as it is. Defaults are not validated.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from headwater.modern.errors import ParameterTypeError

__all__ = ["Parameters"]


class Parameters:
    """The signature of a flow function, and its (lazily built) validators."""

    def __init__(self, fn: Callable[..., Any], owner: str) -> None:
        self.signature = inspect.signature(fn)
        self.fn = fn
        self.owner = owner
        self._adapters: dict[str, Any] | None = None
        self._hints: dict[str, Any] | None = None

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by name, defaults included.

        Raises:
            TypeError: the arguments do not fit the flow function.
        """
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.owner}: {exc}") from None
        given = dict(bound.arguments)
        bound.apply_defaults()
        out = dict(bound.arguments)
        out["__given__"] = given  # (removed by validate)
        return out

    def _type_hints(self) -> dict[str, Any]:
        try:
            hints = typing.get_type_hints(self.fn)
        except Exception:  # unresolvable annotations: validate none of them
            hints = {}
        return {k: v for k, v in hints.items() if k in self.signature.parameters}

    def _build(self) -> dict[str, Any]:
        import pydantic

        hints = self._hints or {}
        adapters: dict[str, Any] = {}
        for name, param in self.signature.parameters.items():
            hint = hints.get(name)
            if hint is None or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            try:
                adapters[name] = pydantic.TypeAdapter(hint)
            except Exception:
                continue
        return adapters

    def validate(self, parameters: dict[str, Any], enabled: bool) -> dict[str, Any]:
        """``parameters`` with the given ones validated and coerced.

        Raises:
            ParameterTypeError: an argument does not validate.
        """
        given = parameters.pop("__given__")
        if not enabled or not given:
            return parameters
        if self._hints is None:
            self._hints = self._type_hints()
        hints = self._hints
        # a value of exactly the annotated class needs no validation (nor pydantic's import)
        todo = [n for n in given if n in hints and type(parameters[n]) is not hints[n]]
        if not todo:
            return parameters
        if self._adapters is None:
            self._adapters = self._build()
        adapters = self._adapters
        import pydantic

        errors = []
        for name in todo:
            adapter = adapters.get(name)
            if adapter is None:
                continue
            try:
                parameters[name] = adapter.validate_python(parameters[name])
            except pydantic.ValidationError as exc:
                details = "; ".join(e["msg"] for e in exc.errors())
                errors.append(f"{name}={parameters[name]!r}: {details}")
        if errors:
            raise ParameterTypeError(
                f"{self.owner}: parameters do not validate: {', '.join(errors)}. Pass values of "
                "the annotated types, or use @flow(validate_parameters=False)."
            )
        return parameters

    def call_arguments(self, parameters: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """``(args, kwargs)`` that call the function with ``parameters``."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for name, param in self.signature.parameters.items():
            if name not in parameters:
                continue
            value = parameters[name]
            if param.kind is param.VAR_POSITIONAL:
                args.extend(value)
            elif param.kind is param.VAR_KEYWORD:
                kwargs.update(value)
            elif param.kind is param.POSITIONAL_ONLY:
                args.append(value)
            else:
                kwargs[name] = value
        return args, kwargs
