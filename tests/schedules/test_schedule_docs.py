"""The examples in docs/schedules.md and in the schedules module docstrings run as written."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "schedules.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_user_guide_examples():
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=FLAGS, verbose=False)
    assert result.attempted > 20
    assert result.failed == 0


@pytest.mark.parametrize(
    "module",
    [
        "headwater.schedules",
        "headwater.schedules.clocks",
        "headwater.schedules.filters",
        "headwater.schedules.adjustments",
        "headwater.schedules.schedules",
    ],
)
def test_module_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=FLAGS)
    assert result.attempted > 0
    assert result.failed == 0
