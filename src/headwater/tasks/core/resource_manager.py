"""Resource managers: set a resource up before a block of tasks and clean it up afterwards.

Decorate a class that has a ``setup()`` method (whose return value is the resource) and a
``cleanup(resource)`` method. Used as ``with Resource(...) as resource:`` inside a flow, it adds
three tasks — *init* (builds the object from the arguments), *setup* and *cleanup* — and orders
the tasks created in the block between setup and cleanup::

    import shutil
    import tempfile

    from headwater import Flow, resource_manager, task

    @resource_manager
    class ScratchDir:
        def __init__(self, prefix="scratch-"):
            self.prefix = prefix

        def setup(self):
            self.path = tempfile.mkdtemp(prefix=self.prefix)
            return self.path

        def cleanup(self, path):
            shutil.rmtree(path)

    @task
    def write(path, text):
        with open(f"{path}/note.txt", "w") as f:
            f.write(text)
        return len(text)

    with Flow("scratch") as flow:
        with ScratchDir(prefix="demo-") as path:
            written = write(path, "hello")

    assert flow.run().result[written].result == 5

Cleanup runs once every task in the block has finished, even when some of them failed; it is
skipped when setup failed or was skipped (there is nothing to clean up). Neither the init nor the
cleanup task decides the flow's final state: a flow whose body succeeded succeeds, a flow whose
body failed fails.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core import _task_init
from headwater.core.task import Task, TaskSignature
from headwater.engine import signals
from headwater.engine.state import State

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = [
    "ResourceCleanupTask",
    "ResourceContext",
    "ResourceInitTask",
    "ResourceManager",
    "ResourceSetupTask",
    "resource_cleanup_trigger",
    "resource_manager",
]


class ResourceInitTask(Task):
    """Builds the resource object: ``resource_class(**arguments)``.

    Its ``run()`` takes the arguments of ``resource_class.__init__``.
    """

    reference_by_default = False

    def __init__(self, resource_class: type, **kwargs: Any) -> None:
        self.resource_class = resource_class
        # the signature of calling the class: its __init__ arguments, without self
        self._signature = TaskSignature(
            resource_class, f"Resource {resource_class.__name__}", skip_self=False
        )
        super().__init__(**kwargs)

    def run(self, **kwargs: Any) -> Any:
        return self.resource_class(**kwargs)


class ResourceSetupTask(Task):
    """Calls ``mgr.setup()`` and returns the resource it gives.

    A run given its finished state sets the resource up again (``rerun_on_restart``).
    """

    rerun_on_restart = True

    def run(self, mgr: Any) -> Any:
        return mgr.setup()


def resource_cleanup_trigger(upstream_states: dict[Any, State]) -> bool:
    """Run cleanup once everything upstream finished; skip it if init or setup did not succeed."""
    for edge, state in upstream_states.items():
        step = {"mgr": "init", "resource": "setup"}.get(getattr(edge, "key", None) or "")
        if step is None:
            continue
        if state.is_skipped():
            raise signals.SKIP(f"Resource manager {step} skipped; there is nothing to clean up.")
        if not state.is_successful():
            raise signals.SKIP(f"Resource manager {step} failed; there is nothing to clean up.")
    from headwater.triggers import all_finished

    return all_finished(upstream_states)


class ResourceCleanupTask(Task):
    """Calls ``mgr.cleanup(resource)`` once the block's tasks have finished.

    A run given its finished state cleans up again (``rerun_on_restart``).
    """

    reference_by_default = False
    rerun_on_restart = True

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trigger", resource_cleanup_trigger)
        kwargs.setdefault("skip_on_upstream_skip", False)
        super().__init__(**kwargs)

    def run(self, mgr: Any, resource: Any = None) -> None:
        cleanup = getattr(mgr, "cleanup", None)
        if cleanup is not None:
            cleanup(resource)


class ResourceContext:
    """What calling a :class:`ResourceManager` in a flow returns: the three tasks, and a
    context manager ordering the tasks created inside it between setup and cleanup.

    Attributes:
        init_task: builds the resource object.
        setup_task: calls its ``setup()``; ``with ... as r`` gives this task (``None`` when the
            class has no ``setup``).
        cleanup_task: calls its ``cleanup(resource)``.
    """

    def __init__(
        self, init_task: Task, setup_task: Task | None, cleanup_task: Task, flow: Flow
    ) -> None:
        self.init_task = init_task
        self.setup_task = setup_task
        self.cleanup_task = cleanup_task
        self._flow = flow
        self._tasks: dict[Task, None] = {}
        self._context_managers: list[Any] = []

    def __repr__(self) -> str:
        return f"<ResourceContext: {self.init_task.name}>"

    def add_task(self, task: Task, flow: Flow) -> None:
        """Record ``task`` as created in this block (called by ``Flow.add_task`` and ``bind``).

        Raises:
            ValueError: ``task`` is added to a flow other than the resource's.
        """
        if flow is not self._flow:
            raise ValueError(
                f"Multiple flows cannot be used with the same resource block: {task!r} is added "
                f"to {flow!r}, but the resource {self.init_task.name!r} belongs to {self._flow!r}."
            )
        if task not in (self.init_task, self.setup_task, self.cleanup_task):
            self._tasks[task] = None

    def __enter__(self) -> Task | None:
        cm = _context(resource=self)
        cm.__enter__()
        self._context_managers.append(cm)
        return self.setup_task

    def __exit__(self, *exc_info: Any) -> None:
        self._context_managers.pop().__exit__(*exc_info)
        tasks, self._tasks = list(self._tasks), {}
        if exc_info[0] is not None:
            return
        flow, setup, cleanup = self._flow, self.setup_task, self.cleanup_task
        block = set(tasks)
        for child in tasks:
            upstream = flow.upstream_tasks(child)
            if setup is not None and setup not in upstream and block.isdisjoint(upstream):
                flow.add_edge(setup, child)
            if block.isdisjoint(flow.downstream_tasks(child)):
                flow.add_edge(child, cleanup)


class ResourceManager:
    """A resource class wrapped for use in flows (what :func:`resource_manager` returns).

    Calling it inside a flow with the arguments of the class's ``__init__`` (plain values or
    tasks) adds the init, setup and cleanup tasks and returns a :class:`ResourceContext`.

    Args:
        resource_class: a class, usually with ``setup()`` (returning the resource) and
            ``cleanup(resource)``; both are optional.
        name: the init task's name (default: the class name); setup and cleanup are named
            ``"<name>.setup"`` and ``"<name>.cleanup"``.
        init_task_kwargs: Task options for the init task.
        setup_task_kwargs: Task options for the setup task.
        cleanup_task_kwargs: Task options for the cleanup task.
    """

    def __init__(
        self,
        resource_class: type,
        name: str | None = None,
        init_task_kwargs: dict[str, Any] | None = None,
        setup_task_kwargs: dict[str, Any] | None = None,
        cleanup_task_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not inspect.isclass(resource_class):
            raise TypeError(
                "resource_manager decorates a class with setup() and cleanup(resource) methods; "
                f"got {type(resource_class).__name__}: {resource_class!r}"
            )
        setup = getattr(resource_class, "setup", None)
        if setup is not None and not callable(setup):
            raise TypeError(f"Resource class {resource_class.__name__}: setup must be a method.")
        cleanup = getattr(resource_class, "cleanup", None)
        if cleanup is not None and not callable(cleanup):
            raise TypeError(f"Resource class {resource_class.__name__}: cleanup must be a method.")
        self.resource_class = resource_class
        self.name = name if name is not None else resource_class.__name__
        # as in Prefect 1: setup and cleanup are never checkpointed, cleanup runs on its trigger
        self.init_task_kwargs = {"name": self.name, **(init_task_kwargs or {})}
        self.setup_task_kwargs = {
            "name": f"{self.name}.setup",
            "checkpoint": False,
            **(setup_task_kwargs or {}),
        }
        self.cleanup_task_kwargs = {
            "name": f"{self.name}.cleanup",
            "trigger": resource_cleanup_trigger,
            "skip_on_upstream_skip": False,
            "checkpoint": False,
            **(cleanup_task_kwargs or {}),
        }
        self.__doc__ = resource_class.__doc__
        self.__wrapped__ = resource_class
        # build the init task's signature now, so that a bad __init__ fails at decoration
        with _task_init.untracked():
            ResourceInitTask(resource_class, **self.init_task_kwargs)

    def __repr__(self) -> str:
        return f"<ResourceManager: {self.name}>"

    def __call__(self, *args: Any, flow: Flow | None = None, **kwargs: Any) -> ResourceContext:
        """Add the resource's tasks to ``flow`` (default: the active flow).

        Returns:
            a :class:`ResourceContext`; use it as ``with Resource(...) as resource:``.
        """
        if flow is None:
            flow = _context.get("flow")
        if flow is None:
            raise ValueError(
                f"Could not infer an active Flow context: {self.name}(...) adds tasks to a flow, "
                "but no flow is active. Use it inside "
                "`with Flow(...):` or pass flow=. To use the resource outside a flow, call "
                f"{self.name}.resource_class(...) directly."
            )
        init_task = ResourceInitTask(self.resource_class, **self.init_task_kwargs)
        with _task_init.untracked_on_error(init_task):
            init_task.bind(*args, flow=flow, **kwargs)
        setup_task: Task | None = None
        if getattr(self.resource_class, "setup", None) is not None:
            setup_task = ResourceSetupTask(**self.setup_task_kwargs).bind(mgr=init_task, flow=flow)
            cleanup_task = ResourceCleanupTask(**self.cleanup_task_kwargs).bind(
                mgr=init_task, resource=setup_task, flow=flow
            )
        else:
            cleanup_task = ResourceCleanupTask(**self.cleanup_task_kwargs).bind(
                mgr=init_task, flow=flow
            )
        return ResourceContext(init_task, setup_task, cleanup_task, flow)


def resource_manager(
    resource_class: type | None = None,
    name: str | None = None,
    init_task_kwargs: dict[str, Any] | None = None,
    setup_task_kwargs: dict[str, Any] | None = None,
    cleanup_task_kwargs: dict[str, Any] | None = None,
) -> Any:
    """Turn a class into a :class:`ResourceManager`; use bare or with options.

    ::

        @resource_manager
        class Connection: ...

        @resource_manager(name="db", setup_task_kwargs={"max_retries": 2,
                                                        "retry_delay": timedelta(seconds=1)})
        class Database: ...

    Args:
        resource_class: the class (when used bare).
        name: the init task's name (default: the class name).
        init_task_kwargs: Task options for the init task.
        setup_task_kwargs: Task options for the setup task.
        cleanup_task_kwargs: Task options for the cleanup task.
    """
    options: dict[str, Any] = {
        "name": name,
        "init_task_kwargs": init_task_kwargs,
        "setup_task_kwargs": setup_task_kwargs,
        "cleanup_task_kwargs": cleanup_task_kwargs,
    }
    if resource_class is None:

        def decorator(cls: type) -> ResourceManager:
            return ResourceManager(cls, **options)

        return decorator
    return ResourceManager(resource_class, **options)
