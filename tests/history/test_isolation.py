"""Tests never write the real history: the suite's own configuration and the pytest plugin's
isolation both point it at temporary files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from headwater import Flow, task
from headwater.history import open_store, resolve_target

pytest_plugins = ["pytester"]


@task
def one():
    return 1


def test_this_suite_records_into_a_temporary_file():
    target = Path(resolve_target())
    assert target.is_relative_to(tempfile.gettempdir())
    assert target != Path("~/.headwater/history.db").expanduser()
    assert os.environ["HEADWATER__HISTORY__PATH"] == str(target)


def test_headwater_home_moves_the_history_into_it(headwater_home):
    assert resolve_target() == str(headwater_home / "history.db")
    with Flow("isolated") as flow:
        one()
    flow.run()
    with open_store(headwater_home / "history.db") as store:
        store.flush()
        assert [r["flow_name"] for r in store.list_flow_runs()] == ["isolated"]


USER_SUITE = """
    import pathlib

    from headwater import Flow, task
    from headwater.history import open_store, resolve_target

    @task
    def one():
        return 1

    def test_recorded_in_the_temporary_home(headwater_isolated, tmp_path):
        with Flow("users-flow") as flow:
            one()
        assert flow.run().is_successful()
        target = pathlib.Path(resolve_target())
        assert target.parent.parent == tmp_path
        with open_store(target) as store:
            store.flush()
            assert store.count_flow_runs() == 1
"""


def test_a_user_suite_under_filterwarnings_error_leaves_the_home_alone(
    pytester, tmp_path, monkeypatch
):
    home = tmp_path / "user-home"
    home.mkdir()
    pytester.makepyfile(USER_SUITE)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    for name in ("HEADWATER__HISTORY__PATH", "HEADWATER__HISTORY__URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (home / ".headwater" / "history.db").exists()
