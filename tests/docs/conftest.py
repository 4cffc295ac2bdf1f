"""The documentation tests' summary: how many code blocks ran, and which were not run and why."""

from __future__ import annotations

import pytest

SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def docs_summary(request: pytest.FixtureRequest) -> list[str]:
    """Lines printed at the end of the session under "documentation code blocks"."""
    return request.config.stash.setdefault(SUMMARY, [])


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    lines = config.stash.get(SUMMARY, [])
    if lines:
        terminalreporter.section("documentation code blocks")
        for line in lines:
            terminalreporter.write_line(line)
