"""``DaskExecutor`` options: where the cluster comes from, worker events, performance reports.

- :func:`cluster_options` settles ``address`` / ``cluster_class`` / ``cluster_kwargs`` as
  Prefect Core 1.x does: an address (given, or ``config.engine.executor.dask.address``) means a
  running scheduler, and then no cluster class or arguments may be given; otherwise the class
  defaults to ``config.engine.executor.dask.cluster_class`` (``distributed.LocalCluster``), and
  a ``LocalCluster``'s logs are silenced below ``CRITICAL`` (``WARNING`` with ``debug``);
- :class:`WorkerEventLog` logs the workers the scheduler adds and removes during a run;
- :func:`read_report` reads the HTML performance report a run wrote;
- :class:`DaskOptions` gives ``DaskExecutor`` the attributes built on these.

distributed is imported inside the functions, never by ``import headwater``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "DaskOptions",
    "WorkerEventLog",
    "cluster_options",
    "is_local_cluster",
    "qualified_name",
    "read_report",
]

_LOCAL_CLUSTER_NAMES = frozenset(
    {
        "distributed.LocalCluster",
        "distributed.deploy.LocalCluster",
        "distributed.deploy.local.LocalCluster",
        "dask.distributed.LocalCluster",
    }
)


def is_local_cluster(cluster_class: Any) -> bool:
    """Whether ``cluster_class`` (a class or a dotted path) is ``distributed.LocalCluster`` or a
    subclass; a dotted path is not imported to find out."""
    if isinstance(cluster_class, str):
        return cluster_class in _LOCAL_CLUSTER_NAMES
    distributed = sys.modules.get("distributed")
    local = getattr(distributed, "LocalCluster", None)
    return (
        isinstance(cluster_class, type) and local is not None and issubclass(cluster_class, local)
    )


def cluster_options(
    address: str | None,
    cluster_class: Any,
    cluster_kwargs: dict[str, Any] | None,
    debug: bool,
    dask_conf: Any,
) -> tuple[str | None, Any, dict[str, Any] | None]:
    """``(address, cluster_class, cluster_kwargs)`` as the executor keeps them.

    Raises:
        ValueError: an address together with ``cluster_class`` or ``cluster_kwargs``.
    """
    from_config = False
    if address is None:
        address = dask_conf.get("address") or None
        from_config = address is not None
    if address is not None:
        if cluster_class is not None or cluster_kwargs is not None:
            where = " (from config.engine.executor.dask.address)" if from_config else ""
            raise ValueError(
                f"DaskExecutor: address={address!r}{where} connects to a running scheduler, so "
                "cluster_class and cluster_kwargs (which describe a temporary cluster) cannot be "
                "given too; pass one or the other."
            )
        return address, None, None
    if cluster_class is None:
        cluster_class = dask_conf.get("cluster_class") or "distributed.LocalCluster"
    kwargs = dict(cluster_kwargs or {})
    if is_local_cluster(cluster_class):
        kwargs.setdefault("silence_logs", logging.WARNING if debug else logging.CRITICAL)
    return address, cluster_class, kwargs


def qualified_name(obj: Any) -> str:
    """``module.QualifiedName`` of a class or function (its repr for anything else)."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or repr(obj)
    return f"{module}.{name}" if module else name


def read_report(path: str | None, logger: logging.Logger) -> str:
    """The text of the performance report at ``path`` (``""`` if there is none to read)."""
    if path is None:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        logger.warning("Could not read the Dask performance report at %r: %s", path, exc)
        return ""


class WorkerEventLog:
    """Logs (at debug level) each worker the scheduler adds or removes while it is active.

    It subscribes the run's client to the scheduler's ``"all"`` event topic, where ``distributed``
    reports ``add-worker`` and ``remove-worker`` actions, and waits (up to ``timeout`` seconds)
    until the scheduler has the subscription, so that every change after ``start()`` is seen;
    :meth:`stop` unsubscribes.
    """

    topic = "all"

    def __init__(self, client: Any, logger: logging.Logger, timeout: float = 5.0) -> None:
        import threading
        import time
        import uuid

        self.client = client
        self.logger = logger
        n = len(client.scheduler_info().get("workers", {}))
        logger.debug("There are currently %d workers", n)
        client.subscribe_topic(self.topic, self)
        # a topic of our own, subscribed to after "all" on the same stream: once a message
        # logged on it comes back, the scheduler has both subscriptions
        ready = threading.Event()
        marker = f"headwater-watch-{uuid.uuid4().hex}"
        client.subscribe_topic(marker, lambda event: ready.set())
        deadline = time.monotonic() + timeout
        while not ready.is_set() and time.monotonic() < deadline:
            client.log_event(marker, "subscribed")
            ready.wait(0.02)
        client.unsubscribe_topic(marker)

    def __call__(self, event: Any) -> None:
        try:
            _, msg = event
            action = msg.get("action")
        except (TypeError, ValueError, AttributeError):
            return
        if action == "add-worker":
            self.logger.debug("Worker %s added", msg.get("worker"))
        elif action == "remove-worker":
            self.logger.debug("Worker %s removed", msg.get("worker"))

    def stop(self) -> None:
        """Stop listening (best effort: the client may already be closing)."""
        try:
            self.client.unsubscribe_topic(self.topic)
        except Exception:  # tearing down
            pass


class DaskOptions:
    """``DaskExecutor``'s ``cluster_class``, ``performance_report``, call keys and run logs."""

    _cluster_class: Any
    _key_prefix: str
    _counter: Any
    _watch_dask_events_task: WorkerEventLog | None
    address: str | None
    adapt_kwargs: dict[str, Any]
    client: Any
    cluster: Any
    performance_report_path: str | None
    watch_worker_status: bool | None

    def _log_connecting(self) -> None:
        """Log where the run's cluster comes from (before the client connects)."""
        from headwater.utilities.logging import get_logger

        logger = get_logger("DaskExecutor")
        if self.address:
            logger.info("Connecting to an existing Dask cluster at %s", self.address)
        else:
            cls = qualified_name(self.cluster_class)
            logger.info("Creating a new Dask cluster with `%s`...", cls)

    @contextmanager
    def _run_extras(self) -> Iterator[None]:
        """While started: the dashboard link, worker events and the performance report."""
        from headwater.utilities.logging import get_logger

        logger = get_logger("DaskExecutor")
        link = getattr(self.cluster, "dashboard_link", None) if self.cluster is not None else None
        if link:
            logger.info("The Dask dashboard is available at %s", link)
        watch = self.watch_worker_status
        if watch or (watch is None and not self.adapt_kwargs):
            self._watch_dask_events_task = WorkerEventLog(self.client, logger)
        if not self.performance_report_path:
            yield
            return
        import importlib.util

        if importlib.util.find_spec("bokeh") is None:
            raise ImportError(
                f"DaskExecutor(performance_report_path={self.performance_report_path!r}) needs "
                "bokeh to write dask's performance report: pip install bokeh, or leave "
                "performance_report_path unset."
            )
        from distributed import performance_report

        # the report finds the client as the current one
        report = performance_report(filename=self.performance_report_path)  # type: ignore[no-untyped-call]
        with self.client.as_current(), report:
            yield

    @property
    def cluster_class(self) -> Any:
        """The temporary cluster's class (``None`` with an address); a dotted path is imported."""
        cls = self._cluster_class
        if isinstance(cls, str):
            from headwater.executors._cluster_calls import import_object

            cls = self._cluster_class = import_object(cls)
        return cls

    @cluster_class.setter
    def cluster_class(self, value: Any) -> None:
        self._cluster_class = value

    @property
    def performance_report(self) -> str:
        """The HTML performance report the last run wrote (``""`` if there is none)."""
        from headwater.utilities.logging import get_logger

        return read_report(self.performance_report_path, get_logger("DaskExecutor"))

    def _prep_dask_kwargs(
        self, extra_context: dict[str, Any] | None = None, fallback: str = "call"
    ) -> dict[str, Any]:
        """The ``key`` (and ``resources``, from ``dask-resource:NAME=N`` tags) of a call.

        The key is ``<task name>[-<task index>]-<id>`` (``<fallback>-<id>`` without a name).
        """
        from headwater.executors._cluster_calls import parse_resources, readable_key

        ident = f"{self._key_prefix}{next(self._counter):016x}"
        out: dict[str, Any] = {"key": readable_key(extra_context, ident)}
        if out["key"] is None:
            out["key"] = f"{fallback}-{ident}"
        if extra_context and extra_context.get("task_tags"):
            resources = parse_resources(extra_context["task_tags"])
            if resources:
                out["resources"] = resources
        return out
