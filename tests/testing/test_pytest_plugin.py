"""headwater's pytest plugin, checked on small user suites run by ``pytester``.

Suites that must start from a fresh interpreter (import-time warnings, logging set-up, modules
imported) run in a subprocess; the others run in-process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

CACHED_SUITE = """
    import datetime

    from headwater import Flow, task

    calls = []

    @task(cache_for=datetime.timedelta(hours=1))
    def expensive():
        calls.append(1)
        return len(calls)

    def build():
        with Flow("cached") as flow:
            expensive()
        return flow

    def test_first():
        build().run()
        assert len(calls) == 1

    def test_second():
        build().run()
        assert len(calls) == 2, "the first test's Cached state was reused"
"""

SCHEDULED_SUITE = """
    import datetime
    import pathlib

    import headwater
    from headwater import Flow, task
    from headwater.schedules import IntervalSchedule

    ORIGINAL_HOME = headwater.config.home_dir

    @task
    def tick():
        return 1

    def test_scheduled_flow_runs_once(tmp_path{fixture}):
        start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        schedule = IntervalSchedule(start_date=start, interval=datetime.timedelta(hours=1))
        with Flow("hourly", schedule=schedule) as flow:
            tick()
        assert flow.run().is_successful()  # returns: the schedule is not followed
        home = pathlib.Path(headwater.config.home_dir)
        assert home.parent == tmp_path and home.is_dir()
        headwater.config.tasks.defaults.max_retries = 7  # undone after the test

    def test_settings_are_back():
        assert headwater.config.home_dir == ORIGINAL_HOME
        assert headwater.config.flows.run_on_schedule is True
        assert headwater.config.tasks.defaults.max_retries != 7
"""


def write_ini(pytester: pytest.Pytester, *lines: str) -> None:
    pytester.makeini("\n".join(["[pytest]", *lines]))


def test_the_plugin_is_registered_under_the_pytest11_entry_point() -> None:
    [ep] = [ep for ep in entry_points(group="pytest11") if ep.name == "headwater"]
    assert ep.value == "headwater.testing.pytest_plugin"


def test_pytest_loads_it_by_itself(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_loaded(request):
            assert request.config.pluginmanager.has_plugin("headwater")
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:headwater").assert_outcomes(failed=1)


def test_loading_it_imports_nothing_of_headwater_beyond_the_package() -> None:
    code = textwrap.dedent(
        """
        import sys
        import pytest, headwater
        before = set(sys.modules)
        import headwater.testing.pytest_plugin
        print(sorted(m for m in set(sys.modules) - before if m.startswith("headwater")))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['headwater.testing', 'headwater.testing.pytest_plugin']"


class TestFreshCaches:
    def test_each_test_starts_with_an_empty_in_process_cache_by_default(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(CACHED_SUITE)
        pytester.runpytest().assert_outcomes(passed=2)

    def test_the_ini_option_turns_it_off(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(CACHED_SUITE)
        write_ini(pytester, "headwater_fresh_caches = false")
        result = pytester.runpytest()
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(["*the first test's Cached state was reused*"])

    def test_the_fixture_clears_even_when_the_option_is_off(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            CACHED_SUITE.replace("def test_second():", "def test_second(headwater_fresh_caches):")
        )
        write_ini(pytester, "headwater_fresh_caches = false")
        pytester.runpytest().assert_outcomes(passed=2)

    def test_a_suite_without_headwater_does_not_import_its_engine(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            """
            import sys

            def test_plain():
                assert 1 + 1 == 2

            def test_engine_not_imported():
                assert "headwater.engine.caching.in_process" not in sys.modules
            """
        )
        pytester.runpytest_subprocess().assert_outcomes(passed=2)


class TestIsolation:
    def test_headwater_isolated_turns_schedules_off_and_undoes_config_changes(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(SCHEDULED_SUITE.replace("{fixture}", ", headwater_isolated"))
        pytester.runpytest().assert_outcomes(passed=2)

    def test_the_ini_option_isolates_every_test(self, pytester: pytest.Pytester) -> None:
        suite = SCHEDULED_SUITE.replace("{fixture}", "")
        suite = suite[: suite.index("    def test_settings_are_back")]
        suite += """
    def test_another_test_is_isolated_too(tmp_path):
        assert headwater.config.home_dir == str(tmp_path / "headwater-home")
        assert headwater.config.flows.run_on_schedule is False
        assert headwater.config.tasks.defaults.max_retries != 7
"""
        pytester.makepyfile(suite)
        write_ini(pytester, "headwater_isolate = true")
        pytester.runpytest().assert_outcomes(passed=2)

    def test_headwater_home_holds_results_saved_flows_and_reaches_threads_and_subprocesses(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            """
            import os
            import subprocess
            import sys
            import threading

            import headwater
            from headwater import Flow, task
            from headwater.engine.results import LocalResult

            @task
            def one():
                return 1

            def test_home(headwater_home, tmp_path):
                assert headwater_home.parent == tmp_path and headwater_home.is_dir()
                assert headwater.config.home_dir == str(headwater_home)
                assert LocalResult().dir == str(headwater_home / "results")
                with Flow("saved") as flow:
                    one()
                assert flow.save().startswith(str(headwater_home))

                seen = []
                thread = threading.Thread(target=lambda: seen.append(headwater.config.home_dir))
                thread.start()
                thread.join()
                assert seen == [str(headwater_home)]

                code = "import headwater; print(headwater.config.home_dir)"
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
                assert out.stdout.strip() == str(headwater_home)

            def test_after():
                assert "HEADWATER__HOME_DIR" not in os.environ
            """
        )
        pytester.runpytest().assert_outcomes(passed=2)


class TestReports:
    LOGGING_SUITE = """
        from headwater import Flow, task

        @task
        def noisy():
            noisy.logger.warning("a-unique-log-line")
            return 1

        def test_fails():
            with Flow("noisy") as flow:
                noisy()
            flow.run()
            assert False
    """

    @pytest.mark.parametrize("args", [(), ("-p", "no:logging")], ids=["log-capture", "no-logging"])
    def test_a_headwater_log_line_shows_once_in_the_failure_report(
        self, pytester: pytest.Pytester, args: tuple[str, ...]
    ) -> None:
        pytester.makepyfile(self.LOGGING_SUITE)
        result = pytester.runpytest_subprocess(*args)
        result.assert_outcomes(failed=1)
        assert sum("a-unique-log-line" in line for line in result.outlines) == 1

    def test_a_suite_under_filterwarnings_error_passes(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            """
            import datetime

            import pytest
            from headwater import Flow, Parameter, task
            from headwater.schedules import IntervalSchedule
            from headwater.testing import assert_task_states, run_flow

            @task(cache_for=datetime.timedelta(minutes=5))
            def double(x):
                return 2 * x

            @task
            def fail():
                raise ValueError("expected")

            def build():
                start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
                schedule = IntervalSchedule(start_date=start, interval=datetime.timedelta(days=1))
                with Flow("suite", schedule=schedule) as flow:
                    double(Parameter("x"))
                    fail()
                return flow

            @pytest.mark.parametrize("x", [1, 2])
            def test_run(headwater_isolated, x):
                state = run_flow(build(), x=x)
                assert_task_states(state, {"double": "Cached", "fail": "Failed", "x": "Success"})

            def test_run_on_the_fixture_schedule_off(headwater_isolated):
                assert_task_states(build().run(x=3), {"double": "Success"})

            def test_home(headwater_home):
                assert headwater_home.is_dir()
            """
        )
        write_ini(pytester, "filterwarnings =", "    error")
        pytester.runpytest_subprocess("-W", "error", timeout=120).assert_outcomes(passed=4)

    def test_assert_task_states_failures_read_well_in_a_report(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            """
            from headwater import Flow, task
            from headwater.testing import assert_task_states, run_flow

            @task
            def broken():
                raise ValueError("the cause of it all")

            def test_states():
                with Flow("f") as flow:
                    broken()
                assert_task_states(run_flow(flow), {"broken": "Success"})
            """
        )
        result = pytester.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                '*assert_task_states(run_flow(flow), {"broken": "Success"})*',
                "*1 of 1 expected task states differ*",
                "*- task 'broken': expected Success, got Failed: *",
                "*ValueError: the cause of it all*",
            ]
        )
        assert "_flow_checks.py" not in result.stdout.str()  # the helper's frame is hidden
