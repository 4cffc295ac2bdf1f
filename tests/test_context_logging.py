"""The run context (contextvars isolation) and logging (task loggers, records, stdout)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
import threading

import pytest

import headwater
from headwater import Flow, Parameter, Task, task
from headwater.utilities.context import Context
from headwater.utilities.logging import get_logger


class TestContextAPI:
    def test_attribute_and_item_access(self):
        with headwater.context(a=1):
            assert headwater.context.a == 1
            assert headwater.context["a"] == 1
            assert "a" in headwater.context
        assert "a" not in headwater.context

    def test_missing_key(self):
        with pytest.raises(AttributeError, match="no key 'nope'"):
            headwater.context.nope  # noqa: B018
        with pytest.raises(KeyError):
            headwater.context["nope"]
        assert headwater.context.get("nope", 5) == 5

    def test_with_block_restores_previous_values(self):
        with headwater.context(a=1, b=2):
            with headwater.context(a=10, c=3):
                assert (headwater.context.a, headwater.context.b, headwater.context.c) == (10, 2, 3)
            assert headwater.context.a == 1
            assert "c" not in headwater.context

    def test_with_block_restores_after_an_error(self):
        with pytest.raises(RuntimeError):
            with headwater.context(a=1):
                raise RuntimeError("x")
        assert "a" not in headwater.context

    def test_mapping_argument(self):
        with headwater.context({"k": "v"}, other=1):
            assert headwater.context.k == "v" and headwater.context.other == 1

    def test_update_setdefault_and_to_dict(self):
        with headwater.context():
            headwater.context.update(x=1)
            headwater.context.y = 2
            headwater.context["z"] = 3
            assert headwater.context.setdefault("x", 100) == 1
            assert headwater.context.setdefault("w", 4) == 4
            d = headwater.context.to_dict()
            assert {k: d[k] for k in "xyzw"} == {"x": 1, "y": 2, "z": 3, "w": 4}
            d["x"] = "changed"
            assert headwater.context.x == 1
            del headwater.context["w"]
            assert "w" not in headwater.context
        assert "x" not in headwater.context

    def test_config_is_in_context(self):
        assert headwater.context.config.logging.level == headwater.config.logging.level

    def test_context_class(self):
        # As Prefect 1: a new Context starts with config.context's keys and the config.
        c = Context({"a": 1}, b=2)
        assert c.a == 1 and c.b == 2
        assert sorted(c) == ["a", "b", "config", "secrets"]
        assert c.config == headwater.config

    def test_config_mapping_given_to_a_context_is_merged_into_the_config(self):
        c = Context(config={"logging": {"x": 1}})
        assert c.config.logging.x == 1
        assert c.config.logging.level == headwater.config.logging.level
        with headwater.context(config={"my_app": {"mode": "test"}}):
            assert headwater.config.my_app.mode == "test"
            assert headwater.config.logging.level == c.config.logging.level
        assert "my_app" not in headwater.config

    def test_only_the_global_context_pickles(self):
        import pickle

        assert pickle.loads(pickle.dumps(headwater.context)) is headwater.context
        with pytest.raises(TypeError, match="headwater.context"):
            pickle.dumps(Context())

    def test_threads_do_not_see_each_others_writes(self):
        barrier = threading.Barrier(2)
        seen = {}

        def worker(name):
            with headwater.context(who=name):
                barrier.wait(5)
                seen[name] = headwater.context.who
                barrier.wait(5)

        threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert seen == {"a": "a", "b": "b"}
        assert "who" not in headwater.context

    def test_asyncio_tasks_are_isolated(self):
        async def worker(name, ev_set, ev_wait):
            with headwater.context(who=name):
                ev_set.set()
                await ev_wait.wait()
                return headwater.context.who

        async def main():
            e1, e2 = asyncio.Event(), asyncio.Event()
            return await asyncio.gather(worker("a", e1, e2), worker("b", e2, e1))

        assert asyncio.run(main()) == ["a", "b"]


RUN_KEYS = [
    "flow_name",
    "flow_run_id",
    "flow_run_name",
    "scheduled_start_time",
    "parameters",
    "date",
    "today",
    "yesterday",
    "tomorrow",
    "today_nodash",
    "yesterday_nodash",
    "tomorrow_nodash",
    "task_name",
    "task_full_name",
    "task_slug",
    "task_tags",
    "task_id",
    "task_run_id",
    "task_run_count",
    "task_loop_count",
    "task_run_name",
    "map_index",
    "logger",
    "checkpointing",
    "resume",
    "caches",
    "secrets",
    "config",
]


class TestContextDuringRuns:
    def test_every_documented_key_is_set(self):
        @task
        def grab():
            return headwater.context.to_dict()

        with Flow("ctx-flow") as flow:
            g = grab()
        ctx = flow.run().result[g].result
        missing = [k for k in RUN_KEYS if k not in ctx]
        assert missing == []
        # as in Prefect Core 1.x, task_loop_result is set from a task's second loop on
        assert "task_loop_result" not in ctx
        assert ctx["flow_name"] == "ctx-flow"
        assert ctx["task_name"] == "grab"
        assert ctx["task_slug"] == flow.slugs[g]
        assert ctx["map_index"] is None
        assert ctx["task_run_count"] == 1
        assert ctx["logger"].name == "headwater.grab"

    def test_run_keys_do_not_leak_after_the_run(self):
        with Flow("f") as flow:
            task(lambda: 1, name="t")()
        before = headwater.context.to_dict()
        flow.run()
        assert headwater.context.to_dict() == before
        assert "flow_name" not in headwater.context

    def test_task_run_ids_are_unique(self):
        @task
        def rid(x):
            return headwater.context.task_run_id

        with Flow("f") as flow:
            m = rid.map([1, 2, 3])
        ids = flow.run().result[m].result
        assert len(set(ids)) == 3

    def test_concurrent_flow_runs_in_threads_are_isolated(self):
        n_runs = 4
        barrier = threading.Barrier(n_runs)
        results = {}
        errors = []

        @task
        def first(name):
            # every run is inside its task at the same time
            barrier.wait(10)
            return (headwater.context.flow_name, headwater.context.parameters["name"], name)

        @task
        def second(x):
            return x + (headwater.context.flow_name, headwater.context.parameters["name"])

        def run(i):
            try:
                with Flow(f"flow-{i}") as flow:
                    name = Parameter("name")
                    s = second(first(name))
                state = flow.run(name=f"p{i}")
                results[i] = state.result[s].result
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n_runs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        assert results == {
            i: (f"flow-{i}", f"p{i}", f"p{i}", f"flow-{i}", f"p{i}") for i in range(n_runs)
        }

    def test_user_context_reaches_tasks(self):
        @task
        def read():
            return headwater.context.get("user_key")

        with Flow("f") as flow:
            r = read()
        with headwater.context(user_key="outer"):
            assert flow.run().result[r].result == "outer"


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def records():
    logger = get_logger()
    handler = ListHandler()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


class TestLogging:
    def test_get_logger(self):
        assert get_logger().name == "headwater"
        assert get_logger("x").name == "headwater.x"
        assert get_logger("x").parent is get_logger()

    def test_task_logger(self):
        assert Task(name="mine").logger.name == "headwater.mine"

    def test_task_logs_carry_run_attributes(self, records):
        class Talker(Task):
            def run(self):
                self.logger.info("hello from self.logger")
                headwater.context.logger.warning("hello from context.logger")

        with Flow("logging-flow") as flow:
            t = Talker(name="talker")()
        flow.run()
        mine = [r for r in records if r.getMessage().startswith("hello from")]
        assert [r.getMessage() for r in mine] == [
            "hello from self.logger",
            "hello from context.logger",
        ]
        for r in mine:
            assert r.name == "headwater.talker"
            assert r.flow_name == "logging-flow"
            assert r.task_name == "talker"
            assert r.task_slug == flow.slugs[t]
            assert r.flow_run_id and r.task_run_id

    def test_engine_logs_state_changes(self, records):
        with Flow("f") as flow:
            task(lambda: 1, name="quiet")()
        flow.run()
        messages = [r.getMessage() for r in records]
        assert "Task 'quiet': Starting task run..." in messages
        assert "Task 'quiet': Finished task run for task with final state: 'Success'" in messages

    def test_log_stdout(self, records, capsys):
        @task(log_stdout=True)
        def printer():
            print("printed line one")
            print("printed line two")
            return 1

        @task
        def plain_printer():
            print("not captured")

        with Flow("f") as flow:
            printer()
            plain_printer()
        flow.run()
        captured = [r for r in records if r.getMessage().startswith("printed")]
        assert [r.getMessage() for r in captured] == ["printed line one", "printed line two"]
        assert all(r.name == "headwater.printer" for r in captured)
        out = capsys.readouterr().out
        assert "not captured" in out
        assert "printed line" not in out

    def test_log_stdout_in_concurrent_runs(self, records):
        n_runs = 3
        barrier = threading.Barrier(n_runs)

        def make(i):
            @task(log_stdout=True, name=f"printer{i}")
            def printer():
                barrier.wait(10)  # all runs print at the same time
                print(f"line from {i}")
                barrier.wait(10)

            with Flow(f"f{i}") as flow:
                printer()
            return flow

        original = sys.stdout
        threads = [threading.Thread(target=make(i).run) for i in range(n_runs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        lines = sorted(
            (r.name, r.getMessage()) for r in records if r.getMessage().startswith("line from")
        )
        assert lines == [(f"headwater.printer{i}", f"line from {i}") for i in range(n_runs)]
        assert sys.stdout is original

    def test_log_stdout_restores_sys_stdout(self):
        @task(log_stdout=True)
        def printer():
            print("x")

        original = sys.stdout
        with Flow("f") as flow:
            printer()
        flow.run()
        assert sys.stdout is original

    def test_failure_is_logged_with_traceback(self, records):
        @task
        def broken():
            raise ValueError("logged failure")

        with Flow("f") as flow:
            broken()
        flow.run()
        errors = [
            r for r in records if r.levelno == logging.ERROR and r.name == "headwater.TaskRunner"
        ]
        assert errors and errors[0].exc_info[1].args == ("logged failure",)
        assert "Task 'broken'" in errors[0].getMessage()

    def test_root_logger_untouched_by_import_and_run(self):
        code = textwrap.dedent(
            """
            import logging
            root = logging.getLogger()
            before = (list(root.handlers), root.level, logging.getLogRecordFactory())
            import headwater
            from headwater import Flow, task

            @task(log_stdout=True)
            def hello():
                print("hi")
                hello.logger.info("log line")
                return 1

            with Flow("f") as flow:
                hello()
            assert flow.run().is_successful()
            after = (list(root.handlers), root.level, logging.getLogRecordFactory())
            assert before == after, (before, after)
            from headwater.history import HistoryLogHandler  # the run history's, besides

            own = logging.getLogger("headwater").handlers
            assert len([h for h in own if not isinstance(h, HistoryLogHandler)]) == 1, own
            print("ROOT-OK")
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert "ROOT-OK" in proc.stdout
        assert "log line" in proc.stderr


class TestPrefect1LoggingApi:
    def test_configure_logging_for_tests_uses_the_configuration_in_effect(self):
        from headwater.utilities.configuration import set_temporary_config
        from headwater.utilities.logging import CloudHandler, configure_logging

        with set_temporary_config({"logging.level": "DEBUG"}):
            logger = configure_logging(testing=True)
        assert logger.name == "headwater-test-logger" and logger.level == logging.DEBUG
        assert any(isinstance(h, CloudHandler) for h in logger.handlers)
        assert get_logger().name == "headwater"  # the real logger is left alone

    def test_records_of_the_headwater_logger_carry_only_the_set_context_keys(self):
        seen = {}

        class Look(logging.Filter):
            def filter(self, record):
                seen.update(record.__dict__)
                return True

        logger = get_logger()
        look = Look()
        logger.addFilter(look)
        try:
            with headwater.context(flow_run_id="fri", task_name="tn"):
                logger.warning("hello")
        finally:
            logger.removeFilter(look)
        assert seen["flow_run_id"] == "fri" and seen["task_name"] == "tn"
        assert "task_run_id" not in seen

    def test_log_records_are_batched_to_a_client_when_running_with_a_backend(self, monkeypatch):
        from headwater.utilities import logging as hw_logging
        from headwater.utilities.configuration import set_temporary_config

        sent = []

        class FakeClient:
            def write_run_logs(self, logs):
                sent.extend(logs)

        manager = hw_logging.LogManager()
        monkeypatch.setattr(headwater, "Client", FakeClient, raising=False)
        monkeypatch.setattr(hw_logging, "LOG_MANAGER", manager)
        overrides = {"cloud.send_flow_run_logs": True, "cloud.logging_heartbeat": 60}
        with set_temporary_config(overrides):
            logger = hw_logging.configure_logging(testing=True)
            with headwater.context(running_with_backend=True, flow_run_id="run-1"):
                logger.info("shipped %d", 1)
            logger.info("not shipped: no backend")
            manager.stop()
        assert [(log["message"], log["flow_run_id"]) for log in sent] == [("shipped 1", "run-1")]
        assert manager.thread is None and manager.client is None
