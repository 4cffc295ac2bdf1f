"""The OpenAPI 3.1 description of the UI's JSON API, made from the endpoint table.

:func:`openapi_schema` walks :data:`headwater.ui._api.ENDPOINTS`, so every route served is
described, with the schemas of the store's records below (the keys of the run-history
contract)::

    from headwater.ui._openapi import openapi_schema

    schema = openapi_schema()
    assert schema["openapi"].startswith("3.1") and "/api/runs/{run_id}" in schema["paths"]
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCHEMAS", "openapi_schema"]

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_OPT_STR = {"type": ["string", "null"]}
_OPT_INT = {"type": ["integer", "null"]}
_OPT_NUM = {"type": ["number", "null"]}
_ANY_OBJ = {"type": "object", "additionalProperties": True}


def _obj(properties: dict[str, Any], required: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = sorted(properties)
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(key: str, item: str, **extra: Any) -> dict[str, Any]:
    return _obj({key: {"type": "array", "items": _ref(item)}, **extra})


_FLOW = {
    "id": _INT,
    "name": _STR,
    "graph_hash": _OPT_STR,
    "run_count": _INT,
    "last_run_at": _TIME,
    "last_state": _OPT_STR,
}
_STATS = _obj(
    {"runs": _INT, "success_rate": _OPT_NUM, "p50_seconds": _OPT_NUM, "p95_seconds": _OPT_NUM}
)
_RUN = {
    "id": _INT,
    "name": _OPT_STR,
    "flow_id": _INT,
    "flow_name": _STR,
    "state": _OPT_STR,
    "message": _OPT_STR,
    "started_at": _TIME,
    "ended_at": _TIME,
    "duration_seconds": _OPT_NUM,
    "parameters": _ANY_OBJ,
    "host": _OPT_STR,
    "pid": _OPT_INT,
    "version": _OPT_STR,
    "executor": _OPT_STR,
    "scheduled_at": _TIME,
    "parent_run_id": _OPT_INT,
    "task_run_count": _INT,
    "failed_task_count": _INT,
    "is_live": _BOOL,
}
_TASK_RUN = {
    "id": _INT,
    "flow_run_id": _INT,
    "task_name": _STR,
    "task_slug": _OPT_STR,
    "map_index": _OPT_INT,
    "state": _OPT_STR,
    "message": _OPT_STR,
    "started_at": _TIME,
    "ended_at": _TIME,
    "duration_seconds": _OPT_NUM,
    "run_count": _INT,
    "cached": _BOOL,
    "error_type": _OPT_STR,
    "error_message": _OPT_STR,
    "traceback": _OPT_STR,
}
_LOG = {
    "id": _INT,
    "flow_run_id": _INT,
    "task_run_id": _OPT_INT,
    "task_name": _OPT_STR,
    "level": _INT,
    "level_name": _STR,
    "logger": _OPT_STR,
    "message": _STR,
    "created_at": _TIME,
}
_ARTIFACT = {
    "id": _INT,
    "flow_run_id": _INT,
    "task_run_id": _OPT_INT,
    "key": _OPT_STR,
    "type": {"type": "string", "enum": ["markdown", "table", "link", "progress", "image"]},
    "description": _OPT_STR,
    "data": {},
    "created_at": _TIME,
}
_PARAMETER = _obj({"name": _STR, "required": _BOOL, "default": {}})

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _STR}),
    "Flow": _obj(_FLOW),
    "FlowList": _list("flows", "Flow"),
    "FlowDetail": _obj(
        {**_FLOW, "graph": {"type": ["object", "null"]}, "stats": _ref("FlowStats")}
    ),
    "FlowStats": _STATS,
    "FlowRun": _obj(_RUN),
    "RunList": _list("runs", "FlowRun", total=_INT, limit=_INT, offset=_INT),
    "TaskRun": _obj(_TASK_RUN),
    "TaskRunList": _list("task_runs", "TaskRun"),
    "Log": _obj(_LOG),
    "LogList": _list("logs", "Log"),
    "Artifact": _obj(_ARTIFACT),
    "ArtifactList": _list("artifacts", "Artifact"),
    "Parameter": _PARAMETER,
    "RegisteredFlow": _obj(
        {
            "name": _STR,
            "flow_name": _STR,
            "parameters": {"type": "array", "items": _ref("Parameter")},
        }
    ),
    "RegisteredList": _list("flows", "RegisteredFlow"),
    "StartRequest": _obj(
        {"parameters": {**_ANY_OBJ, "description": "Parameter values by name."}}, required=False
    ),
    "StartedRun": _obj({"run_id": _INT, "url": _STR, "api_url": _STR}),
}
"""The schemas of the API's bodies, by name."""

_ERRORS = {
    400: "A parameter or the body has a bad value",
    403: "The token is missing or wrong",
    404: "Not found",
    422: "The flow does not take these parameters",
    500: "The run did not reach the history store",
}


def _operation(endpoint: Any) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": endpoint.operation,
        "summary": endpoint.summary,
        "tags": ["registered" if "registered" in endpoint.path else "history"],
        "responses": {
            str(endpoint.status): {
                "description": endpoint.summary,
                "content": {"application/json": {"schema": _ref(endpoint.response)}},
            }
        },
    }
    if endpoint.params:
        op["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path",
                "description": p.description,
                "schema": {"type": p.type},
            }
            for p in endpoint.params
        ]
    if endpoint.body:
        op["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _ref(endpoint.body)}},
        }
    if endpoint.token:
        op["security"] = [{"bearerToken": []}, {"tokenHeader": []}]
    for status in endpoint.errors:
        op["responses"][str(status)] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    return op


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every endpoint of :data:`~headwater.ui._api.ENDPOINTS`."""
    from headwater import __version__
    from headwater.ui._api import ENDPOINTS
    from headwater.ui._security import HEADER

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    paths["/api/openapi.json"] = {
        "get": {
            "operationId": "getOpenAPI",
            "summary": "This document",
            "tags": ["meta"],
            "responses": {
                "200": {
                    "description": "The OpenAPI document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "headwater UI",
            "version": __version__,
            "description": "The run history of headwater, and the flows this UI can start. "
            "Actions need the token printed when the UI started.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer"},
                "tokenHeader": {"type": "apiKey", "in": "header", "name": HEADER},
            },
        },
    }
