"""Artifacts: markdown, tables, links, images and progress bars attached to the running flow.

Each ``create_*_artifact`` call returns the artifact's id (a ``uuid.UUID``) and attaches the
artifact to the flow run (and task run) running now, or to no run when called outside one.
Artifacts are kept in memory (:func:`artifacts_of` gives a run's) and, when the run history is
on, recorded in it, where the web UI shows them. Those created by a task run in another process
(a process or dask executor or task runner) come back with the task run's state, when the run
history records the run::

    from headwater.artifacts import (
        artifacts_of, create_markdown_artifact, create_progress_artifact,
        create_table_artifact, update_progress_artifact,
    )

    create_markdown_artifact("# Report\\nAll rows loaded.", key="daily-report")
    create_table_artifact([{"name": "a", "rows": 3}], key="row-counts")
    progress = create_progress_artifact(0.0, key="load-progress")
    update_progress_artifact(progress, 100.0)
    assert [a.key for a in artifacts_of(None)][-3:] == ["daily-report", "row-counts",
                                                        "load-progress"]

A key, when given, must only contain lowercase letters, numbers and dashes (as in Prefect).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import json
import logging
import math
import re
import threading
import uuid
import warnings
from collections.abc import Iterable
from typing import Any

__all__ = [
    "Artifact",
    "ArtifactWarning",
    "artifacts_of",
    "create_image_artifact",
    "create_link_artifact",
    "create_markdown_artifact",
    "create_progress_artifact",
    "create_table_artifact",
    "get_artifact",
    "update_progress_artifact",
]

MAX_RUNS_KEPT = 1000
"""Artifacts of this many flow runs are kept in memory (the oldest runs' are forgotten)."""

_KEY = re.compile(r"^[a-z0-9-]+$")
_logger = logging.getLogger("headwater.artifacts")


class ArtifactWarning(UserWarning):
    """An artifact could not be recorded in the run history (it is still kept in memory)."""


@dataclasses.dataclass
class Artifact:
    """One artifact.

    Attributes:
        id: its id.
        type: ``"markdown"``, ``"table"``, ``"progress"`` or ``"image"`` (a link is markdown,
            as in Prefect).
        key: its key, or ``None``.
        description: what it is, or ``None``.
        data: its content: markdown text, the table, the progress (0-100) or the image URL.
        flow_run_id: the flow run it belongs to (``None`` outside a run).
        task_run_id: the task run it was created in, or ``None``.
        created: when it was created (UTC).
    """

    id: uuid.UUID
    type: str
    key: str | None
    description: str | None
    data: Any
    flow_run_id: str | None
    task_run_id: str | None
    created: datetime.datetime

    @classmethod
    def get(cls, key: str) -> Artifact | None:
        """The latest artifact with ``key`` created in this process, or ``None``."""
        return get_artifact(key)


_lock = threading.Lock()
_by_run: collections.OrderedDict[str | None, list[Artifact]] = collections.OrderedDict()
_by_id: dict[uuid.UUID, Artifact] = {}


def _current_ids() -> tuple[str | None, str | None]:
    """The ids of the flow run and task run running now (``None`` outside)."""
    flow_run_id = task_run_id = None
    try:
        from headwater import runtime

        flow_run_id = getattr(runtime.flow_run, "id", None)
        task_run_id = getattr(runtime.task_run, "id", None)
    except ImportError:
        pass
    if flow_run_id is None:
        from headwater.context import context

        flow_run_id = context.get("flow_run_id")
        task_run_id = task_run_id or context.get("task_run_id")
    return (
        None if flow_run_id is None else str(flow_run_id),
        None if task_run_id is None else str(task_run_id),
    )


def _check_key(key: str | None) -> None:
    if key is not None and (not isinstance(key, str) or not _KEY.match(key)):
        raise ValueError(
            f"Artifact key {key!r} must only contain lowercase letters, numbers and dashes, "
            "e.g. 'daily-report'."
        )


def _record_in_history(artifact: Artifact) -> None:
    try:
        from headwater import history
    except ImportError:
        return
    record = getattr(history, "record_artifact", None)
    if record is None:
        return
    from headwater.context import context

    key = artifact.key or f"{artifact.type}-{artifact.id.hex[:8]}"
    own_run = (
        artifact.flow_run_id is not None and context.get("flow_run_id") != artifact.flow_run_id
    )
    # a @flow run is known to the history by its own id
    scope = context(flow_run_id=artifact.flow_run_id) if own_run else contextlib.nullcontext()
    try:
        with scope:
            recorded = record(
                key=key, type=artifact.type, data=artifact.data, description=artifact.description
            )
        if not recorded and artifact.flow_run_id is not None:
            # a task run in another process: it goes back with the task run's state
            from headwater.engine._run_reports import report_artifact

            report_artifact(artifact)
    except (TypeError, ValueError) as exc:
        warnings.warn(
            f"Artifact {key!r} was not recorded in the run history: {exc}",
            ArtifactWarning,
            stacklevel=4,
        )


def _trim() -> None:
    """Forget the oldest runs' artifacts beyond :data:`MAX_RUNS_KEPT` (under ``_lock``)."""
    while len(_by_run) > MAX_RUNS_KEPT:
        _, dropped = _by_run.popitem(last=False)
        for old in dropped:
            _by_id.pop(old.id, None)


def _create(type_: str, data: Any, key: str | None, description: str | None) -> uuid.UUID:
    _check_key(key)
    flow_run_id, task_run_id = _current_ids()
    artifact = Artifact(
        id=uuid.uuid4(),
        type=type_,
        key=key,
        description=description,
        data=data,
        flow_run_id=flow_run_id,
        task_run_id=task_run_id,
        created=datetime.datetime.now(datetime.UTC),
    )
    with _lock:
        run = _by_run.setdefault(flow_run_id, [])
        _by_run.move_to_end(flow_run_id)
        run.append(artifact)
        _by_id[artifact.id] = artifact
        _trim()
    _record_in_history(artifact)
    return artifact.id


def keep_reported(flow_run_id: str, lines: Iterable[Any]) -> None:
    """Keep in memory the artifacts a task run of flow run ``flow_run_id`` created in another
    process (``ArtifactLine`` tuples of :mod:`headwater.engine._run_reports`); an artifact
    known already (a progress update, a task run reported again) takes the data it came with."""
    with _lock:
        run = _by_run.setdefault(flow_run_id, [])
        _by_run.move_to_end(flow_run_id)
        for hex_id, key, type_, data, description, created, task_run_id in lines:
            artifact_id = uuid.UUID(hex=hex_id)
            known = _by_id.get(artifact_id)
            if known is not None:
                known.data, known.description = json.loads(data), description
                continue
            artifact = Artifact(
                id=artifact_id,
                type=type_,
                key=key,
                description=description,
                data=json.loads(data),
                flow_run_id=flow_run_id,
                task_run_id=task_run_id,
                created=datetime.datetime.fromtimestamp(created, datetime.UTC),
            )
            run.append(artifact)
            _by_id[artifact_id] = artifact
        _trim()


def artifacts_of(flow_run_id: str | None) -> list[Artifact]:
    """The artifacts created in flow run ``flow_run_id`` (``None``: outside any run), oldest
    first."""
    with _lock:
        return list(_by_run.get(None if flow_run_id is None else str(flow_run_id), ()))


def get_artifact(key: str) -> Artifact | None:
    """The latest artifact with ``key`` created in this process, or ``None``."""
    with _lock:
        found = [a for a in _by_id.values() if a.key == key]
    return max(found, key=lambda a: a.created) if found else None


def create_markdown_artifact(
    markdown: str, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Attach markdown text to the current run; returns the artifact's id."""
    if not isinstance(markdown, str):
        raise TypeError(f"create_markdown_artifact: markdown must be a string, not {markdown!r}.")
    return _create("markdown", markdown, key, description)


def create_link_artifact(
    link: str,
    link_text: str | None = None,
    key: str | None = None,
    description: str | None = None,
) -> uuid.UUID:
    """Attach a link (shown as markdown ``[link_text](link)``); returns the artifact's id."""
    if not isinstance(link, str) or not link:
        raise TypeError(f"create_link_artifact: link must be a non-empty string, not {link!r}.")
    return _create("markdown", f"[{link_text or link}]({link})", key, description)


def _sanitize(item: Any) -> Any:
    """NaN becomes ``None`` (so the table is valid JSON), everywhere in the table."""
    if isinstance(item, list | tuple):
        return [_sanitize(v) for v in item]
    if isinstance(item, dict):
        return {k: _sanitize(v) for k, v in item.items()}
    if isinstance(item, float) and math.isnan(item):
        return None
    return item


def create_table_artifact(
    table: dict[str, list[Any]] | list[dict[str, Any]] | list[list[Any]],
    key: str | None = None,
    description: str | None = None,
) -> uuid.UUID:
    """Attach a table: a dict of columns, a list of row dicts or a list of row lists."""
    if not isinstance(table, dict | list | tuple):
        raise TypeError(
            "create_table_artifact: table must be a dict of columns, a list of row dicts or a "
            f"list of row lists, not {type(table).__name__}."
        )
    return _create("table", _sanitize(table), key, description)


def _clamp(progress: Any) -> float:
    if isinstance(progress, bool) or not isinstance(progress, int | float) or math.isnan(progress):
        raise TypeError(f"progress must be a number from 0 to 100, not {progress!r}.")
    value = float(progress)
    if not 0.0 <= value <= 100.0:
        clamped = min(100.0, max(0.0, value))
        _logger.warning("Progress artifact got %s%%; interpreting it as %s%%.", value, clamped)
        value = clamped
    return value


def create_progress_artifact(
    progress: float, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Attach a progress bar at ``progress`` percent (0-100, clamped); returns its id."""
    return _create("progress", _clamp(progress), key, description)


def update_progress_artifact(
    artifact_id: uuid.UUID, progress: float, description: str | None = None
) -> uuid.UUID:
    """Move a progress artifact to ``progress`` percent; returns its id.

    Raises:
        ValueError: if no progress artifact with that id was created in this process.
    """
    value = _clamp(progress)
    with _lock:
        artifact = _by_id.get(artifact_id)
        if artifact is None or artifact.type != "progress":
            raise ValueError(
                f"update_progress_artifact: no progress artifact {artifact_id} was created in "
                "this process; pass the id create_progress_artifact returned."
            )
        artifact.data = value
        if description is not None:
            artifact.description = description
    _record_in_history(artifact)
    return artifact.id


def create_image_artifact(
    image_url: str, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    """Attach an image shown from ``image_url``; returns the artifact's id."""
    if not isinstance(image_url, str) or not image_url:
        raise TypeError(
            f"create_image_artifact: image_url must be a non-empty string, not {image_url!r}."
        )
    return _create("image", image_url, key, description)
