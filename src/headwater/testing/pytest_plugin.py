"""headwater's pytest plugin: fresh caches, a temporary home directory and schedules off.

pytest loads it by itself wherever headwater is installed (entry point ``pytest11``, name
``headwater``; ``-p no:headwater`` switches it off). It imports nothing of headwater's engine
until a fixture needs it.

Fixtures:

- ``headwater_fresh_caches``: the test starts and ends with an empty in-process cache, so no
  ``Cached`` state of an earlier test is reused.
- ``headwater_home``: ``home_dir`` is a fresh directory under ``tmp_path`` (returned as a
  ``Path``), so results, the persistent cache, saved flows and the run history
  (``history.db``) go there. The setting holds in
  the test's thread, in the threads it starts and in its subprocesses (as
  ``HEADWATER__HOME_DIR``).
- ``headwater_isolated``: both of those, and ``flows.run_on_schedule`` off (a flow with a
  schedule runs once, now); changes the test makes to ``headwater.config`` are undone. Gives
  the configuration in effect.

By default every test gets ``headwater_fresh_caches`` (at no cost in a suite that does not use
headwater). Two ini options change that::

    [pytest]
    headwater_isolate = true         # every test gets headwater_isolated
    headwater_fresh_caches = false   # no test gets anything it did not ask for

A test module::

    from headwater import Flow, task
    from headwater.testing import assert_task_states, run_flow

    @task
    def hello():
        return "hi"

    def test_hello(headwater_isolated):
        with Flow("hello") as flow:
            hello()
        assert_task_states(run_flow(flow), {"hello": "Success"})
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from headwater.configuration import Config

__all__ = [
    "headwater_fresh_caches",
    "headwater_home",
    "headwater_isolated",
    "pytest_addoption",
]

ISOLATE_OPTION = "headwater_isolate"
FRESH_CACHES_OPTION = "headwater_fresh_caches"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the plugin's ini options."""
    parser.addini(
        ISOLATE_OPTION,
        "give every test the headwater_isolated fixture: fresh caches, a temporary home_dir, "
        "schedules off (default: false)",
        type="bool",
        default=False,
    )
    parser.addini(
        FRESH_CACHES_OPTION,
        "empty headwater's in-process cache of task states around every test (default: true)",
        type="bool",
        default=True,
    )


@pytest.fixture
def headwater_fresh_caches() -> Iterator[None]:
    """The test starts and ends with an empty in-process cache of task states."""
    from headwater.engine.caching.in_process import clear_process_caches

    clear_process_caches()
    yield
    clear_process_caches()


@pytest.fixture
def headwater_home(tmp_path: Path) -> Iterator[Path]:
    """A fresh ``home_dir`` under ``tmp_path`` for the test (results, caches, saved flows)."""
    from headwater.testing._isolation import temporary_settings

    home = tmp_path / "headwater-home"
    home.mkdir()
    isolated = {"home_dir": str(home), "history.path": str(home / "history.db"), "history.url": ""}
    with temporary_settings(isolated):
        yield home


@pytest.fixture
def headwater_isolated(headwater_home: Path, headwater_fresh_caches: None) -> Iterator[Config]:
    """Fresh caches, a temporary ``home_dir`` and schedules off; gives the configuration."""
    from headwater.testing._isolation import temporary_settings

    with temporary_settings({"flows.run_on_schedule": False}) as cfg:
        yield cfg


@pytest.fixture(autouse=True)
def _headwater_autouse(request: pytest.FixtureRequest) -> Iterator[None]:
    """What every test gets, as the ini options say (see the module docstring)."""
    if request.config.getini(ISOLATE_OPTION):
        request.getfixturevalue("headwater_isolated")
        yield
    elif request.config.getini(FRESH_CACHES_OPTION):
        from headwater.testing._isolation import clear_loaded_caches

        clear_loaded_caches()
        yield
        clear_loaded_caches()
    else:
        yield
