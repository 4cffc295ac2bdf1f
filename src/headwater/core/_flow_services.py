"""What a ``Flow`` offers beyond its graph and its runs: serialization, diagnostics, and the
server-side entry points of Prefect 1 (``register``, ``run_agent``).

Without a server, ``flow.register()`` registers the flow locally: the flow is kept in its
storage (by default a file under ``{home_dir}/flows``) and a version of it is recorded in the
run history (:mod:`headwater.history._registry`), where ``headwater serve`` finds it.

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

_SERVE_HINT = "headwater serve"
"""The command that runs registered flows on their schedules (and starts them from the UI)."""


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
    except ServerNotAvailableError:  # no server: the flow is registered on this machine
        return _register_locally(
            flow,
            project_name=project_name,
            build=build,
            set_schedule_active=set_schedule_active,
            no_url=no_url,
            idempotency_key=idempotency_key,
        )
    return client.register(  # type: ignore[no-any-return]
        flow=flow,
        build=build,
        project_name=project_name,
        set_schedule_active=set_schedule_active,
        version_group_id=version_group_id,
        no_url=no_url,
        idempotency_key=idempotency_key,
    )


def _jsonable(value: Any) -> Any:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _register_locally(
    flow: Flow,
    *,
    project_name: str | None,
    build: bool,
    set_schedule_active: bool,
    no_url: bool,
    idempotency_key: str | None,
) -> str:
    """Keep ``flow`` in its storage and record a version of it in the run history; its id."""
    import hashlib
    import json

    from headwater.exceptions import FlowStorageError
    from headwater.history import open_store
    from headwater.history._registry import describe_schedule
    from headwater.storage._metadata import MetadataStorage

    storage = flow.storage
    if isinstance(storage, MetadataStorage):
        raise FlowStorageError(
            f"flow.register() keeps flows on this machine, and headwater cannot load flow "
            f"{flow.name!r} back from {type(storage).__name__} storage (it is kept as metadata "
            "only): give the flow headwater.storage.Local or Module storage to register it."
        )
    serialized = serialize(flow, build)
    if storage is None or flow.name not in storage.flows:
        raise ValueError(
            f"Flow {flow.name!r} is not in its storage, so it could not be loaded to run: "
            "register it with build=True (the default), or add it to the storage first with "
            "flow.storage.add_flow(flow)."
        )
    labels = sorted(flow.run_config.labels) if flow.run_config is not None else []
    parameters = [
        {"name": p.name, "required": bool(p.required), "default": _jsonable(p.default)}
        for p in sorted(flow.parameters(), key=lambda p: p.name)
    ]
    digest = hashlib.sha256(json.dumps(serialized, sort_keys=True).encode()).hexdigest()
    with open_store() as store:
        row = store.register_flow(
            flow.name,
            project=project_name,
            labels=labels,
            storage=serialized["storage"],
            location=storage.flows[flow.name],
            schedule=describe_schedule(flow.schedule),
            schedule_active=set_schedule_active,
            parameters=parameters,
            flow_hash=digest,
            idempotency_key=idempotency_key,
        )
        where = store.target
    if not no_url:
        done = "registered locally" if row["created"] else "already registered, unchanged"
        print(f"Flow {flow.name!r} {done}: version {row['version']} in the run history {where}")
        print(f" └── ID: {row['id']}\n └── Project: {project_name}\n └── Labels: {labels}")
        print(f" └── Run it on its schedule, and start it from the UI, with: {_SERVE_HINT}")
    return str(row["id"])


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
        if flow.schedule is None:  # nothing would ever start a run
            raise ServerNotAvailableError.for_feature(
                "flow.run_agent() of a flow without a schedule",
                "run the flow with flow.run(), or register it with flow.register() and start "
                f"it from the UI of `{_SERVE_HINT}`",
            ) from None
        _serve_on_schedule(flow)
        return
    agent.start()


def _serve_on_schedule(flow: Flow) -> None:
    """No server to poll: run ``flow`` on its schedule here, recording every run, until the
    schedule ends or Ctrl-C."""
    from headwater.utilities.configuration import set_temporary_config

    print(
        f"headwater has no server to poll: flow {flow.name!r} runs on its schedule in this "
        f"process, every run recorded in the run history, until Ctrl-C (`{_SERVE_HINT}` "
        "serves registered flows with the UI)",
        flush=True,
    )
    with set_temporary_config({"history.enabled": True}):
        flow.run(run_on_schedule=True)
