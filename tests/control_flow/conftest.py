"""Fixtures for the control-flow tests."""

from __future__ import annotations

import pytest

from headwater.executors import LocalExecutor


@pytest.fixture(params=["local"])
def executor(request: pytest.FixtureRequest) -> LocalExecutor:
    """The executor run-level tests run on."""
    return LocalExecutor()
