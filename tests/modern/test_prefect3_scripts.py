"""Prefect 3 scripts with ``prefect`` renamed to ``headwater``: same results and states.

Each script runs in a fresh interpreter, as a user would run it; the expectations are Prefect
3's documented semantics.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

SCRIPT = """
from datetime import timedelta
from headwater import flow, task
from headwater.futures import wait
from headwater.states import Completed
from headwater.task_runners import ThreadPoolTaskRunner

CALLS = {"fetch": 0}

@task(retries=3, retry_delay_seconds=[0, 0])
def fetch(url: str) -> dict:
    CALLS["fetch"] += 1
    if url == "flaky" and CALLS["fetch"] < 3:
        raise ConnectionError("try again")
    return {"url": url, "size": len(url)}

@task
def load(pages: list[dict]) -> int:
    return sum(p["size"] for p in pages)

@task
def explode():
    raise RuntimeError("swallowed")

@flow(log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def etl(urls: list[str]) -> int:
    pages = fetch.map(urls)
    try:
        explode()
    except RuntimeError:
        print("explode failed, carrying on")
    wait(pages)
    return load(pages)

@flow
def sub_fails():
    return explode.submit()

@flow
def parent():
    state = sub_fails(return_state=True)
    return Completed(message=f"child was {state.type.value}")

print(etl(["a", "bb", "flaky"]))
state = etl(["abc"], return_state=True)
print(state.type.value, state.name, state.result())
print(sub_fails(return_state=True).type.value)
print(parent(return_state=True).message)
print(etl("not-a-list", return_state=True).type.value)
"""


def test_a_prefect3_script_gives_prefect3_results_and_states(tmp_path):
    path = tmp_path / "etl.py"
    path.write_text(SCRIPT, encoding="utf-8")
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "8",
        "COMPLETED Completed 3",
        "FAILED",
        "child was FAILED",
        "FAILED",
    ]


CRASH = """
import os, signal, sys, threading
from headwater import flow

def crashed(flow, run, state):
    print("crashed hook", state.type.value, state.name, flush=True)

@flow(on_crashed=[crashed])
def waits():
    print("running", flush=True)
    threading.Event().wait(60)

try:
    waits()
except BaseException as exc:
    print("raised", type(exc).__name__, flush=True)
"""


def test_sigterm_crashes_the_flow_run(tmp_path):
    path = tmp_path / "crash.py"
    path.write_text(textwrap.dedent(CRASH), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "running"
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert out.splitlines() == ["crashed hook CRASHED Crashed", "raised TerminationSignal"], err
