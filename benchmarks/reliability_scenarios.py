"""Fault, load and secret scenarios for ``benchmarks/reliability.py``, one per fresh interpreter.

Run as ``python benchmarks/reliability_scenarios.py SCENARIO EXECUTOR [ADDRESS]``; prints one
JSON line ``{"ok": bool, "detail": str, ...}``. ``EXECUTOR`` is ``local``, ``threads``,
``processes`` or ``cluster`` (then ``ADDRESS`` is the scheduler's address). A scenario is ``ok``
when the run ends (no hang, no exception escaping ``flow.run``) with the state it should end in
and every other task's state present and finished.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SECRET = "S3CR3T-reliability-marker-8c1f"


class Boom(BaseException):
    """A BaseException that is neither an Exception nor KeyboardInterrupt."""


def _executor(kind: str, address: str | None) -> Any:
    from headwater.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

    if kind == "local":
        return LocalExecutor()
    if kind in ("threads", "processes"):
        return LocalDaskExecutor(kind, num_workers=2)
    return DaskExecutor(address=address)


def _verdict(ok: bool, detail: str, **extra: Any) -> dict[str, Any]:
    return {"ok": bool(ok), "detail": detail, **extra}


def _all_finished(state: Any, flow: Any) -> tuple[bool, str]:
    """Every task of ``flow`` has a finished state in ``state.result``."""
    results = state.result if isinstance(state.result, dict) else {}
    missing = [t.name for t in flow.tasks if t not in results]
    unfinished = [t.name for t, s in results.items() if not s.is_finished()]
    if missing or unfinished:
        return False, f"missing states {missing}, unfinished {unfinished}"
    return True, ""


def _states(state: Any) -> dict[str, str]:
    return {t.name: type(s).__name__ for t, s in state.result.items()}


# -- faults ----------------------------------------------------------------------------------
def _raising_flow(exc_factory: Callable[[], BaseException]) -> tuple[Any, Any]:
    from headwater import Flow, task

    @task(name="bad")
    def bad() -> int:
        raise exc_factory()

    @task(name="good")
    def good() -> int:
        return 1

    @task(name="after")
    def after(x: int) -> int:
        return x

    with Flow("base-exception") as flow:
        after(bad())
        good()
    return flow, bad


def base_exception(kind: str, address: str | None, which: str) -> dict[str, Any]:
    factories: dict[str, Callable[[], BaseException]] = {
        "custom": lambda: Boom("boom"),
        "GeneratorExit": GeneratorExit,
        "SystemExit": lambda: SystemExit(3),
        "CancelledError": asyncio.CancelledError,
    }
    flow, _ = _raising_flow(factories[which])
    state = flow.run(executor=_executor(kind, address))
    ok, why = _all_finished(state, flow)
    st = _states(state)
    expected = {"bad": "Failed", "good": "Success", "after": "TriggerFailed"}
    return _verdict(ok and st == expected and state.is_failed(), why or str(st))


def _handler_flow(handler: Any, *, on_failure: Any = None) -> Any:
    from headwater import Flow, task

    @task(name="subject", state_handlers=[handler] if handler else None, on_failure=on_failure)
    def subject() -> int:
        if on_failure is not None:
            raise ValueError("the original error")
        return 1

    @task(name="sibling")
    def sibling() -> int:
        return 2

    with Flow("handler-faults") as flow:
        subject()
        sibling()
    return flow


def handler_fault(kind: str, address: str | None, which: str) -> dict[str, Any]:
    from headwater.engine import signals
    from headwater.engine.state import Success

    def raises_signal(task: Any, old: Any, new: Any) -> Any:
        if isinstance(new, Success):
            raise signals.FAIL("refused by the handler")
        return new

    def returns_junk(task: Any, old: Any, new: Any) -> Any:
        return 5

    def raises_error(task: Any, old: Any, new: Any) -> Any:
        raise ValueError("handler broke")

    def failing_on_failure(task: Any, state: Any) -> None:
        raise RuntimeError("on_failure broke")

    if which == "on_failure":
        flow = _handler_flow(None, on_failure=failing_on_failure)
        name = "failing_on_failure"
    else:
        handler = {"signal": raises_signal, "junk": returns_junk, "raises": raises_error}[which]
        flow = _handler_flow(handler)
        name = handler.__name__
    state = flow.run(executor=_executor(kind, address))
    ok, why = _all_finished(state, flow)
    if not ok:
        return _verdict(False, why)
    sub = next(s for t, s in state.result.items() if t.name == "subject")
    sib = next(s for t, s in state.result.items() if t.name == "sibling")
    message = str(sub.message)
    named = which == "signal" or name in message
    if which == "on_failure":
        named = named and "the original error" in message + repr(sub.result)
    return _verdict(sub.is_failed() and sib.is_successful() and named, message)


def flow_handler_fault(kind: str, address: str | None, which: str) -> dict[str, Any]:
    from headwater import Flow, task

    def junk(flow: Any, old: Any, new: Any) -> Any:
        return "junk" if new.is_finished() else new

    def raises(flow: Any, old: Any, new: Any) -> Any:
        if new.is_finished():
            raise ValueError("flow handler broke")
        return new

    handler = {"junk": junk, "raises": raises}[which]

    @task(name="one")
    def one() -> int:
        return 1

    with Flow("flow-handler", state_handlers=[handler]) as flow:
        one()
    state = flow.run(executor=_executor(kind, address))
    ok, why = _all_finished(state, flow)
    named = handler.__name__ in str(state.message)
    return _verdict(ok and state.is_failed() and named, why or str(state.message))


def callback_fault(kind: str, address: str | None, which: str) -> dict[str, Any]:
    from headwater import Flow, task
    from headwater.engine.results import LocalResult

    def bad_validator(state: Any, inputs: Any, parameters: Any) -> bool:
        raise ValueError("validator broke")

    def bad_target(**kwargs: Any) -> str:
        raise ValueError("target broke")

    def bad_name(**kwargs: Any) -> str:
        raise ValueError("name broke")

    def bad_trigger(upstream_states: Any) -> bool:
        raise ValueError("trigger broke")

    tmp = tempfile.mkdtemp()
    options: dict[str, Any] = {
        "validator": {"cache_for": datetime.timedelta(hours=1), "cache_validator": bad_validator},
        "target": {"target": bad_target, "checkpoint": True, "result": LocalResult(dir=tmp)},
        "task_run_name": {"task_run_name": bad_name},
        "trigger": {"trigger": bad_trigger},
    }[which]
    culprit = {
        "validator": "bad_validator",
        "target": "bad_target",
        "task_run_name": "bad_name",
        "trigger": "bad_trigger",
    }[which]

    @task(name="up")
    def up() -> int:
        return 1

    @task(name="subject", **options)
    def subject(x: int) -> int:
        return x

    with Flow("callbacks") as flow:
        subject(up())
    if which == "validator":
        flow.run()  # fills the cache, so the validator is asked on the next run
    state = flow.run(executor=_executor(kind, address))
    ok, why = _all_finished(state, flow)
    sub = next(s for t, s in state.result.items() if t.name == "subject")
    return _verdict(ok and sub.is_failed() and culprit in str(sub.message), why or str(sub.message))


def timeout(kind: str, address: str | None) -> dict[str, Any]:
    from headwater import Flow, task

    @task(name="slow", timeout=1)
    def slow() -> int:
        time.sleep(30)
        return 1

    @task(name="quick")
    def quick() -> int:
        return 1

    with Flow("timeout") as flow:
        slow()
        quick()
    t0 = time.monotonic()
    state = flow.run(executor=_executor(kind, address))
    took = time.monotonic() - t0
    ok, why = _all_finished(state, flow)
    st = _states(state)
    return _verdict(
        ok and st == {"slow": "TimedOut", "quick": "Success"}, why or str(st), took=took
    )


def worker_kill(kind: str, address: str | None) -> dict[str, Any]:
    """One task kills its worker process; only that task may fail."""
    from headwater import Flow, task

    marks = Path(tempfile.mkdtemp())

    @task(name="killer")
    def killer() -> int:
        time.sleep(0.5)
        os._exit(1)

    @task(name="innocent")
    def innocent(i: int) -> int:
        time.sleep(1.0)
        # written when the body completes: a body cut short by its worker's death may run
        # again (it never finished), one that finished must not
        (marks / f"{i}-{time.monotonic_ns()}").write_text("ran")
        return i

    with Flow("worker-kill") as flow:
        killer()
        for i in range(4):
            innocent(i, task_args={"name": f"innocent-{i}"})
    state = flow.run(executor=_executor(kind, address))
    ok, why = _all_finished(state, flow)
    st = _states(state)
    innocents_ok = all(v == "Success" for k, v in st.items() if k.startswith("innocent"))
    runs: dict[str, int] = {}
    for p in marks.iterdir():
        runs[p.name.split("-")[0]] = runs.get(p.name.split("-")[0], 0) + 1
    twice = sorted(k for k, v in runs.items() if v > 1)  # completed more than once
    return _verdict(ok and innocents_ok and not twice, why or f"{st}, completed twice: {twice}")


# -- secrets ----------------------------------------------------------------------------------
def secrets(kind: str, address: str | None) -> dict[str, Any]:
    """A marker secret through cache, checkpoints, logs, state reprs and a notifier error."""
    import logging

    from headwater import Flow, task
    from headwater.engine.results import LocalResult
    from headwater.tasks.secrets import EnvVarSecret, HeadwaterSecret
    from headwater.utilities.configuration import set_temporary_config
    from headwater.utilities.notifications import slack_notifier

    work = Path(tempfile.mkdtemp())
    os.environ["RELIABILITY_SECRET"] = SECRET
    log_file = work / "run.log"
    handler = logging.FileHandler(log_file)
    logging.getLogger("headwater").addHandler(handler)
    logging.getLogger("headwater").setLevel("DEBUG")
    places: list[str] = []

    @task(name="use", cache_for=datetime.timedelta(hours=1), checkpoint=True)
    def use(password: str) -> int:
        return len(password)

    with set_temporary_config(
        {
            "home_dir": str(work / "home"),
            "flows.persistent_cache": True,
            "flows.checkpointing": True,
        }
    ):
        with Flow("secrets", result=LocalResult(dir=str(work / "results"))) as flow:
            # a cluster started before this process has not got its environment variable
            secret = HeadwaterSecret if kind == "cluster" else EnvVarSecret
            use(secret("RELIABILITY_SECRET"))
        state = flow.run(
            executor=_executor(kind, address), context={"secrets": {"RELIABILITY_SECRET": SECRET}}
        )
        texts = {"state repr": repr(state), "task reprs": repr(state.result)}
        html = getattr(state, "_repr_html_", None)
        if html is not None:
            texts["state html"] = html()
        try:
            slack_notifier(flow, state, state, webhook_url=f"htp:/bad url/{SECRET}")
            texts["notifier error"] = ""
        except Exception as exc:  # the error a user would see
            texts["notifier error"] = str(exc)
    handler.close()
    found = [name for name, text in texts.items() if SECRET in text]
    places.extend(texts)
    for path in work.rglob("*"):
        if path.is_file():
            places.append(str(path.relative_to(work)))
            if SECRET.encode() in path.read_bytes():
                found.append(str(path.relative_to(work)))
    return _verdict(
        state.is_successful() and not found,
        f"searched {len(places)} places, found in {found}",
        searched=len(places),
        found=found,
    )


# -- load -------------------------------------------------------------------------------------
def _inc(x: int) -> int:
    return x + 1


def _total(values: list[int]) -> int:
    return sum(values)


def load(kind: str, address: str | None, shape: str, n: str) -> dict[str, Any]:
    import resource

    from headwater import Flow, task
    from headwater.utilities.logging import get_logger

    get_logger().setLevel("WARNING")  # the engine, not the terminal
    inc = task(_inc, name="inc")
    total = task(_total, name="total")
    size = int(n)
    t0 = time.perf_counter()
    with Flow(f"load-{shape}") as flow:
        if shape == "chain":
            x = inc(0)
            for _ in range(size - 1):
                x = inc(x)
        elif shape == "fan":
            total([inc(i) for i in range(size)])
        else:
            total(inc.map(list(range(size))))
    state = flow.run(executor=_executor(kind, address))
    took = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return _verdict(state.is_successful(), f"{took:.2f} s, {peak:.0f} MB", took=took, peak_mb=peak)


def bad_address(kind: str, address: str | None) -> dict[str, Any]:
    """A cluster address that does not resolve: a Failed run naming it, then a prompt exit."""
    from headwater import Flow, task
    from headwater.executors import DaskExecutor

    @task(name="one")
    def one() -> int:
        return 1

    with Flow("bad-address") as flow:
        one()
    state = flow.run(executor=DaskExecutor(address="not-an-address"))
    return _verdict(
        state.is_failed() and "not-an-address" in str(state.message), str(state.message)
    )


SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {
    "base-exception": base_exception,
    "handler": handler_fault,
    "flow-handler": flow_handler_fault,
    "callback": callback_fault,
    "timeout": timeout,
    "worker-kill": worker_kill,
    "secrets": secrets,
    "load": load,
    "bad-address": bad_address,
}


def main(argv: list[str]) -> None:
    name, kind, address, *args = argv + [""] * (3 - len(argv))
    scenario, _, variant = name.partition(":")
    params = [p for p in variant.split(",") if p]
    try:
        out = SCENARIOS[scenario](kind, address or None, *params)
    except BaseException as exc:
        out = _verdict(False, f"flow.run raised {type(exc).__name__}: {exc}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
