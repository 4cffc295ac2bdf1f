"""Flows registered with the UI, and starting their runs in background threads.

A :class:`Launcher` holds the flows a UI process may start (``headwater ui --flow FILE``,
``serve_ui(flows=[...])``). :meth:`Launcher.start` checks the parameters, runs the flow once
with ``flow.run()`` in a daemon thread (now, even if it has a schedule; recording into the UI's
history database) and returns the id the run got in the history store, once the store has it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["FIND_TIMEOUT", "LaunchError", "Launcher", "RegisteredFlow", "history_settings"]

FIND_TIMEOUT = 15.0
"""Seconds :meth:`Launcher.start` waits for the history store to show a run it started."""

logger = logging.getLogger("headwater.ui")


class LaunchError(ValueError):
    """A run cannot be started: an unknown flow or parameter, or a missing required one.

    Attributes:
        status: the HTTP status the error answers with (404 or 422).
    """

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RegisteredFlow:
    """A flow the UI may start, under ``name`` (by default the flow's own name)."""

    name: str
    flow: Flow

    def parameters(self) -> list[dict[str, Any]]:
        """The flow's parameters: ``{name, required, default}`` with JSON-safe defaults."""
        out = []
        for p in sorted(self.flow.parameters(), key=lambda p: p.name):
            out.append(
                {"name": p.name, "required": bool(p.required), "default": _jsonable(p.default)}
            )
        return out


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def registered(flows: Iterable[Any]) -> dict[str, RegisteredFlow]:
    """``flows`` (``Flow`` objects, ``(name, Flow)`` pairs or :class:`RegisteredFlow`) by name.

    Raises:
        TypeError: an item is not a flow.
        ValueError: two flows have the same name.
    """
    from headwater.core.flow import Flow

    out: dict[str, RegisteredFlow] = {}
    for item in flows:
        if isinstance(item, tuple) and len(item) == 2:
            item = RegisteredFlow(str(item[0]), item[1])
        elif isinstance(item, Flow):
            item = RegisteredFlow(item.name, item)
        if not isinstance(item, RegisteredFlow) or not isinstance(item.flow, Flow):
            raise TypeError(
                f"flows must be headwater Flow objects (or (name, Flow) pairs), got {item!r}"
            )
        if item.name in out:
            raise ValueError(
                f"two flows are registered as {item.name!r}; give them distinct names with "
                "(name, flow) pairs"
            )
        out[item.name] = item
    return out


def history_settings(target: str | None) -> dict[str, Any]:
    """The configuration that makes runs record into ``target`` (a SQLite path or a URL; the
    configured history for ``None``), even where recording is turned off: a run started from
    the UI must show in it."""
    settings: dict[str, Any] = {"history.enabled": True}
    if target is not None and "://" in target:
        settings["history.url"] = target
    elif target is not None:  # a path: a configured history.url must not win over it
        settings.update({"history.url": "", "history.path": target})
    return settings


def parse_value(raw: str) -> Any:
    """A parameter value typed in a form: JSON when it parses, else the text itself."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class Launcher:
    """Starts registered flows in background threads and finds their runs in the store.

    Args:
        flows: the registered flows, by name.
        find_run: ``find_run(flow_name, names)`` returns the store's id of the run of that
            flow whose name is one of ``names`` (its run id and run name), or ``None`` while it
            is not recorded yet.
        history_target: where the runs record (the UI's database), or ``None`` for the
            configured one.
    """

    def __init__(
        self,
        flows: Mapping[str, RegisteredFlow],
        find_run: Callable[[str, tuple[str, ...]], int | None],
        history_target: str | None = None,
    ) -> None:
        self.flows = dict(flows)
        self.find_run = find_run
        self.settings = history_settings(history_target)
        self.threads: list[threading.Thread] = []

    def get(self, name: str) -> RegisteredFlow:
        """The flow registered as ``name``.

        Raises:
            LaunchError: no flow is registered under that name (status 404).
        """
        try:
            return self.flows[name]
        except KeyError:
            known = ", ".join(sorted(self.flows)) or "none"
            raise LaunchError(
                f"no flow is registered as {name!r} (registered: {known}); start the UI with "
                "--flow FILE[:NAME] to register one",
                status=404,
            ) from None

    def check(self, entry: RegisteredFlow, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """``parameters`` if the flow takes them all and gets every required one.

        Raises:
            LaunchError: an unknown parameter, or a required one missing (status 422).
        """
        known = {p["name"]: p for p in entry.parameters()}
        unknown = sorted(set(parameters) - set(known))
        if unknown:
            raise LaunchError(
                f"flow {entry.name!r} has no parameter {', '.join(map(repr, unknown))} "
                f"(its parameters: {', '.join(sorted(known)) or 'none'})"
            )
        missing = sorted(n for n, p in known.items() if p["required"] and n not in parameters)
        if missing:
            raise LaunchError(
                f"flow {entry.name!r} needs a value for {', '.join(map(repr, missing))}"
            )
        return dict(parameters)

    def start(self, name: str, parameters: Mapping[str, Any]) -> int:
        """Start a run of the flow registered as ``name``; its id in the history store.

        Raises:
            LaunchError: see :meth:`get` and :meth:`check`; or the run did not show up in the
                history store within :data:`FIND_TIMEOUT` seconds (status 500).
        """
        entry = self.get(name)
        values = self.check(entry, parameters)
        run_id = str(uuid.uuid4())
        run_name = f"{entry.flow.name}-{run_id[:8]}"
        thread = threading.Thread(
            target=self._run,
            args=(entry, values, run_id, run_name),
            name=f"headwater-ui-run-{run_name}",
            daemon=True,
        )
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()
        deadline = time.monotonic() + FIND_TIMEOUT
        while time.monotonic() < deadline:
            found = self.find_run(entry.flow.name, (run_id, run_name))
            if found is not None:
                return found
            time.sleep(0.05)
        raise LaunchError(
            f"the run {run_name!r} of flow {name!r} was started but is not in the history "
            "store; is history recording turned off (history.enabled)?",
            status=500,
        )

    def _run(
        self, entry: RegisteredFlow, values: dict[str, Any], run_id: str, run_name: str
    ) -> None:
        from headwater.utilities.configuration import set_temporary_config

        context = {"flow_run_id": run_id, "flow_run_name": run_name}
        try:
            with set_temporary_config(self.settings):
                entry.flow.run(parameters=values, context=context, run_on_schedule=False)
        except BaseException:  # a run's error is the run's: logged, never the server's
            logger.exception("The run %r of flow %r raised", run_name, entry.name)
