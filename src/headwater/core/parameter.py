"""Parameters: root tasks whose values come from ``flow.run(parameters=...)``.

::

    from headwater import Flow, Parameter

    with Flow("greet") as flow:
        name = Parameter("name", default="world")
        times = Parameter("times", default=1, type=int)    # validated with pydantic

    flow.run(name="headwater", times="3")   # "3" is converted to 3
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from headwater.core.task import Task

__all__ = ["DateTimeParameter", "Parameter", "REQUIRED"]


class _Required:
    def __repr__(self) -> str:
        return "<required>"

    def __reduce__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class Parameter(Task):
    """A flow input.

    Args:
        name: the parameter's name (also its slug: unique within a flow).
        default: the value used when none is given; omit it to make the parameter required.
        required: force required (``True``) or optional (``False``, default ``None``).
        tags: tags of the task.
        type: a type (or annotation) the value is validated and converted with
            (``pydantic.TypeAdapter``).

    Raises:
        ValueError: ``name`` is empty or not a string.
        TypeError: pydantic cannot validate values of ``type``.
    """

    def __init__(
        self,
        name: str,
        default: Any = REQUIRED,
        required: bool | None = None,
        tags: Iterable[str] | None = None,
        type: Any = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A Parameter needs a non-empty string name, got {name!r}")
        if required is None:
            required = default is REQUIRED
        if default is REQUIRED:
            default = None
        self.required = required
        self.default = default
        self.type = type
        self._adapter: Any = None
        from headwater.engine.results import PrefectResult

        # Values are described by a PrefectResult (JSON), as in Prefect 1; they are not
        # checkpointed (a parameter's value is an input the caller already has).
        super().__init__(name=name, slug=name, tags=tags, checkpoint=False, result=PrefectResult())
        if type is not None:
            self._adapter = self._make_adapter()

    def __repr__(self) -> str:
        return f"<Parameter: {self.name}>"

    def copy(self, name: str, **task_args: Any) -> Task:  # type: ignore[override]
        """A copy of the parameter under a new ``name`` (its slug too).

        Raises:
            AttributeError: ``task_args`` names an attribute parameters do not have.
        """
        task_args["name"] = name
        task_args.setdefault("slug", name)
        new = super().copy(**task_args)
        new.slug = new.name
        return new

    def __call__(self, flow: Any = None) -> Parameter:  # type: ignore[override]
        """Add the parameter to ``flow`` (default: the active flow) and return it.

        A parameter takes no inputs, so this is all calling one does.
        """
        result = self.bind(flow=flow)
        assert isinstance(result, Parameter)
        return result

    def validate_value(self, value: Any) -> Any:
        """Validate/convert ``value`` with ``type`` (pydantic); raises ``ValueError``."""
        if self.type is None:
            return value
        if self._adapter is None:
            self._adapter = self._make_adapter()
        from pydantic import ValidationError

        try:
            return self._adapter.validate_python(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(
                f"Invalid value for parameter {self.name!r}: {value!r} ({problems})"
            ) from None

    def _make_adapter(self) -> Any:
        """The pydantic ``TypeAdapter`` for ``type``; ``TypeError`` if pydantic cannot make one."""
        from pydantic import TypeAdapter

        try:
            return TypeAdapter(self.type)
        except Exception as exc:
            reason = str(exc).split("\n", 1)[0]
            raise TypeError(
                f"Parameter {self.name!r}: type={self.type!r} cannot validate values ({reason}). "
                "Use a type pydantic understands (int, str, list[int], a dataclass, a pydantic "
                "model...), or leave type out and check the value in a task."
            ) from exc

    def __getstate__(self) -> dict[str, Any]:
        d = super().__getstate__()
        d["_adapter"] = None
        return d

    def run(self) -> Any:
        from headwater.context import context

        params = context.get("parameters") or {}
        if self.name in params:
            return params[self.name]
        if self.required:
            raise ValueError(
                f"Parameter {self.name!r} was required but not provided: pass a value for the "
                f"required parameter {self.name!r}, e.g. flow.run(parameters={{{self.name!r}: ...}})."
            )
        return self.default


class DateTimeParameter(Parameter):
    """A parameter whose value (an ISO-8601 string, ``datetime`` or ``None``) becomes a
    timezone-aware ``pendulum.DateTime``."""

    def __init__(
        self,
        name: str,
        default: Any = REQUIRED,
        required: bool | None = True,
        tags: Iterable[str] | None = None,
        type: Any = None,
    ) -> None:
        super().__init__(name=name, default=default, required=required, tags=tags, type=type)
        from headwater.engine.results import PrefectResult
        from headwater.engine.serializers import DateTimeSerializer

        self.result = PrefectResult(serializer=DateTimeSerializer())

    def validate_value(self, value: Any) -> Any:
        value = super().validate_value(value)
        if value is None:
            return None
        import datetime

        import pendulum

        if isinstance(value, datetime.datetime):
            return pendulum.instance(value)
        try:
            parsed = pendulum.parse(str(value))
        except Exception as exc:
            raise ValueError(
                f"Parameter {self.name!r}: {value!r} is not an ISO-8601 datetime ({exc})"
            ) from None
        if not isinstance(parsed, pendulum.DateTime):
            raise ValueError(
                f"Parameter {self.name!r}: {value!r} is not a datetime (parsed as {parsed!r})"
            )
        return parsed

    def run(self) -> Any:
        return self.validate_value(super().run())
