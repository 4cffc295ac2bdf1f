"""Prefect Core 1.x's executor options: scheduler names, call keys, cluster options, reports."""

from __future__ import annotations

import logging
import re

import pytest

from headwater.executors import DaskExecutor, LocalDaskExecutor


class TestLocalDaskExecutorNames:
    @pytest.mark.parametrize(
        ("given", "normal"),
        [("THREADS", "threads"), ("multiprocessing", "processes"), ("sync", "synchronous")],
    )
    def test_normalize_scheduler(self, given, normal):
        assert LocalDaskExecutor._normalize_scheduler(given) == normal
        assert LocalDaskExecutor(given).scheduler == normal

    def test_unknown_scheduler(self):
        with pytest.raises(ValueError, match="'nope'"):
            LocalDaskExecutor._normalize_scheduler("nope")

    def test_keys_name_the_task_and_index(self):
        ex = LocalDaskExecutor("synchronous")
        with ex.start():
            a = ex.submit(lambda x: x, 1, extra_context={"task_name": "inc"})
            b = ex.submit(lambda x: x, 2, extra_context={"task_name": "inc", "task_index": 3})
            assert a.key.startswith("inc-") and b.key.startswith("inc-3-")
            assert ex.wait([a, b]) == [1, 2]

    def test_a_future_computes_its_value(self):
        ex = LocalDaskExecutor("threads", num_workers=2)
        with ex.start():
            fut = ex.submit(pow, 2, 5)
            assert fut.compute(scheduler="sync") == 32


class TestDaskExecutorOptions:
    def test_address_and_a_cluster_are_exclusive(self):
        with pytest.raises(
            ValueError, match="address='tcp://1.2.3.4:8786'.*cluster_class.*cannot be given"
        ):
            DaskExecutor(address="tcp://1.2.3.4:8786", cluster_class="distributed.LocalCluster")

    def test_with_an_address_there_is_no_cluster(self):
        ex = DaskExecutor(address="tcp://1.2.3.4:8786")
        assert ex.cluster_class is None and ex.cluster_kwargs is None
        assert ex.client_kwargs == {"set_as_default": False}

    @pytest.mark.parametrize(
        ("debug", "level"), [(False, logging.CRITICAL), (True, logging.WARNING)]
    )
    def test_local_cluster_logs(self, debug, level):
        ex = DaskExecutor(debug=debug, cluster_kwargs={"processes": False})
        assert ex.cluster_kwargs == {"processes": False, "silence_logs": level}

    def test_cluster_class_by_name_is_imported_when_read(self):
        import distributed

        ex = DaskExecutor(cluster_class="distributed.deploy.spec.SpecCluster")
        assert ex.cluster_kwargs == {}
        assert ex.cluster_class is distributed.deploy.spec.SpecCluster

    def test_call_keys_and_resources(self):
        kwargs = DaskExecutor()._prep_dask_kwargs(
            {"task_name": "fish", "task_index": 1, "task_tags": ["dask-resource:GPU=1"]}
        )
        assert kwargs["key"].startswith("fish-1-")
        assert kwargs["resources"] == {"GPU": 1.0}

    def test_performance_report(self, tmp_path):
        assert DaskExecutor().performance_report == ""
        assert DaskExecutor(performance_report_path=str(tmp_path / "none")).performance_report == ""
        (tmp_path / "old.html").write_text("an old report")
        old = DaskExecutor(performance_report_path=str(tmp_path / "old.html"))
        assert old.performance_report == "an old report"

    def test_a_run_writes_its_performance_report(self, tmp_path):
        path = tmp_path / "report.html"
        try:
            import bokeh  # noqa: F401
        except ImportError:
            ex = DaskExecutor(
                cluster_kwargs={"processes": False}, performance_report_path=str(path)
            )
            with pytest.raises(ImportError, match="needs bokeh"):
                with ex.start():
                    pass
            return
        ex = DaskExecutor(cluster_kwargs={"processes": False}, performance_report_path=str(path))
        with ex.start():
            assert ex.wait(ex.submit(lambda x: x + 1, 1)) == 2
        assert "<html" in ex.performance_report.lower()

    def test_start_logs_where_the_cluster_comes_from(self, caplog):
        caplog.set_level(logging.INFO)
        ex = DaskExecutor(cluster_kwargs={"processes": False, "n_workers": 1})
        with ex.start():
            assert ex._futures is not None
        assert ex._futures is None
        assert "Creating a new Dask cluster with `distributed.deploy.local.LocalCluster`" in (
            caplog.text
        )

    def test_worker_events_are_logged(self, caplog, wait_for):
        import distributed

        caplog.set_level(logging.DEBUG, logger="headwater")
        with distributed.Client(n_workers=1, processes=False, set_as_default=False) as client:
            ex = DaskExecutor(address=client.scheduler.address)
            with ex.start():
                assert ex._watch_dask_events_task is not None
                client.cluster.scale(2)
                wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 30, "a worker")
                wait_for(
                    lambda: any(
                        re.match("Worker .+ added", r.getMessage()) for r in caplog.records
                    ),
                    30,
                    "the log of the new worker",
                )
            assert ex._watch_dask_events_task is None

    def test_no_worker_events_when_adapting_unless_asked(self):
        import distributed

        with distributed.Client(n_workers=1, processes=False, set_as_default=False) as client:
            ex = DaskExecutor(address=client.scheduler.address, adapt_kwargs={"maximum": 2})
            with ex.start():
                assert ex._watch_dask_events_task is None
            ex = DaskExecutor(address=client.scheduler.address, watch_worker_status=False)
            with ex.start():
                assert ex._watch_dask_events_task is None
