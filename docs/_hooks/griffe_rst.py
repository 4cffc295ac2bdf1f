"""Griffe extension: the reStructuredText bits of headwater's docstrings, as Markdown.

The docstrings are Google style, with a few reStructuredText habits that Markdown would show
as they are: cross-reference roles (``:class:`~headwater.engine.state.State```), literal blocks
introduced by ``::`` and interactive examples (``>>>``) outside an ``Examples`` section. For the
API pages they become inline code (the last part of the path when it starts with ``~``), a
colon, and fenced ``pycon`` blocks.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(?P<target>[^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match["target"]
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def _fence_sessions(text: str) -> str:
    """Put each run of ``>>>`` lines at the left margin (with their output) in a ``pycon`` fence.

    Indented sessions are left alone: they are inside a literal block, or an ``Examples``
    section that griffe renders itself.
    """
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(">>>") and (not out or not out[-1].strip()):
            start = i
            while i < len(lines) and lines[i].strip():
                i += 1
            out.extend(["```pycon", *lines[start:i], "```"])
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with roles, ``::`` and ``>>>`` sessions made Markdown."""
    text = ROLE.sub(_role, text)
    text = re.sub(r"(?m)^(\s*)::\s*$", "", text)  # a "::" alone on its line
    text = re.sub(r"(?m)(\S)::\s*$", r"\1:", text)  # "Example::" -> "Example:"
    return _fence_sessions(text)


class RstToMarkdown(griffe.Extension):
    """Rewrites every docstring as it is loaded."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
