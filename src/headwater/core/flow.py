"""Flows: a graph of tasks and the edges between them.

Build one with the functional API (call tasks inside ``with Flow(...)``) or the imperative API
(``add_task``, ``add_edge``, ``set_dependencies``, ``chain``), then ``flow.run()``::

    from headwater import Flow, Parameter, task

    @task
    def double(x):
        return 2 * x

    with Flow("example") as flow:
        n = Parameter("n", default=2)
        result = double(n)

    state = flow.run(n=21)
    assert state.result[result].result == 42

The tasks and edges live in ``flow.graph``, a :class:`~headwater.core.graph.TaskGraph` whose
``version`` increases with every change. All graph queries are O(tasks + edges) or better:
upstream/downstream edges are indexed per task and the topological order is computed once per
graph version. The methods come in layers: graph queries (:mod:`headwater.core._flow_graph`),
adding tasks and edges (:mod:`headwater.core._flow_building`), whole-flow changes
(:mod:`headwater.core._flow_editing`) and, here, the flow's options, runs, display and storage.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core import _flow_services, _options
from headwater.core import _task_init as _init
from headwater.core._flow_editing import FlowEditing
from headwater.core.edge import Edge
from headwater.core.graph import TaskGraph
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.engine.state import State

__all__ = ["Flow"]


class Flow(FlowEditing):
    """A workflow: tasks plus the edges (dependencies and data) between them.

    Args:
        name: the flow's name (required, non-empty).
        schedule: a :class:`~headwater.schedules.Schedule` that ``flow.run()`` follows.
        executor: the default executor for this flow's runs.
        run_config: a :mod:`~headwater.run_configs` run config, kept as metadata.
        storage: where ``flow.save``/``Flow.load`` keep the flow.
        tasks: tasks to add.
        edges: edges to add.
        reference_tasks: tasks whose states decide the flow's final state
            (default: the terminal tasks).
        state_handlers: ``fn(flow, old_state, new_state) -> Optional[State]``.
        on_failure: ``fn(flow, state)`` called when the flow run fails.
        validate: check each edge for cycles as it is added (default
            ``config.flows.eager_edge_validation``).
        result: default :class:`~headwater.engine.result.Result` for the flow's tasks.
        terminal_state_handler: ``fn(flow, state, reference_task_states) -> Optional[State]``
            that may replace the final state.
        cache_dir: directory of a persistent cache for this flow's cached tasks.
        history: record this flow's runs in the run history (``True``), keep them out
            (``False``), or as ``history.enabled`` says (``None``, the default);
            ``flow.run(history=...)`` decides for one run (see :mod:`headwater.history`).
    """

    run_config: Any = None  # also the value for flows pickled before run configs existed
    history: bool | None = None  # and for flows pickled before the history option existed

    def __init__(
        self,
        name: str,
        schedule: Any = None,
        executor: Any = None,
        run_config: Any = None,
        storage: Any = None,
        tasks: Iterable[Task] | None = None,
        edges: Iterable[Edge] | None = None,
        reference_tasks: Iterable[Task] | None = None,
        state_handlers: list[Callable[..., Any]] | None = None,
        on_failure: Callable[..., Any] | None = None,
        validate: bool | None = None,
        result: Any = None,
        terminal_state_handler: Callable[..., Any] | None = None,
        cache_dir: str | None = None,
        *,
        history: bool | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A Flow needs a non-empty string name, got {name!r}")
        self.name = name
        owner = f"Flow {name!r}"
        if history is not None and not isinstance(history, bool):
            raise TypeError(
                f"{owner}: history must be True, False or None (as history.enabled says), "
                f"got {type(history).__name__} {history!r}."
            )
        if history is not None:
            self.history = history
        _options.check_schedule(schedule, owner)
        _options.check_executor(executor, owner)
        _options.check_result(result, owner)
        self.schedule = schedule
        self.executor = executor
        self.run_config = run_config
        self.storage = storage
        self.result = result
        self.cache_dir = cache_dir
        self.state_handlers = _options.check_callables(
            state_handlers, "state_handlers", owner, "fn(flow, old_state, new_state)"
        )
        _options.check_callable(on_failure, "on_failure", owner, "fn(flow, state)")
        _options.check_callable(terminal_state_handler, "terminal_state_handler", owner)
        self.on_failure = on_failure
        self.terminal_state_handler = terminal_state_handler
        if validate is None:
            from headwater.configuration import setting

            validate = bool(setting("flows.eager_edge_validation"))
        self.validate_edges = validate

        self.graph = TaskGraph()
        self.constants = collections.defaultdict(dict)
        self.slugs = {}
        self._slug_counts = collections.Counter()
        self._taken_slugs = set()
        self._reference_tasks = set()
        self._validated = None  # (graph version, tasks, edges) when last validated
        self._context_cm = []

        for t in tasks or ():
            self.add_task(t)
        for e in edges or ():
            self.add_edge(
                e.upstream_task,
                e.downstream_task,
                key=e.key,
                mapped=e.mapped,
                flattened=e.flattened,
            )
        self.set_reference_tasks(reference_tasks or [])

    # -- basics ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<Flow: name={self.name!r}>"

    def __iter__(self) -> Iterator[Task]:
        return iter(self.sorted_tasks())

    def __len__(self) -> int:
        return len(self.tasks)

    def __eq__(self, other: object) -> bool:
        # as in Prefect 1: same name, tasks, edges and reference tasks (flows still hash by id)
        if type(self) is not type(other) or not isinstance(other, Flow):
            return False
        return (self.name, self.tasks, self.edges, self.reference_tasks()) == (
            other.name,
            other.tasks,
            other.edges,
            other.reference_tasks(),
        )

    __hash__ = object.__hash__

    @property
    def logger(self) -> logging.Logger:
        """The ``"headwater.<flow name>"`` logger."""
        from headwater.utilities.logging import get_logger

        return get_logger(self.name)

    def __enter__(self) -> Flow:
        # Tasks created in the block are tracked, to warn about those never added to the flow.
        tracker: set[Task] = set()
        cm = _context(flow=self, **{_init.TRACKER_KEY: tracker})
        cm.__enter__()
        self._context_cm.append((cm, tracker))
        return self

    def __exit__(self, *exc: Any) -> None:
        cm, tracker = self._context_cm.pop()
        cm.__exit__(*exc)
        if exc[0] is None:
            _init.unused_tasks_warning(self, tracker)

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["_context_cm"] = []
        d["constants"] = dict(self.constants)
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        if "graph" not in d:
            d = _from_indexes(d)  # pickled before the flow kept a TaskGraph
        self.__dict__.update(d)
        consts: dict[Task, dict[str, Any]] = collections.defaultdict(dict)
        consts.update(d.get("constants", {}))
        self.constants = consts

    # -- running --------------------------------------------------------------------------
    def run(
        self,
        parameters: dict[str, Any] | None = None,
        run_on_schedule: bool | None = None,
        runner_cls: type | None = None,
        **kwargs: Any,
    ) -> State:
        """Run the flow in this process and return its final state.

        Keyword arguments named like the flow's parameters are parameters; the rest go to
        :meth:`FlowRunner.run` (``executor``, ``context``, ``task_states``, ``task_contexts``,
        ``return_tasks``, ``task_runner_state_handlers``); ``history=False`` keeps this run out
        of the run history (see :mod:`headwater.history`).
        """
        from headwater.engine.flow_run import run_flow

        return run_flow(
            self,
            parameters=parameters,
            run_on_schedule=run_on_schedule,
            runner_cls=runner_cls,
            **kwargs,
        )

    # -- display --------------------------------------------------------------------------
    def to_dot(self, flow_state: State | None = None) -> str:
        """The graph in Graphviz DOT text (no system binary needed)."""
        from headwater.utilities.graph import flow_to_dot

        return flow_to_dot(self, flow_state)

    def to_mermaid(self, flow_state: State | None = None) -> str:
        """The graph as a Mermaid flowchart."""
        from headwater.utilities.graph import flow_to_mermaid

        return flow_to_mermaid(self, flow_state)

    def to_svg(self, flow_state: State | None = None) -> str:
        """The graph as SVG text, drawn by headwater itself (no Graphviz needed).

        It is what a notebook shows for the flow; ``flow_state`` colours each task by its state.
        """
        from headwater.utilities.graph import flow_to_svg

        return flow_to_svg(self, flow_state)

    def visualize(
        self,
        flow_state: State | None = None,
        filename: str | None = None,
        format: str | None = None,
    ) -> Any:
        """A ``graphviz.Digraph`` of the flow (needs the ``graphviz`` package).

        Without Graphviz's ``dot`` program it logs one line and falls back on headwater's own
        SVG drawing: the graph displays as it, and ``filename`` gets ``filename + ".svg"``
        (a format other than ``"svg"`` is then a ``RuntimeError``).
        """
        from headwater.utilities.graph import visualize

        return visualize(self, flow_state=flow_state, filename=filename, format=format)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter's display: headwater's SVG drawing, the Mermaid chart and the repr."""
        from headwater.utilities.graph import flow_mimebundle

        return flow_mimebundle(self, include, exclude)

    # -- storage --------------------------------------------------------------------------
    def save(self, fpath: str | None = None) -> str:
        """Pickle the flow (with headwater and Python versions) to ``fpath``; returns the path."""
        from headwater.storage.serialize import save_flow

        return save_flow(self, fpath)

    @classmethod
    def load(cls, fpath: str) -> Flow:
        """Load a flow saved with :meth:`save` (a path, or a flow name in the default place)."""
        from headwater.storage.serialize import load_flow

        return load_flow(fpath)

    # -- serialization and services -------------------------------------------------------
    def serialize(self, build: bool = False) -> dict[str, Any]:
        """The flow as a JSON-compatible dict in Prefect 1's ``FlowSchema`` shape.

        Args:
            build: add the flow to its storage (if it is not there yet) and build the storage
                first.

        Raises:
            ValueError: the graph is invalid (e.g. it has a cycle), or ``build`` is set and the
                flow has no storage.
            SerializationError: a parameter default or other value is not JSON compatible.
        """
        return _flow_services.serialize(self, build)

    def serialized_hash(self, build: bool = False) -> str:
        """The SHA-256 of :meth:`serialize` as sorted JSON: equal flows hash equally in any
        process (the task code is not part of it)."""
        return _flow_services.serialized_hash(self, build)

    def diagnostics(self, include_secret_names: bool = False) -> str:
        """JSON text describing the system, the configuration overrides and this flow."""
        return _flow_services.diagnostics(self, include_secret_names)

    def register(
        self,
        project_name: str | None = None,
        build: bool = True,
        labels: list[str] | None = None,
        set_schedule_active: bool = True,
        version_group_id: str | None = None,
        no_url: bool = False,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> str | None:
        """Register the flow on this machine, for ``headwater serve`` to run (Prefect 1
        registered it with its server).

        The flow is prepared as Prefect 1 did it (default storage built with ``**kwargs``, a
        ``UniversalRun`` run config, the storage's labels and result). With no server (the
        ``headwater.Client`` lookup finds none), the flow is kept in its storage (by default
        a file under ``{home_dir}/flows``) and a version of it is recorded in the run
        history: a new version when it changed since the last registration (or when
        ``idempotency_key`` differs from the last one's). ``headwater serve`` then runs it on
        its schedule (unless ``set_schedule_active=False``) and lets the UI start it.

        Returns:
            The registered version's id; a line says how to run it unless ``no_url``.

        Raises:
            ValueError: called inside the flow's ``with`` block, or ``build=False`` and the
                flow is not in its storage.
            FlowStorageError: the storage is one headwater keeps as metadata only (S3, GCS,
                Docker...), from which it could not load the flow back.
        """
        return _flow_services.register(
            self,
            project_name=project_name,
            build=build,
            labels=labels,
            set_schedule_active=set_schedule_active,
            version_group_id=version_group_id,
            no_url=no_url,
            idempotency_key=idempotency_key,
            **kwargs,
        )

    def run_agent(
        self,
        token: str | None = None,
        show_flow_logs: bool = False,
        log_to_cloud: bool | None = None,
        api_key: str | None = None,
    ) -> None:
        """Prefect 1 ran a server agent for this flow; headwater, with no server to poll, runs
        the flow on its schedule in this process.

        The agent is looked up as ``headwater.agent.local.LocalAgent`` and given the run
        config's labels, as in Prefect 1. The stock agent needs a server; without one, the
        flow runs on its schedule here (as ``flow.run()`` does, every run recorded in the run
        history even where recording is off) until the schedule ends or Ctrl-C.
        ``headwater serve`` serves the registered flows, with the UI.

        Raises:
            ServerNotAvailableError: the flow has no schedule, so nothing would start a run.
        """
        _flow_services.run_agent(
            self,
            token=token,
            show_flow_logs=show_flow_logs,
            log_to_cloud=log_to_cloud,
            api_key=api_key,
        )


def _from_indexes(d: dict[str, Any]) -> dict[str, Any]:
    """The state of a flow pickled with its graph indexes as attributes, with a graph instead."""
    d = dict(d)
    graph = TaskGraph()
    order = d.pop("_order", {})
    up = d.pop("_up", {})
    tasks = d.pop("tasks", set())
    for t in sorted(tasks, key=lambda t: order.get(t, 0)):
        graph.add_task(t)
    for t in tasks:
        for e in up.get(t, ()):
            graph.add_task(e.upstream_task)
            graph.add_edge(e)
    for key in ("edges", "_down", "_bound_keys", "_cache", "_validated_edges", "_derived_cache"):
        d.pop(key, None)
    d["graph"] = graph
    d["_validated"] = None
    return d
