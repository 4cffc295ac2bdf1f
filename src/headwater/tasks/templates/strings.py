"""Format a ``str.format`` template with the task's keyword arguments and the run context.

Every key of :data:`headwater.context` (``flow_name``, ``task_name``, ``today``, ``parameters``,
``map_index``, ...) is available in the template; keyword arguments given to the task take
precedence over context keys of the same name::

    from headwater import Flow, Parameter
    from headwater.tasks.templates import StringFormatter

    greeting = StringFormatter(template="{greeting}, {name}! This is {flow_name}.")

    with Flow("hello") as flow:
        name = Parameter("name", default="world")
        message = greeting(greeting="Hello", name=name)

    state = flow.run()
    assert state.result[message].result == "Hello, world! This is hello."
"""

from __future__ import annotations

from typing import Any

from headwater.context import context
from headwater.core.task import Task
from headwater.utilities.tasks import defaults_from_attrs

__all__ = ["StringFormatter"]


class StringFormatter(Task):
    """Render a ``str.format`` template from keyword arguments and the context.

    Args:
        template: the template, with named fields such as ``{name}``.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(self, template: str | None = None, **kwargs: Any):
        self.template = template
        super().__init__(**kwargs)

    @defaults_from_attrs("template")
    def run(self, template: str | None = None, **format_kwargs: Any) -> str:
        """Return the formatted template.

        Args:
            template: the template (default: the one given at construction).
            **format_kwargs: values for the template's fields; they take precedence over context
                keys of the same name.

        Raises:
            ValueError: if no template is given, or it uses positional fields (``{}``, ``{0}``).
            TypeError: if ``template`` is not a string.
            KeyError: if a field is neither an argument nor a context key.
        """
        if template is None:
            raise ValueError(
                f"StringFormatter {self.name!r}: no template given; pass "
                "StringFormatter(template=...) or template= when calling the task."
            )
        if not isinstance(template, str):
            raise TypeError(
                f"StringFormatter {self.name!r}: template must be a string, got "
                f"{type(template).__name__}: {template!r}"
            )
        values = context.to_dict()
        values.update(format_kwargs)
        try:
            return template.format(**values)
        except KeyError as exc:
            key = exc.args[0] if exc.args else ""
            raise KeyError(
                f"StringFormatter {self.name!r}: the template uses the field {{{key}}}, which is "
                f"neither an argument of the task nor a context key; pass {key}=... when calling "
                "the task."
            ) from None
        except IndexError:
            raise ValueError(
                f"StringFormatter {self.name!r}: the template {template!r} has positional fields "
                "({} or {0}); name every field, e.g. {name}, and pass name=... ."
            ) from None
