"""Schema of edges: the two tasks (by slug) and the edge's key and flags."""

from __future__ import annotations

from headwater.serialization._fields import Boolean, Nested, String
from headwater.serialization._schema import ObjectSchema
from headwater.serialization.task import TaskSchema

__all__ = ["EdgeSchema"]


def _edge_class() -> type:
    from headwater.core.edge import Edge

    return Edge


class EdgeSchema(ObjectSchema):
    class Meta:
        object_class = _edge_class

    upstream_task = Nested(TaskSchema, only=["slug"])
    downstream_task = Nested(TaskSchema, only=["slug"])
    key = String()
    mapped = Boolean()
    flattened = Boolean()
