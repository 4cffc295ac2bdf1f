"""``-p KEY=VALUE``: flow parameters on the command line.

A value is read as JSON when it parses (``-p n=3`` is the number 3, ``-p names='["a","b"]'`` a
list, ``-p ok=true`` a boolean) and kept as the text otherwise (``-p day=2024-01-31``). When the
flow's ``Parameter`` has a ``type``, the value is converted to it: the JSON value if the type
accepts it, else the text itself (so ``type=str`` keeps ``-p code=007`` as ``"007"``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from headwater.cli._app import UsageProblem, one_line

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.parameter import Parameter

__all__ = ["flow_parameters", "parse_assignment", "parse_assignments", "value_for"]

_NOT_JSON = object()


def parse_assignment(text: str) -> tuple[str, str]:
    """``"key=value"`` as ``("key", "value")``.

    Raises:
        click.BadParameter: there is no ``=``, or nothing before it.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise click.BadParameter(f"parameters are given as KEY=VALUE, got {text!r}")
    return key, raw


def parse_assignments(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> list[tuple[str, str]]:
    """Click callback of ``-p``: every ``KEY=VALUE`` split in two."""
    return [parse_assignment(v) for v in values]


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return _NOT_JSON


def value_for(parameter: Parameter | None, key: str, raw: str) -> Any:
    """The value ``-p key=raw`` gives ``parameter`` (see the module docstring).

    Raises:
        UsageProblem: the parameter has a type and neither the JSON value nor the text fits it.
    """
    parsed = _json(raw)
    if parameter is None or parameter.type is None:
        return raw if parsed is _NOT_JSON else parsed
    problem: ValueError | None = None
    for value in (parsed, raw):
        if value is _NOT_JSON:
            continue
        try:
            return parameter.validate_value(value)
        except ValueError as exc:
            problem = problem or exc
    raise UsageProblem(f"-p {key}={raw}: {one_line(problem)}")


def flow_parameters(flow: Flow, assignments: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The ``parameters`` for ``flow.run`` from the ``-p`` assignments (the last one wins).

    Raises:
        UsageProblem: a key is not one of the flow's parameters, a required parameter has no
            value, or a value does not fit its parameter's type.
    """
    declared = {p.name: p for p in flow.parameters()}
    given = dict(assignments)
    unknown = [k for k in given if k not in declared]
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UsageProblem(
            f"unknown parameter(s): {', '.join(unknown)} (flow {flow.name!r} takes: {known}); "
            "pass -p KEY=VALUE with one of those keys"
        )
    missing = sorted(n for n, p in declared.items() if p.required and n not in given)
    if missing:
        hint = " ".join(f"-p {n}=VALUE" for n in missing)
        raise UsageProblem(
            f"flow {flow.name!r} needs parameter(s) {', '.join(missing)}: pass {hint}"
        )
    return {k: value_for(declared[k], k, raw) for k, raw in given.items()}
