"""``headwater serve`` and ``headwater agent start`` in a process of their own: flows of files and
registered flows run on their schedules and are recorded, the UI starts a run with parameters,
and Ctrl-C or SIGTERM stops the process cleanly."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from headwater.cli import main
from headwater.history import open_store

FLOWS = """
import datetime as dt

from headwater import Flow, Parameter, task
from headwater.schedules import IntervalSchedule

@task
def shout(word):
    return word.upper()

every_second = IntervalSchedule(
    start_date=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc), interval=dt.timedelta(seconds=1)
)

with Flow("ticker", schedule=every_second) as ticker:
    shout(Parameter("word", default="tick"))

with Flow("shouter") as shouter:
    shout(Parameter("word", default="hi"))
"""

REGISTER = """
ticker.register(project_name="demo", labels=["nightly"])
shouter.register(project_name="demo", labels=["nightly"])
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
    env.update(
        HEADWATER__HOME_DIR=str(tmp_path / "home"),
        HEADWATER__HISTORY__PATH=str(tmp_path / "history.db"),
        HEADWATER__HISTORY__URL="",
        **extra,
    )
    return env


class Command:
    """A ``headwater`` command running in a subprocess, its output lines read as they come."""

    def __init__(self, tmp_path: Path, *args: str, prelude: str = "", **env: str) -> None:
        self.stderr = open(tmp_path / "stderr.txt", "w+")  # closed by close()
        start = ["-c", f"import sys\n{prelude}\nfrom headwater.cli import main\nsys.exit(main())\n"]
        self.proc = subprocess.Popen(
            [sys.executable, *(start if prelude else ["-m", "headwater"]), *args],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            cwd=tmp_path,
            env=_env(tmp_path, **env),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line_starting(self, prefix: str, within: float = 30.0) -> str:
        """The first output line starting with ``prefix`` (others are kept in ``seen``)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        self.proc.kill()
        raise AssertionError(f"no line starting {prefix!r}: {self.seen} {self._errors()}")

    def _errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-3000:]

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, list[str]]:
        """Send ``signum``; the exit status and the rest of the output."""
        children = psutil.Process(self.proc.pid).children(recursive=True)
        self.proc.send_signal(signum)
        try:
            status = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"still running 30 s after the signal: {self._errors()}") from None
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        assert not [c for c in children if c.is_running()], "a child process was left"
        assert status == 0, self._errors()
        return status, rest

    def close(self) -> None:
        """Kill the process if it still runs, and close its streams."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.stderr.close()


def _ui(command: Command) -> tuple[str, str]:
    url = command.line_starting("headwater UI: ").removeprefix("headwater UI: ")
    base, _, token = url.partition("/?token=")
    return base, token


def _start(base: str, name: str, parameters: dict[str, Any], token: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{base}/api/registered/{name}/runs",
        data=json.dumps({"parameters": parameters}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait_for_runs(db: Path, flow_name: str, count: int, within: float = 20.0) -> list[Any]:
    deadline = time.monotonic() + within
    runs: list[Any] = []
    while time.monotonic() < deadline:
        with open_store(db) as store:
            runs = store.list_flow_runs(flow_name=flow_name, state="Success")
        if len(runs) >= count:
            return runs
        time.sleep(0.1)
    raise AssertionError(f"{len(runs)} finished runs of {flow_name!r}, not {count}")


def _wait_for_run(db: Path, run_id: int, within: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    run = None
    while time.monotonic() < deadline:
        with open_store(db) as store:
            run = store.get_flow_run(run_id)
        if run is not None and run["state"] == "Success":
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not succeed: {run}")


def _register(tmp_path: Path, version: int = 1, **env: str) -> None:
    script = tmp_path / "register.py"  # the flows are defined in the script that registers them
    flows = textwrap.dedent(FLOWS)
    if version > 1:  # a changed flow: a new default
        flows = flows.replace('default="tick"', f'default="tick {version}"')
    script.write_text(flows + textwrap.dedent(REGISTER))
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path, **env),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert f"Flow 'ticker' registered locally: version {version}" in done.stdout
    if version > 1:  # registered again from another process, unchanged: no new version
        assert "Flow 'shouter' already registered, unchanged: version 1" in done.stdout
    assert "headwater serve" in done.stdout


@pytest.fixture
def command(tmp_path: Path) -> Iterator[Callable[..., Command]]:
    """``command(*args, **env)`` starts ``headwater *args``; it is killed after the test."""
    started: list[Command] = []

    def start(*args: str, prelude: str = "", **env: str) -> Command:
        started.append(Command(tmp_path, *args, prelude=prelude, **env))
        return started[-1]

    yield start
    for c in started:
        c.close()


@pytest.fixture
def flows_file(tmp_path: Path) -> Path:
    path = tmp_path / "flows.py"
    path.write_text(textwrap.dedent(FLOWS))
    return path


def test_serve_runs_a_files_flows_on_schedule_and_starts_them_from_the_ui(
    tmp_path: Path, flows_file: Path, command: Callable[..., Command]
) -> None:
    db = tmp_path / "served.db"
    served = command("serve", "flows.py", "--db", str(db))
    base, token = _ui(served)
    assert base.startswith("http://127.0.0.1:") and len(token) > 20
    assert "  'ticker' (from flows.py): every 1 second" in served.seen
    assert "  'shouter' (from flows.py): no schedule; start it from the UI" in served.seen
    scheduled = _wait_for_runs(db, "ticker", 2)
    assert all(run["scheduled_at"] is not None for run in scheduled)
    status, body = _start(base, "shouter", {"word": "loud"}, "not-the-token")
    assert status == 403
    status, body = _start(base, "shouter", {"word": "loud"}, token)
    assert status == 201, body
    assert _wait_for_run(db, body["run_id"])["parameters"] == {"word": "loud"}
    status, body = _start(base, "ticker", {}, token)  # a scheduled flow runs once, now
    assert status == 201, body
    assert _wait_for_run(db, body["run_id"])["parameters"] == {"word": "tick"}
    _, rest = served.stop(signal.SIGINT)
    assert rest[-1] == "Stopped serving."


def test_serve_without_paths_serves_the_registered_flows_even_with_history_off(
    tmp_path: Path, command: Callable[..., Command]
) -> None:
    _register(tmp_path)
    served = command(
        "serve",
        "--project",
        "demo",
        "--label",
        "nightly",
        HEADWATER__HISTORY__ENABLED="false",
    )
    base, token = _ui(served)
    assert any(
        line.startswith("  'ticker' (registered, project 'demo', version 1): every 1 second")
        for line in served.seen
    ), served.seen
    db = tmp_path / "history.db"
    _wait_for_runs(db, "ticker", 2)
    status, body = _start(base, "shouter", {"word": "registered"}, token)
    assert status == 201, body
    assert _wait_for_run(db, body["run_id"])["parameters"] == {"word": "registered"}
    _, rest = served.stop(signal.SIGTERM)
    assert rest[-1] == "Stopped serving."


def test_agent_local_start_says_what_it_does_and_serves_like_serve(
    tmp_path: Path, command: Callable[..., Command]
) -> None:
    _register(tmp_path)
    served = command("agent", "local", "start", "--no-ui")
    note = served.line_starting("headwater has no server to poll")
    assert "as `headwater serve` does" in note
    served.line_starting("Press Ctrl-C to stop.")
    _wait_for_runs(tmp_path / "history.db", "ticker", 1)
    _, rest = served.stop(signal.SIGINT)
    assert rest[-1] == "Stopped serving."


def test_serve_picks_up_a_version_registered_while_it_serves(
    tmp_path: Path, command: Callable[..., Command]
) -> None:
    _register(tmp_path)
    served = command("serve", "--no-ui", "--poll-seconds", "0.2")
    served.line_starting("Press Ctrl-C to stop.")
    db = tmp_path / "history.db"
    _wait_for_runs(db, "ticker", 1)
    _register(tmp_path, version=2)
    served.line_starting("Now serving 'ticker' (registered, project 'demo', version 2)")
    deadline = time.monotonic() + 20
    words: set[str] = set()
    while "TICK 2" not in words and time.monotonic() < deadline:
        with open_store(db) as store:
            runs = store.list_flow_runs(flow_name="ticker", state="Success", limit=500)
        words = {str(run["parameters"].get("word", "")).upper() for run in runs}
        time.sleep(0.1)
    assert {"TICK", "TICK 2"} <= words
    _, rest = served.stop(signal.SIGINT)
    assert rest[-1] == "Stopped serving."


def test_serve_filters_that_leave_nothing_are_a_usage_error(tmp_path: Path) -> None:
    err = io.StringIO()
    env = _env(tmp_path)
    from headwater.testing._isolation import temporary_settings

    with temporary_settings({"history.path": str(tmp_path / "empty.db"), "history.url": ""}):
        assert main(["serve", "--project", "nobody"], env=env, stderr=err) == 2
        assert "no flow to serve" in err.getvalue() and "flow.register()" in err.getvalue()
        err = io.StringIO()
        assert main(["agent", "start", "missing.py"], env=env, stderr=err) == 2
        assert "missing.py" in err.getvalue()


def test_serve_refuses_a_remote_host_without_allow_remote() -> None:
    err = io.StringIO()
    assert main(["serve", "--host", "0.0.0.0"], stderr=err) == 2
    assert "--allow-remote" in err.getvalue()


def test_registered_flows_that_cannot_run_are_named(headwater_home: Path) -> None:
    import datetime as dt

    from headwater import Flow, Task
    from headwater.schedules import IntervalSchedule

    hourly = IntervalSchedule(interval=dt.timedelta(hours=1))
    Flow("paused", tasks=[Task(name="t")], schedule=hourly).register(
        no_url=True, set_schedule_active=False
    )
    gone = Flow("gone", tasks=[Task(name="t")], schedule=hourly)
    gone.register(no_url=True)
    Path(gone.storage.flows["gone"]).unlink()
    out, err = io.StringIO(), io.StringIO()
    assert main(["serve", "--no-ui"], stdout=out, stderr=err) == 2
    assert "warning: registered flow 'gone' (version 1) cannot be loaded" in out.getvalue()
    assert "none of the flows has an active schedule" in err.getvalue()


BLOCK_UI = "import sys\nsys.modules['starlette'] = None\n"


def test_without_the_ui_extra_serve_says_so_and_no_ui_serves(
    tmp_path: Path, flows_file: Path, command: Callable[..., Command]
) -> None:
    code = BLOCK_UI + "from headwater.cli import main\nsys.exit(main())\n"
    done = subprocess.run(
        [sys.executable, "-c", code, "serve", "flows.py"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert done.returncode == 1 and done.stdout == ""
    assert "headwater[ui]" in done.stderr and "--no-ui" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    served = command("serve", "flows.py:ticker", "--no-ui", prelude=BLOCK_UI)
    served.line_starting("Press Ctrl-C to stop.")
    _wait_for_runs(tmp_path / "history.db", "ticker", 1)
    _, rest = served.stop(signal.SIGINT)
    assert rest[-1] == "Stopped serving."
