"""The UI over a real loopback socket (uvicorn in a thread), and the ``headwater ui`` command in a
process of its own: the URL it prints, loopback only, ``--flow``, and a clean stop on Ctrl-C."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ui_support import TOKEN, History, etl_flow

from headwater.cli import main
from headwater.history import open_store


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait_state(base: str, run_id: int, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run: dict[str, Any] = json.loads(_get(f"{base}/api/runs/{run_id}")[2])
        if run["state"] == wanted:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} is {run['state']}, not {wanted}")


def test_pages_and_api_over_a_real_socket(serve: Any, history: History) -> None:
    server = serve(history.db)
    assert server.url.startswith("http://127.0.0.1:") and server.port > 0
    status, headers, body = _get(f"{server.url}/api/runs?flow=etl")
    assert status == 200 and json.loads(body)["total"] == 2
    status, headers, body = _get(f"{server.url}/runs/{history.runs['evil']}")
    assert status == 200 and b"&lt;script&gt;alert(&#39;task&#39;)" in body
    assert b"<script>alert" not in body
    assert "default-src 'none'" in headers["content-security-policy"]


def test_the_token_redirect_never_leaves_the_ui(serve: Any, history: History) -> None:
    import http.client

    server = serve(history.db)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", f"//evil.example/x?token={TOKEN}")
        response = connection.getresponse()
        assert response.status == 303
        assert response.getheader("location") == "/evil.example/x"
    finally:
        connection.close()


def test_starting_a_flow_over_a_real_socket(serve: Any, tmp_path: Path) -> None:
    server = serve(tmp_path / "history.db", flows=[etl_flow()])
    url = f"{server.url}/api/registered/etl/runs"
    status, body = _post(url, {"parameters": {"n": 2}}, {})
    assert status == 403
    status, body = _post(url, {"parameters": {"n": 2}}, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 201, body
    assert _wait_state(server.url, body["run_id"], "Success")["parameters"]["n"] == 2


def test_a_remote_host_is_refused_unless_allowed(tmp_path: Path) -> None:
    from headwater.ui import UIServer

    with pytest.raises(ValueError, match="allow_remote"):
        UIServer(tmp_path / "history.db", host="0.0.0.0")


def test_the_command_refuses_a_remote_host_and_says_how_to_allow_it() -> None:
    err = io.StringIO()
    assert main(["ui", "--host", "0.0.0.0"], stderr=err) == 2
    assert "--allow-remote" in err.getvalue() and "0.0.0.0" in err.getvalue()


FLOW_FILE = """
from headwater import Flow, Parameter, task

@task
def shout(word):
    return word.upper()

with Flow("shouter") as flow:
    shout(Parameter("word", default="hi"))
"""


BROWSER_SCRIPT = """
import sys
with open(sys.argv[1], "w") as f:
    f.write(sys.argv[2])
"""


def _start_command(
    tmp_path: Path, *args: str, **env_vars: str
) -> tuple[subprocess.Popen[str], str]:
    (tmp_path / "browser.py").write_text(BROWSER_SCRIPT)
    opened = tmp_path / "opened.txt"
    browser = f"{sys.executable} {tmp_path / 'browser.py'} {opened} %s"
    env = {
        **os.environ,
        "HEADWATER__HOME_DIR": str(tmp_path / "home"),
        "BROWSER": browser,
        **env_vars,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater", "ui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # blocks until the URL is printed (or the process ends)
    if not first.startswith("headwater UI: "):
        proc.kill()
        raise AssertionError(f"no URL printed: {first!r} {proc.communicate()}")
    return proc, first.removeprefix("headwater UI: ").strip()


def test_the_command_serves_prints_the_url_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "shout.py").write_text(FLOW_FILE)
    db = tmp_path / "runs.db"
    # recording off in the configuration: the runs the UI starts are recorded all the same
    proc, url = _start_command(
        tmp_path, "--db", str(db), "--flow", "shout.py", HEADWATER__HISTORY__ENABLED="false"
    )
    try:
        base, _, token = url.partition("/?token=")
        assert base.startswith("http://127.0.0.1:") and len(token) > 20
        status, _, body = _get(f"{base}/api/registered")
        assert status == 200 and json.loads(body)["flows"][0]["name"] == "shouter"
        status, body = _post(
            f"{base}/api/registered/shouter/runs", {}, {"X-Headwater-Token": token}
        )
        assert status == 201, body
        assert _wait_state(base, body["run_id"], "Success")["parameters"] == {"word": "hi"}
        assert _get(f"{base}/runs")[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "headwater UI stopped." in out
    assert not (tmp_path / "opened.txt").exists()  # no browser without --open
    with open_store(db) as store:  # the run was recorded where --db said
        assert [r["state"] for r in store.list_flow_runs(flow_name="shouter")] == ["Success"]


def test_the_command_opens_a_browser_with_open(tmp_path: Path) -> None:
    proc, url = _start_command(tmp_path, "--db", str(tmp_path / "runs.db"), "--open")
    opened = tmp_path / "opened.txt"
    try:
        deadline = time.monotonic() + 20
        while not (opened.exists() and opened.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


@pytest.mark.parametrize("missing", ["starlette", "uvicorn"])
def test_without_the_ui_extra_the_command_names_it(tmp_path: Path, missing: str) -> None:
    script = (
        f"import sys\nsys.modules[{missing!r}] = None\n"
        "from headwater.cli import main\n"
        f"sys.exit(main(['ui', '--db', {str(tmp_path / 'h.db')!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"needs {missing}" in proc.stderr and 'pip install "headwater[ui]"' in proc.stderr


def test_importing_headwater_and_its_cli_imports_no_server_library() -> None:
    code = (
        "import sys, headwater, headwater.cli, headwater.ui\n"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr
