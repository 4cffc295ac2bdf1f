"""A secret never leaves the process in clear: files, cache entries, state displays, logs, errors."""

from __future__ import annotations

import datetime
import http.server
import logging
import threading
import traceback
from pathlib import Path

import pytest

from headwater import Flow, task, unmapped
from headwater.engine import cache_validators as cv
from headwater.engine.results import LocalResult
from headwater.engine.state import Cached, Failed, Running
from headwater.tasks.secrets import EnvVarSecret, HeadwaterSecret
from headwater.utilities.configuration import set_temporary_config
from headwater.utilities.notifications import slack_notifier

MARKER = "S3CR3T-marker-123"
OTHER_MARKER = "S3CR3T-marker-456"
API_MARKER = "S3CR3T-api-key-789"
HOUR = datetime.timedelta(hours=1)


def written_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def assert_nothing_holds(root: Path, *secrets: str) -> None:
    files = written_files(root)
    assert files, "the flow should have written files"
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{path} holds the secret"
            assert secret not in str(path), f"{path} is named after the secret"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A flow whose cached tasks take secrets, with every kind of storage switched on."""
    monkeypatch.setenv("HW_MASK_TOKEN", MARKER)
    calls: list = []

    @task(cache_for=HOUR, cache_validator=cv.all_inputs)
    def connect(token, n):
        calls.append(n)
        return f"connected {n} with a token of {len(token)} characters"

    @task(cache_for=HOUR)
    def call_api(key):
        calls.append("api")
        return "called"

    with Flow(
        "secrets-stay-home",
        cache_dir=str(tmp_path / "cache"),
        result=LocalResult(dir=tmp_path / "results"),
    ) as flow:
        token = EnvVarSecret("HW_MASK_TOKEN")
        single = connect(token, 0)
        many = connect.map(token=unmapped(token), n=[1, 2])
        api_key = HeadwaterSecret("API_KEY")
        call_api(api_key)

    def run():
        return flow.run(
            context={"caches": {}, "checkpointing": True, "secrets": {"API_KEY": API_MARKER}}
        )

    with set_temporary_config({"home_dir": str(tmp_path / "home")}):
        yield {"run": run, "calls": calls, "token": token, "single": single, "many": many}


class TestFiles:
    def test_cache_entries_and_checkpoints_never_hold_a_secret(self, tmp_path, setup):
        first = setup["run"]()
        assert first.is_successful()
        assert_nothing_holds(tmp_path, MARKER, API_MARKER)
        assert list((tmp_path / "cache").rglob("*.hwcache"))
        assert list((tmp_path / "results").rglob("*"))

    def test_the_cache_still_validates_secret_inputs(self, tmp_path, setup, monkeypatch):
        setup["run"]()
        second = setup["run"]()  # a fresh in-process cache: only the disk can help
        assert type(second.result[setup["single"]]) is Cached
        assert all(type(c) is Cached for c in second.result[setup["many"]].map_states)
        assert setup["calls"].count(0) == 1 and setup["calls"].count("api") == 1

        monkeypatch.setenv("HW_MASK_TOKEN", OTHER_MARKER)  # another secret: all_inputs rejects
        third = setup["run"]()
        assert type(third.result[setup["single"]]) is Cached  # ran again (calls below)
        assert setup["calls"].count(0) == 2
        assert_nothing_holds(tmp_path, MARKER, OTHER_MARKER, API_MARKER)

    def test_a_secret_task_is_never_checkpointed_even_when_asked(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HW_MASK_TOKEN", MARKER)
        secret = EnvVarSecret("HW_MASK_TOKEN")
        secret.checkpoint = True
        secret.result = LocalResult(dir=tmp_path / "forced", location="token.txt")
        with Flow("forced") as flow:
            secret()
        state = flow.run(context={"checkpointing": True})
        assert state.is_successful()
        assert written_files(tmp_path / "forced") == []


class TestDisplays:
    def test_state_tables_and_reprs_show_stars(self, setup):
        state = setup["run"]()
        token_state = state.result[setup["token"]]
        assert token_state.result == MARKER  # the value is there for downstream tasks...
        for text in (
            state._repr_html_(),
            token_state._repr_html_(),
            repr(state),
            repr(token_state),
            repr(state.result),
        ):
            assert MARKER not in text and API_MARKER not in text  # ...but never shown
        assert "****" in state._repr_html_() and "****" in token_state._repr_html_()
        assert "connected 0" in state._repr_html_()  # ordinary results are still shown

    def test_a_mapped_secret_task_shows_stars(self, monkeypatch):
        monkeypatch.setenv("HW_MASK_A", MARKER)
        monkeypatch.setenv("HW_MASK_B", OTHER_MARKER)
        with Flow("mapped-secret") as flow:
            values = EnvVarSecret().map(name=["HW_MASK_A", "HW_MASK_B"])
        state = flow.run()
        mapped = state.result[values]
        assert mapped.result == [MARKER, OTHER_MARKER]
        for text in (state._repr_html_(), mapped._repr_html_(), mapped.map_states[0]._repr_html_()):
            assert MARKER not in text and OTHER_MARKER not in text


class TestLogs:
    def test_no_log_record_holds_a_secret(self, setup, caplog):
        with caplog.at_level(logging.DEBUG, logger="headwater"):
            setup["run"]()
            setup["run"]()
        assert caplog.records
        assert MARKER not in caplog.text and API_MARKER not in caplog.text

    def test_a_failing_notifier_logs_no_webhook_url(self, caplog):
        webhook = f"hooks.slack.com/services/T000/B000/{MARKER}"  # no scheme: malformed

        @task(state_handlers=[slack_notifier(only_states=[Failed])])
        def breaks():
            raise ValueError("boom")

        with Flow("notified") as flow:
            breaks()
        with set_temporary_config({"context.secrets.SLACK_WEBHOOK_URL": webhook}):
            with caplog.at_level(logging.DEBUG, logger="headwater"):
                state = flow.run()
        assert state.is_failed()
        assert caplog.records
        assert MARKER not in caplog.text
        assert all(MARKER not in str(s.message) for s in state.result.values())


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.paths.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _NotFound)
    httpd.paths = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def notifier_error(url: str, **kwargs) -> ValueError:
    with set_temporary_config({"context.secrets.SLACK_WEBHOOK_URL": url}):
        with pytest.raises(ValueError) as info:
            slack_notifier(Flow("x"), Running(), Failed("bad"), **kwargs)
    return info.value


def assert_hidden(error: BaseException, secret: str = MARKER) -> None:
    text = "".join(traceback.format_exception(error))
    assert secret not in text
    assert error.__cause__ is None and error.__context__ is None


class TestNotifierErrors:
    @pytest.mark.parametrize(
        "url",
        [
            f"hooks.slack.com/services/T000/B000/{MARKER}",
            f"http://127.0.0.1:{MARKER}/hooks",
            f"https://hooks.slack.com/services/{MARKER}\n",
            f"https://hooks.slack.com/services/{MARKER} extra",
            f"ftp://hooks.slack.com/services/{MARKER}",
            f"https:///services/{MARKER}",
            f"https://[{MARKER}/services",
        ],
    )
    def test_a_malformed_webhook_url_is_not_quoted(self, url):
        error = notifier_error(url)
        assert "'SLACK_WEBHOOK_URL' does not hold a usable webhook URL" in str(error)
        assert_hidden(error)

    def test_a_rejected_post_does_not_quote_the_url(self, server):
        url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/{MARKER}"
        error = notifier_error(url)
        assert server.paths == [f"/services/T000/{MARKER}"]  # a real request was made
        assert "HTTP 404" in str(error)
        assert_hidden(error)

    def test_an_unreachable_webhook_does_not_quote_the_url(self, server):
        port = server.server_address[1]
        server.shutdown()
        server.server_close()
        error = notifier_error(f"http://127.0.0.1:{port}/services/{MARKER}")
        assert "could not be reached" in str(error)
        assert_hidden(error)

    def test_a_backend_error_quoting_the_url_is_masked(self):
        def backend(url, payload):
            raise ConnectionError(f"could not post to {url}")

        error = notifier_error(f"https://hooks.slack.com/services/{MARKER}", backend=backend)
        assert "could not post to" in str(error)
        assert_hidden(error)
