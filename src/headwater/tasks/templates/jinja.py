"""Render a Jinja template with the task's keyword arguments and the run context.

Jinja is optional: install it with ``pip install "headwater[templates]"`` (or ``pip install
jinja2``). Every key of :data:`headwater.context` is available in the template, and keyword
arguments given to the task take precedence over context keys of the same name::

    from headwater import Flow
    from headwater.tasks.templates import JinjaTemplate

    report = JinjaTemplate(
        template="{{ flow_name }}: {% for n in numbers %}{{ n * 2 }} {% endfor %}"
    )

    with Flow("doubling") as flow:
        text = report(numbers=[1, 2, 3])

    state = flow.run()
    assert state.result[text].result == "doubling: 2 4 6 "

As in plain Jinja, an undefined name renders as an empty string; ``strict=True`` makes it an
error instead.
"""

from __future__ import annotations

from typing import Any

from headwater.context import context
from headwater.core.task import Task
from headwater.utilities.tasks import defaults_from_attrs

__all__ = ["JinjaTemplate"]

_INSTALL_HINT = (
    "JinjaTemplate needs the jinja2 package, which is not installed. Install it with "
    '`pip install "headwater[templates]"` (or `pip install jinja2`).'
)


def _jinja2() -> Any:
    try:
        import jinja2
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return jinja2


class JinjaTemplate(Task):
    """Render a Jinja template from keyword arguments and the context.

    Args:
        template: the Jinja template source.
        strict: make undefined names an error instead of rendering them as empty strings.
        **kwargs: any :class:`~headwater.core.task.Task` option.

    Raises:
        ImportError: if jinja2 is not installed (the message says how to install it).
    """

    def __init__(self, template: str | None = None, strict: bool = False, **kwargs: Any):
        _jinja2()
        self.template = template
        self.strict = strict
        super().__init__(**kwargs)

    @defaults_from_attrs("template")
    def run(self, template: str | None = None, **format_kwargs: Any) -> str:
        """Return the rendered template.

        Args:
            template: the template source (default: the one given at construction).
            **format_kwargs: template variables; they take precedence over context keys of the
                same name.

        Raises:
            ValueError: if no template is given, or it is not valid Jinja syntax.
            TypeError: if ``template`` is not a string.
            ImportError: if jinja2 is not installed.
            jinja2.UndefinedError: with ``strict=True``, if the template uses an undefined name.
        """
        jinja2 = _jinja2()
        if template is None:
            raise ValueError(
                f"JinjaTemplate {self.name!r}: no template given; pass "
                "JinjaTemplate(template=...) or template= when calling the task."
            )
        if not isinstance(template, str):
            raise TypeError(
                f"JinjaTemplate {self.name!r}: template must be a string, got "
                f"{type(template).__name__}: {template!r}"
            )
        undefined = jinja2.StrictUndefined if self.strict else jinja2.Undefined
        try:
            compiled = jinja2.Environment(undefined=undefined).from_string(template)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(
                f"JinjaTemplate {self.name!r}: invalid template syntax on line {exc.lineno}: "
                f"{exc.message}"
            ) from None
        values = context.to_dict()
        values.update(format_kwargs)
        rendered: str = compiled.render(**values)
        return rendered
