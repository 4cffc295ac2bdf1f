"""The context of one flow run: the keys every task of the run can read.

:func:`flow_run_context` fills them in, in place, the way ``FlowRunner.initialize_run`` does in
Prefect Core 1.x, plus headwater's own run keys:

- ``parameters``: the context's ``parameters`` (if any), then each optional parameter's default
  for the names still missing, then the values given to the run (typed parameters converted);
- ``flow_name``, ``flow_run_id`` (kept if given), ``flow_run_name``, ``scheduled_start_time``
  (now, unless given);
- ``date`` — the context's ``date`` if it is a ``pendulum.DateTime`` or a string pendulum can
  parse, else now (with a warning when a ``date`` was given but could not be parsed) — and the
  strings derived from it: ``today``, ``yesterday``, ``tomorrow`` (``YYYY-MM-DD``) and their
  ``_nodash`` forms (``YYYYMMDD``); keys already in the context are kept;
- ``caches`` (a fresh in-memory cache unless given), ``secrets`` (from
  ``config.context.secrets`` and the context's ``secrets``), ``checkpointing``, ``resume``,
  ``config`` and ``logger``.

Each task's own context (:class:`TaskContexts`) holds its ``task_name`` and ``task_slug`` on
top of what the run was given for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["TaskContexts", "flow_run_context"]


def flow_run_context(
    flow: Flow, context: dict[str, Any], parameters: dict[str, Any] | None, logger: Any
) -> dict[str, Any]:
    """Fill in the run keys of ``context`` for a run of ``flow``; returns ``context``.

    Raises:
        ValueError: a given parameter value that its parameter's ``type`` rejects.
    """
    context["parameters"] = _parameters(flow, context, parameters or {})
    _add_run_names(flow, context)
    _add_dates(context, logger)
    cfg = _add_config_keys(context)
    context["flow"] = None
    context["logger"] = logger
    _add_persistent_cache(flow, context, cfg)
    return context


def _parameters(flow: Flow, context: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The context's parameters, then optional parameters' defaults, then ``given`` (typed)."""
    params = dict(context.get("parameters") or {})
    flow_params = flow.parameters()
    for p in flow_params:
        if not p.required:
            params.setdefault(p.name, p.default)
    params.update(given)
    for p in flow_params:
        if p.name in params and (p.type is not None or p.name in given):
            params[p.name] = p.validate_value(params[p.name])
    return params


def _add_run_names(flow: Flow, context: dict[str, Any]) -> None:
    import pendulum

    context["flow_name"] = flow.name
    context.setdefault("scheduled_start_time", pendulum.now("UTC"))
    flow_run_id = context.get("flow_run_id") or str(uuid.uuid4())
    context["flow_run_id"] = flow_run_id
    if not context.get("flow_run_name"):
        context["flow_run_name"] = f"{flow.name}-{flow_run_id[:8]}"


def _add_config_keys(context: dict[str, Any]) -> Any:
    """``config``, ``secrets``, ``checkpointing``, ``resume`` and ``caches``; returns the config."""
    from headwater.configuration import config, setting

    cfg = context.get("config") or config
    context["config"] = cfg
    secrets: dict[str, Any] = {}
    secrets.update(setting("context.secrets", None, config=cfg) or {})
    secrets.update(context.get("secrets") or {})
    context["secrets"] = secrets
    if "checkpointing" not in context:
        context["checkpointing"] = bool(setting("flows.checkpointing", config=cfg))
    context.setdefault("resume", False)
    if context.get("caches") is None:
        context["caches"] = {}
    return cfg


def _add_persistent_cache(flow: Flow, context: dict[str, Any], cfg: Any) -> None:
    """The flow's persistent cache, if it has a ``cache_dir`` or the config turns it on."""
    from headwater.configuration import setting

    cache_dir = getattr(flow, "cache_dir", None)
    persistent = bool(setting("flows.persistent_cache", config=cfg))
    if cache_dir is not None or persistent:
        from headwater.engine.persistent_cache import PersistentCache

        context["_persistent_cache"] = PersistentCache.for_flow(flow, cache_dir, cfg)


def _add_dates(context: dict[str, Any], logger: Any) -> None:
    import pendulum

    now = context.get("date")
    if isinstance(now, str):
        try:
            parsed = pendulum.parse(now)
        except Exception:  # any unparsable string is reported below
            pass
        else:
            if isinstance(parsed, pendulum.DateTime):
                now = context["date"] = parsed
    if not isinstance(now, pendulum.DateTime):
        if now is not None:
            logger.warning(
                "`date` was set in the context manually but could not be parsed into a "
                "pendulum `DateTime` object (got %r). The context keys that depend on the "
                "current date (`today`, `tomorrow`...) use the current time instead.",
                now,
            )
        now = pendulum.now("UTC")
    dates = {
        "date": now,
        "today": now.strftime("%Y-%m-%d"),
        "yesterday": now.add(days=-1).strftime("%Y-%m-%d"),
        "tomorrow": now.add(days=1).strftime("%Y-%m-%d"),
        "today_nodash": now.strftime("%Y%m%d"),
        "yesterday_nodash": now.add(days=-1).strftime("%Y%m%d"),
        "tomorrow_nodash": now.add(days=1).strftime("%Y%m%d"),
    }
    for key, value in dates.items():
        context.setdefault(key, value)


class TaskContexts(MutableMapping):  # type: ignore[type-arg]
    """Each task's context for a run: what was given for it, plus ``task_name`` and ``task_slug``.

    It reads like ``{task: {"task_name": ..., "task_slug": ..., **given}}`` for every task of
    the flow, but makes a task's dict only when it is asked for: a run of a big flow does not
    build one dict per task when (as usual) no task was given context of its own.
    :attr:`given` holds the dicts made so far (and those given), the only ones with more keys.

    Args:
        slugs: the flow's tasks and their slugs.
        given: the contexts given per task; each gets its ``task_name`` and ``task_slug``.
    """

    def __init__(self, slugs: dict[Task, str], given: dict[Task, dict[str, Any]]) -> None:
        self.slugs = slugs
        self.given = given
        for task, c in given.items():
            slug = slugs.get(task)
            if slug is not None:
                c.update(task_name=task.name, task_slug=slug)

    def __getitem__(self, task: Task) -> dict[str, Any]:
        c = self.given.get(task)
        if c is None:
            slug = self.slugs[task]  # KeyError for a task of another flow
            c = self.given[task] = {"task_name": task.name, "task_slug": slug}
        return c

    def __setitem__(self, task: Task, value: dict[str, Any]) -> None:
        self.given[task] = value

    def __delitem__(self, task: Task) -> None:
        del self.given[task]

    def __iter__(self) -> Iterator[Task]:
        yield from self.slugs
        for task in self.given:
            if task not in self.slugs:
                yield task

    def __len__(self) -> int:
        return len(self.slugs) + sum(1 for t in self.given if t not in self.slugs)

    def __contains__(self, task: object) -> bool:
        return task in self.slugs or task in self.given

    def __repr__(self) -> str:
        return repr(dict(self.items()))
