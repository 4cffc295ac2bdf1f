"""What a ``Flow`` offers beyond its graph and its runs: serialization, diagnostics, and the
server-side entry points of Prefect 1 (``register``, ``run_agent``).

``flow.serialize()`` gives the JSON-compatible dict of :class:`~headwater.serialization.flow.
FlowSchema` and ``flow.serialized_hash()`` its SHA-256, the same in every process::

    from headwater import Flow, Task

    flow = Flow("example", tasks=[Task(name="a")])
    assert flow.serialized_hash() == flow.copy().serialized_hash()
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["FlowServices"]

_REGISTER_INSTEAD = (
    "run the flow here with flow.run() (it follows its schedule in-process), and keep it with "
    "flow.save() / Flow.load() or headwater.storage.Local"
)


class FlowServices:
    """Mixed into :class:`~headwater.core.flow.Flow`."""

    run_config: Any = None  # also the value for flows pickled before run configs existed

    def serialize(self: Flow, build: bool = False) -> dict[str, Any]:  # type: ignore[misc]
        """The flow as a JSON-compatible dict in Prefect 1's ``FlowSchema`` shape.

        Args:
            build: add the flow to its storage (if it is not there yet) and build the storage
                first.

        Raises:
            ValueError: the graph is invalid (e.g. it has a cycle), or ``build`` is set and the
                flow has no storage.
            SerializationError: a parameter default or other value is not JSON compatible.
        """
        from headwater.serialization.flow import FlowSchema, canonical_slugs
        from headwater.serialization.storage import StorageSchema

        self.validate()
        slugs = canonical_slugs(self)
        serialized = FlowSchema(exclude=["storage"], context={"slugs": slugs}).dump(self)
        storage = self.storage
        if build:
            if storage is None:
                raise ValueError(
                    f"Flow {self.name!r} has no storage to build; give Flow(..., storage=...) "
                    "or set flow.storage first."
                )
            if self.name not in storage:
                storage.add_flow(self)
            else:
                warnings.warn(
                    "A flow with the same name is already contained in storage; if you "
                    "changed your Flow since the last build, you might experience unexpected "
                    "issues and should re-create your storage object.",
                    UserWarning,
                    stacklevel=2,
                )
            storage = storage.build()
        serialized["storage"] = None if storage is None else StorageSchema().dump(storage)
        return serialized

    def serialized_hash(self: Flow, build: bool = False) -> str:  # type: ignore[misc]
        """The SHA-256 of :meth:`serialize` as sorted JSON: equal flows hash equally in any
        process (the task code is not part of it)."""
        import hashlib
        import json

        text = json.dumps(self.serialize(build), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def diagnostics(self: Flow, include_secret_names: bool = False) -> str:  # type: ignore[misc]
        """JSON text describing the system, the configuration overrides and this flow."""
        from headwater.utilities.diagnostics import diagnostic_info

        return diagnostic_info(self, include_secret_names)

    def register(  # type: ignore[misc]
        self: Flow,
        project_name: str | None = None,
        build: bool = True,
        labels: list[str] | None = None,
        set_schedule_active: bool = True,
        version_group_id: str | None = None,
        no_url: bool = False,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> str | None:
        """Prefect 1's registration with its server, which headwater does not have.

        The flow is prepared as Prefect 1 did it (default storage built with ``**kwargs``, a
        ``UniversalRun`` run config, the storage's labels and result), then registering
        needs a server and raises.

        Raises:
            ValueError: called inside the flow's ``with`` block.
            ServerNotAvailableError: no server to register with.
        """
        import headwater
        from headwater.context import context
        from headwater.exceptions import ServerNotAvailableError
        from headwater.run_configs import UniversalRun
        from headwater.storage import get_default_storage_class

        flow: Any = self  # Flow's attributes are set in Flow.__init__
        if context.get("flow") is self:
            raise ValueError(
                "Don't call `flow.register()` from within a `Flow` context manager; call it "
                "after the `with Flow(...) as flow:` block."
            )
        if context.get("loading_flow", False):
            warnings.warn(
                "flow.register() is called while a flow file is being loaded; it does nothing.",
                stacklevel=2,
            )
            return None
        if flow.storage is None:
            flow.storage = get_default_storage_class()(**kwargs)
        if flow.run_config is None:
            flow.run_config = UniversalRun()
        flow.run_config.labels.update(flow.storage.labels)
        flow.run_config.labels.update(labels or ())
        if not flow.result:
            flow.result = flow.storage.result
        try:
            client = headwater.Client()
        except ServerNotAvailableError:
            raise ServerNotAvailableError.for_feature(
                "flow.register()", _REGISTER_INSTEAD
            ) from None
        return client.register(  # type: ignore[no-any-return]
            flow=self,
            build=build,
            project_name=project_name,
            set_schedule_active=set_schedule_active,
            version_group_id=version_group_id,
            no_url=no_url,
            idempotency_key=idempotency_key,
        )

    def run_agent(  # type: ignore[misc]
        self: Flow,
        token: str | None = None,
        show_flow_logs: bool = False,
        log_to_cloud: bool | None = None,
        api_key: str | None = None,
    ) -> None:
        """Prefect 1 ran a server agent for this flow; headwater has no server.

        The agent is looked up as ``headwater.agent.local.LocalAgent`` and given the run
        config's labels, as in Prefect 1; the stock agent needs a server and raises.

        Raises:
            ServerNotAvailableError: no server; run the flow with ``flow.run()``.
        """
        import headwater.agent.local
        from headwater.exceptions import ServerNotAvailableError

        run_config = self.run_config
        labels = list(run_config.labels or ()) if run_config is not None else []
        try:
            agent = headwater.agent.local.LocalAgent(labels=labels, show_flow_logs=show_flow_logs)
        except ServerNotAvailableError:
            raise ServerNotAvailableError.for_feature(
                "flow.run_agent()",
                "run the flow with flow.run(); with a schedule it keeps running on that schedule",
            ) from None
        agent.start()
