"""State-change notifications: slack_notifier against a real local HTTP server, callback_factory."""

from __future__ import annotations

import functools
import http.server
import json
import queue
import threading

import pytest

from headwater import Flow, task
from headwater.engine.state import Failed, Running, Success
from headwater.utilities.configuration import set_temporary_config
from headwater.utilities.notifications import callback_factory, slack_notifier


class _Webhook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.put(
            {
                "path": self.path,
                "content_type": self.headers["Content-Type"],
                "json": json.loads(body),
            }
        )
        status = self.server.status
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"invalid_payload")

    def log_message(self, format, *args):
        pass


@pytest.fixture
def webhook():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    server.received = queue.Queue()
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def received(server) -> list[dict]:
    out = []
    while not server.received.empty():
        out.append(server.received.get_nowait())
    return out


def failing_flow(handler):
    @task(state_handlers=[handler])
    def load_data():
        raise ValueError("database unreachable")

    with Flow("nightly") as flow:
        load_data()
    return flow


class TestSlackNotifier:
    def test_failure_is_posted_as_json(self, webhook):
        flow = failing_flow(functools.partial(slack_notifier, only_states=[Failed]))
        state = flow.run(context={"secrets": {"SLACK_WEBHOOK_URL": webhook.url}})
        assert state.is_failed()
        [request] = received(webhook)
        assert request["path"] == "/hooks/T000/B000"
        assert request["content_type"] == "application/json"
        message = request["json"]
        assert message["text"] == "Task 'load_data' is now in a Failed state"
        [attachment] = message["attachments"]
        assert attachment["title"] == "Failed"
        assert attachment["color"] == Failed.color
        fields = {f["title"]: f["value"] for f in attachment["fields"]}
        assert "database unreachable" in fields["Message"]
        assert fields["Exception"] == "ValueError('database unreachable')"

    def test_keyword_only_call_returns_a_configured_handler(self, webhook):
        flow = failing_flow(slack_notifier(only_states=[Failed]))
        flow.run(context={"secrets": {"SLACK_WEBHOOK_URL": webhook.url}})
        assert [r["json"]["attachments"][0]["title"] for r in received(webhook)] == ["Failed"]

    def test_plain_handler_reports_every_change(self, webhook):
        flow = failing_flow(slack_notifier)
        flow.run(context={"secrets": {"SLACK_WEBHOOK_URL": webhook.url}})
        assert [r["json"]["attachments"][0]["title"] for r in received(webhook)] == [
            "Running",
            "Failed",
        ]

    def test_ignore_states(self, webhook):
        flow = failing_flow(functools.partial(slack_notifier, ignore_states=[Running]))
        flow.run(context={"secrets": {"SLACK_WEBHOOK_URL": webhook.url}})
        assert [r["json"]["attachments"][0]["title"] for r in received(webhook)] == ["Failed"]

    def test_flow_level_handler_and_config_secret(self, webhook):
        @task
        def fine():
            return 1

        handler = functools.partial(
            slack_notifier, only_states=[Success], webhook_secret="TEAM_HOOK"
        )
        with Flow("reporting", state_handlers=[handler]) as flow:
            fine()
        with set_temporary_config({"context.secrets.TEAM_HOOK": webhook.url}):
            assert flow.run().is_successful()
        [request] = received(webhook)
        assert request["json"]["text"] == "Flow 'reporting' is now in a Success state"

    def test_missing_secret_names_it(self):
        with pytest.raises(
            ValueError, match="'NO_SUCH_HOOK'.*HEADWATER__CONTEXT__SECRETS__NO_SUCH_HOOK"
        ):
            slack_notifier(Flow("x"), Running(), Failed("bad"), webhook_secret="NO_SUCH_HOOK")

    def test_rejected_post_is_an_error(self, webhook):
        webhook.status = 400
        with set_temporary_config({"context.secrets.SLACK_WEBHOOK_URL": webhook.url}):
            with pytest.raises(
                ValueError,
                match=r"Slack notification for 'x' failed: the webhook answered HTTP 400",
            ):
                slack_notifier(Flow("x"), Running(), Failed("bad"))

    def test_custom_backend(self):
        sent = []
        with set_temporary_config(
            {"context.secrets.SLACK_WEBHOOK_URL": "https://example.invalid/hook"}
        ):
            result = slack_notifier(
                Flow("x"),
                Running(),
                Failed("bad"),
                backend=lambda url, payload: sent.append((url, payload)),
            )
        assert result.is_failed()
        assert sent[0][0] == "https://example.invalid/hook"
        assert sent[0][1]["attachments"][0]["title"] == "Failed"


class TestCallbackFactory:
    def test_callback_runs_only_when_the_check_passes(self):
        seen = []
        handler = callback_factory(
            lambda obj, state: seen.append((obj.name, type(state).__name__)),
            lambda s: s.is_failed(),
        )
        flow = failing_flow(handler)
        flow.run()
        assert seen == [("load_data", "Failed")]

    def test_handler_returns_the_new_state(self):
        handler = callback_factory(lambda obj, state: "ignored", lambda s: True)
        new = Success(result=1)
        assert handler(None, Running(), new) is new
