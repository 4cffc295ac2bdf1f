"""What a ``Flow`` offers beyond its graph and its runs: serialization, diagnostics, and the
server-side entry points of Prefect 1 (``register``, ``run_agent``).

The :class:`~headwater.core.flow.Flow` methods of the same names call these functions.

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

__all__ = ["diagnostics", "register", "run_agent", "serialize", "serialized_hash"]

_REGISTER_INSTEAD = (
    "run the flow here with flow.run() (it follows its schedule in-process), and keep it with "
    "flow.save() / Flow.load() or headwater.storage.Local"
)


def serialize(flow: Flow, build: bool = False) -> dict[str, Any]:
    """What :meth:`Flow.serialize <headwater.core.flow.Flow.serialize>` does."""
    from headwater.serialization.flow import FlowSchema, canonical_slugs
    from headwater.serialization.storage import StorageSchema

    flow.validate()
    slugs = canonical_slugs(flow)
    serialized = FlowSchema(exclude=["storage"], context={"slugs": slugs}).dump(flow)
    storage = flow.storage
    if build:
        if storage is None:
            raise ValueError(
                f"Flow {flow.name!r} has no storage to build; give Flow(..., storage=...) "
                "or set flow.storage first."
            )
        if flow.name not in storage:
            storage.add_flow(flow)
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


def serialized_hash(flow: Flow, build: bool = False) -> str:
    """What :meth:`Flow.serialized_hash <headwater.core.flow.Flow.serialized_hash>` does."""
    import hashlib
    import json

    text = json.dumps(serialize(flow, build), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def diagnostics(flow: Flow, include_secret_names: bool = False) -> str:
    """What :meth:`Flow.diagnostics <headwater.core.flow.Flow.diagnostics>` does."""
    from headwater.utilities.diagnostics import diagnostic_info

    return diagnostic_info(flow, include_secret_names)


def register(
    flow: Flow,
    project_name: str | None = None,
    build: bool = True,
    labels: list[str] | None = None,
    set_schedule_active: bool = True,
    version_group_id: str | None = None,
    no_url: bool = False,
    idempotency_key: str | None = None,
    **kwargs: Any,
) -> str | None:
    """What :meth:`Flow.register <headwater.core.flow.Flow.register>` does."""
    import headwater
    from headwater.context import context
    from headwater.exceptions import ServerNotAvailableError
    from headwater.run_configs import UniversalRun
    from headwater.storage import get_default_storage_class

    if context.get("flow") is flow:
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
    make_client: Any = headwater.Client  # looked up on the package, where it can be replaced
    try:
        client = make_client()
    except ServerNotAvailableError:
        raise ServerNotAvailableError.for_feature("flow.register()", _REGISTER_INSTEAD) from None
    return client.register(  # type: ignore[no-any-return]
        flow=flow,
        build=build,
        project_name=project_name,
        set_schedule_active=set_schedule_active,
        version_group_id=version_group_id,
        no_url=no_url,
        idempotency_key=idempotency_key,
    )


def run_agent(
    flow: Flow,
    token: str | None = None,
    show_flow_logs: bool = False,
    log_to_cloud: bool | None = None,
    api_key: str | None = None,
) -> None:
    """What :meth:`Flow.run_agent <headwater.core.flow.Flow.run_agent>` does."""
    import headwater.agent.local
    from headwater.exceptions import ServerNotAvailableError

    run_config = flow.run_config
    labels = list(run_config.labels or ()) if run_config is not None else []
    try:
        agent = headwater.agent.local.LocalAgent(labels=labels, show_flow_logs=show_flow_logs)
    except ServerNotAvailableError:
        raise ServerNotAvailableError.for_feature(
            "flow.run_agent()",
            "run the flow with flow.run(); with a schedule it keeps running on that schedule",
        ) from None
    agent.start()
