"""Schema of flows: tasks, edges, parameters, reference tasks, schedule, run config, storage.

Every collection is sorted (tasks and parameters by slug, edges by their tasks' slugs and key)
so that the same flow dumps the same way in every process: ``flow.serialized_hash()`` hashes
this dump.
"""

from __future__ import annotations

from typing import Any

from headwater.serialization._fields import MISSING, Function, Nested, String, to_qualified_name
from headwater.serialization._schema import ObjectSchema
from headwater.serialization.edge import EdgeSchema
from headwater.serialization.run_config import RunConfigSchema
from headwater.serialization.schedule import ScheduleSchema
from headwater.serialization.storage import StorageSchema
from headwater.serialization.task import ParameterSchema, TaskSchema

__all__ = ["FlowSchema"]


def _is_flow(obj: Any) -> bool:
    from headwater.core.flow import Flow

    return isinstance(obj, Flow)


def _slug_of(context: dict[str, Any]) -> Any:
    slugs = context.get("slugs") or {}
    return lambda t: slugs.get(t) or getattr(t, "slug", None) or ""


def get_parameters(obj: Any, context: dict[str, Any]) -> Any:
    params: Any = obj.parameters() if _is_flow(obj) else context.get("value", MISSING)
    if params is MISSING or params is None:
        return params
    return sorted(params, key=_slug_of(context))


def get_reference_tasks(obj: Any, context: dict[str, Any]) -> Any:
    tasks: Any = (
        getattr(obj, "_reference_tasks", MISSING) if _is_flow(obj) else context.get("value")
    )
    if tasks is MISSING or tasks is None:
        return tasks
    return sorted(tasks, key=_slug_of(context))


def get_tasks(obj: Any, context: dict[str, Any]) -> Any:
    tasks: Any = obj.tasks if _is_flow(obj) else context.get("value", MISSING)
    if tasks is MISSING or tasks is None:
        return tasks
    return sorted(tasks, key=_slug_of(context))


def get_edges(obj: Any, context: dict[str, Any]) -> Any:
    edges: Any = obj.edges if _is_flow(obj) else context.get("value", MISSING)
    if edges is MISSING or edges is None:
        return edges
    slug = _slug_of(context)
    return sorted(
        edges, key=lambda e: (slug(e.upstream_task), slug(e.downstream_task), e.key or "")
    )


def canonical_slugs(flow: Any) -> dict[Any, str]:
    """The slug of each task of ``flow`` as the dump shows it.

    A slug the user gave (``Task(slug=...)``, a parameter's name) is kept. A generated one is
    made again from the order tasks were added to this flow (``<name>-<n>``), so it does not
    depend on other flows the task was added to first, and the same build script dumps the
    same slugs in every process.
    """
    out: dict[Any, str] = {}
    given = {
        slug
        for task, slug in flow.slugs.items()
        if task.slug == slug and getattr(task, "_generated_slug", None) != slug
    }
    taken = set(given)
    counts: dict[str, int] = {}
    for task, slug in flow.slugs.items():
        if slug in given and task.slug == slug:
            out[task] = slug
            continue
        n = counts.get(task.name, 0)
        while True:
            n += 1
            candidate = f"{task.name}-{n}"
            if candidate not in taken:
                break
        counts[task.name] = n
        taken.add(candidate)
        out[task] = candidate
    return out


def _flow_class() -> type:
    from headwater.core.flow import Flow

    return Flow


class FlowSchema(ObjectSchema):
    """The flow's graph and settings; tasks load back as plain ``Task`` objects."""

    class Meta:
        object_class = _flow_class
        exclude_fields = ["type", "parameters"]

    project = String()
    name = String(required=True)
    version = String()
    description = String()
    type = Function(lambda flow: to_qualified_name(type(flow)), lambda x: x)
    schedule = Nested(ScheduleSchema)
    parameters = Nested(ParameterSchema, value_selection_fn=get_parameters, many=True)
    tasks = Nested(TaskSchema, value_selection_fn=get_tasks, many=True)
    edges = Nested(EdgeSchema, value_selection_fn=get_edges, many=True)
    reference_tasks = Nested(
        TaskSchema, value_selection_fn=get_reference_tasks, many=True, only=["slug"]
    )
    run_config = Nested(RunConfigSchema)
    storage = Nested(StorageSchema)

    def dump(self, obj: Any) -> dict[str, Any]:
        """The flow as a dict; tasks carry the slugs this flow gave them."""
        if _is_flow(obj):
            self.context.setdefault("slugs", canonical_slugs(obj))
        return super().dump(obj)

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """Loaded edges name plain tasks without inputs, so they are not checked."""
        return super().create_object({**data, "validate": False})
