"""Prefect 3's server-side modules: local variables and events; the rest raise, naming the local way."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from headwater import flow, task
from headwater.exceptions import ServerNotAvailableError
from headwater.variables import Variable

# --------------------------------------------------------------------------- the stand-ins --
# (module, name, how a script uses it, words the message must hold besides the name)
STAND_INS: list[tuple[str, str, Callable[[Any], Any], tuple[str, ...]]] = [
    ("headwater.automations", "Automation", lambda c: c(name="a", trigger=None), ("on_failure",)),
    ("headwater.automations", "Automation", lambda c: c.read(name="a"), ("on_failure",)),
    ("headwater.automations", "EventTrigger", lambda c: c(expect={"x"}), ("hook",)),
    ("headwater.automations", "RunDeployment", lambda c: c(), ("on_completion",)),
    ("headwater.automations", "SendNotification", lambda c: c(), ("notifications",)),
    ("headwater.events", "get_events_client", lambda f: f(), ("on_failure",)),
    ("headwater.events", "DeploymentEventTrigger", lambda c: c(expect={"x"}), ("hook",)),
    ("headwater.events", "Automation", lambda c: c(), ("on_failure",)),
    ("headwater.workers", "ProcessWorker", lambda c: c(work_pool_name="p"), ("flow.serve",)),
    ("headwater.workers.process", "ProcessWorker", lambda c: c("p"), ("headwater.serve",)),
    ("headwater.workers.base", "BaseWorker", lambda c: c("p"), ("flow.serve",)),
    ("headwater.workers.base", "BaseJobConfiguration", lambda c: c(), ("flow.serve",)),
    ("headwater.client.orchestration", "get_client", lambda f: f(), ("run history",)),
    ("headwater.client.orchestration", "get_client", lambda f: f(sync_client=True), ("runs",)),
    ("headwater.client.orchestration", "PrefectClient", lambda c: c("url"), ("run history",)),
    ("headwater", "get_client", lambda f: f(), ("run history",)),
    ("headwater", "deploy", lambda f: f(), ("flow.serve",)),
    ("headwater.blocks.notifications", "SlackWebhook", lambda c: c.load("x"), ("on_failure",)),
    (
        "headwater.blocks.notifications",
        "SlackWebhook",
        lambda c: c(url="u"),
        ("[context.secrets]",),
    ),
    ("headwater.blocks.notifications", "MicrosoftTeamsWebhook", lambda c: c(url="u"), ("hook",)),
    (
        "headwater.blocks.notifications",
        "SendgridEmail",
        lambda c: asyncio.run(c.aload("x")),
        ("hook",),
    ),
    ("headwater.blocks.webhook", "Webhook", lambda c: c(url="u"), ("urllib.request",)),
    ("headwater.blocks.webhook", "Webhook", lambda c: c.load("hook"), ("Secret.load",)),
    (
        "headwater.filesystems",
        "RemoteFileSystem",
        lambda c: c(basepath="s3://b"),
        ("LocalFileSystem",),
    ),
    ("headwater.deployments", "run_deployment", lambda f: f("etl/nightly"), ("call the flow",)),
    (
        "headwater.deployments",
        "arun_deployment",
        lambda f: f("etl/nightly"),
        ("call the flow",),
    ),
    ("headwater.task_worker", "TaskWorker", lambda c: c(), ("task.submit",)),
    ("headwater.task_worker", "serve", lambda f: f(), ("flow.serve",)),
    ("headwater.input", "receive_input", lambda f: f(int), ("flow parameters",)),
    ("headwater.input", "RunInput", lambda c: c.receive(), ("flow parameters",)),
    ("headwater.input", "RunInput", lambda c: c(approved=True).send_to("id"), ("parameters",)),
    ("headwater.input", "Keyset", lambda c: c(), ("parameters",)),
    ("headwater.input", "create_flow_run_input", lambda f: f("k", 1), ("parameters",)),
    ("headwater.flow_runs", "wait_for_flow_run", lambda f: f("id"), ("call the flow",)),
    ("headwater.flow_runs", "pause_flow_run", lambda f: f(), ("pause_task()",)),
    ("headwater.flow_runs", "resume_flow_run", lambda f: f("id"), ("run the flow again",)),
    ("headwater.docker", "DockerImage", lambda c: c(name="etl"), ("flow.serve",)),
    (
        "headwater.runner.storage",
        "GitRepository",
        lambda c: c(url="https://example.com/flows.git"),
        ("import the flow's module",),
    ),
    (
        "headwater.flows",
        "flow",
        lambda f: f.from_source("https://x/repo.git", "a.py:f"),
        ("import the flow's module",),
    ),
]


@pytest.mark.parametrize(
    ("module", "name", "use", "words"),
    STAND_INS,
    ids=[f"{m}.{n}-{i}" for i, (m, n, _, _) in enumerate(STAND_INS)],
)
def test_a_server_feature_imports_and_its_use_names_the_local_way(
    module: str, name: str, use: Callable[[Any], Any], words: tuple[str, ...]
) -> None:
    obj = getattr(importlib.import_module(module), name)
    with pytest.raises(ServerNotAvailableError) as info:
        use(obj)
    message = str(info.value)
    feature = "from_source" if name == "flow" else name
    assert feature in message and "Instead, " in message
    for word in words:
        assert word in message, (word, message)


def test_flow_deploy_and_from_source_raise_naming_serve() -> None:
    @flow
    def etl() -> int:
        return 1

    with pytest.raises(ServerNotAvailableError, match=r"Flow\.deploy\(\).*flow\.serve"):
        etl.deploy(name="nightly", work_pool_name="pool", image="etl:latest")
    with pytest.raises(ServerNotAvailableError, match=r"Flow\.from_source\(\).*serve"):
        etl.from_source(source="https://example.com/repo.git", entrypoint="etl.py:etl")
    assert etl() == 1  # the flow itself is untouched


def test_every_name_prefect_exports_from_these_modules_exists() -> None:
    expected = {
        "headwater.automations": "Automation EventTrigger CompoundTrigger SequenceTrigger "
        "MetricTrigger MetricTriggerQuery Posture PrefectMetric CallWebhook CancelFlowRun "
        "ChangeFlowRunState DeclareIncident PauseWorkPool ResumeAutomation SuspendFlowRun",
        "headwater.events": "emit_event Event Automation DeploymentEventTrigger "
        "DeploymentCompoundTrigger get_events_client get_events_subscriber Posture",
        "headwater.workers": "ProcessWorker",
        "headwater.workers.base": "BaseWorker BaseJobConfiguration BaseVariables BaseWorkerResult",
        "headwater.workers.process": "ProcessWorker ProcessJobConfiguration ProcessVariables",
        "headwater.client.orchestration": "get_client PrefectClient SyncPrefectClient",
        "headwater.client.schemas.objects": "FlowRun TaskRun State StateType",
        "headwater.blocks.notifications": "SlackWebhook MicrosoftTeamsWebhook PagerDutyWebHook "
        "TwilioSMS OpsgenieWebhook MattermostWebhook DiscordWebhook SendgridEmail "
        "CustomWebhookNotificationBlock AppriseNotificationBlock",
        "headwater.blocks.webhook": "Webhook",
        "headwater.flow_runs": "wait_for_flow_run pause_flow_run resume_flow_run "
        "suspend_flow_run apause_flow_run aresume_flow_run asuspend_flow_run",
        "headwater.variables": "Variable",
        "headwater.docker": "DockerImage",
        "headwater.runner.storage": "GitRepository RemoteStorage LocalStorage BlockStorageAdapter",
        "headwater.task_worker": "TaskWorker StopTaskWorker serve aserve",
        "headwater.input": "RunInput RunInputMetadata Keyset GetInputHandler receive_input "
        "send_input create_flow_run_input read_flow_run_input filter_flow_run_input "
        "delete_flow_run_input keyset_from_base_key keyset_from_paused_state",
        "headwater.deployments": "run_deployment arun_deployment deploy serve",
    }
    for module, names in expected.items():
        imported = importlib.import_module(module)
        for name in names.split():
            assert hasattr(imported, name), f"{module}.{name}"
            assert name in imported.__all__, f"{module}.__all__ lacks {name}"
    from headwater.client import Client  # Prefect 1's client is still there

    assert Client.__module__ == "headwater.client.client"


def test_a_custom_worker_class_can_be_defined_but_not_started() -> None:
    from headwater.workers.base import BaseJobConfiguration, BaseWorker

    class MyConfiguration(BaseJobConfiguration):
        command: str = "run"

    class MyWorker(BaseWorker):
        type = "mine"
        job_configuration = MyConfiguration

    with pytest.raises(ServerNotAvailableError, match=r"MyWorker\(\).*flow\.serve"):
        MyWorker(work_pool_name="pool")


def test_trigger_enums_are_plain_enums() -> None:
    from headwater.automations import MetricTriggerOperator, Posture, PrefectMetric

    assert Posture.Reactive == "Reactive" and Posture("Proactive") is Posture.Proactive
    assert MetricTriggerOperator.GTE.value == ">=" and PrefectMetric.lateness.value == "lateness"


def test_hook_annotations_name_the_objects_hooks_receive() -> None:
    from headwater.client.schemas.objects import FlowRun, State, StateType

    seen: list[tuple[type, type, StateType]] = []

    def remember(flow: Any, flow_run: FlowRun, state: State) -> None:
        seen.append((type(flow_run), type(state), state.type))

    @flow(on_completion=[remember])
    def hello() -> str:
        return "hi"

    hello()
    assert seen == [(FlowRun, State, StateType.COMPLETED)]


# ------------------------------------------------------------------------------ variables --
@pytest.fixture
def home(headwater_home: Any) -> Any:
    return headwater_home


def test_a_variable_is_set_read_overwritten_and_unset(home: Any) -> None:
    made = Variable.set("api_base_url", "https://example.com", tags=["config"])
    assert made == Variable("api_base_url", "https://example.com", ["config"])
    assert made.model_dump() == {
        "name": "api_base_url",
        "value": "https://example.com",
        "tags": ["config"],
    }
    assert Variable.get("api_base_url") == "https://example.com"
    with pytest.raises(ValueError, match="already exists. Use `overwrite=True`"):
        Variable.set("api_base_url", "other")
    assert Variable.get("api_base_url") == "https://example.com"
    Variable.set("api_base_url", {"url": "https://example.org", "retries": [1, 2]}, overwrite=True)
    assert Variable[dict].get("api_base_url") == {"url": "https://example.org", "retries": [1, 2]}
    document = json.loads((home / "variables" / "api_base_url.json").read_text())
    assert document["tags"] == [] and document["created"] <= document["updated"]
    assert Variable.unset("api_base_url") is True
    assert Variable.unset("api_base_url") is False
    assert Variable.get("api_base_url") is None
    assert Variable.get("api_base_url", default=7) == 7


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("Bad Name", 1, "lowercase letters, numbers, dashes and underscores"),
        ("x" * 256, 1, "at most 255"),
        ("when", object(), "must be JSON"),
        ("when", float("nan"), "must be JSON"),
        ("big", "x" * 5000, "at most 5000"),
    ],
)
def test_bad_names_and_values_say_what_is_allowed(
    home: Any, name: str, value: Any, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        Variable.set(name, value)
    assert not (home / "variables" / f"{name[:20]}.json").exists()


def test_bad_tags_and_a_damaged_file_are_reported(home: Any) -> None:
    with pytest.raises(TypeError, match="tags must be a list of strings"):
        Variable.set("tagged", 1, tags="config")  # type: ignore[arg-type]
    (home / "variables").mkdir(exist_ok=True)
    (home / "variables" / "damaged.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a variable's document"):
        Variable.get("damaged")
    Variable.set("damaged", "fixed", overwrite=True)
    assert Variable.get("damaged") == "fixed"


def test_a_flow_reads_and_writes_variables(home: Any) -> None:
    @task
    def bump() -> int:
        count: int = Variable.get("runs", default=0)
        Variable.set("runs", count + 1, overwrite=True)
        return count + 1

    @flow
    def counting() -> int:
        bump()
        return bump()

    assert counting() == 2 and counting() == 4


def test_async_code_awaits_set_get_and_unset_as_in_prefect(home: Any) -> None:
    @task
    async def read_it() -> Any:
        return await Variable.get("greeting")

    @flow
    async def greeting() -> tuple[Any, ...]:
        made = await Variable.set("greeting", "hello")
        value = await read_it()
        forced = Variable.get("greeting", _sync=True)
        also = await Variable.aget("greeting")
        await Variable.aset("greeting", "bye", overwrite=True)
        removed = await Variable.unset("greeting")
        again = await Variable.aunset("greeting")
        return made.value, value, forced, also, removed, again

    assert asyncio.run(greeting()) == ("hello", "hello", "hello", "hello", True, False)

    @flow
    def sync_flow_in_a_loop() -> Any:
        return Variable.get("missing", default="sync")

    async def main() -> Any:
        return sync_flow_in_a_loop()  # a sync flow gets values, even under a running loop

    assert asyncio.run(main()) == "sync"


def _python(code: str, home: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEADWATER__HOME_DIR": str(home)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_a_variable_set_in_one_process_is_read_in_another(home: Any) -> None:
    Variable.set("threshold", 0.75, tags=["model"])
    done = _python(
        """
        from headwater.variables import Variable
        assert Variable.get("threshold") == 0.75
        Variable.set("threshold", 0.9, overwrite=True)
        Variable.set("from_child", ["a", 1, None])
        """,
        home,
    )
    assert done.returncode == 0, done.stderr
    assert Variable.get("threshold") == 0.9
    assert Variable.get("from_child") == ["a", 1, None]


def test_only_one_of_racing_processes_creates_a_variable(home: Any) -> None:
    code = """
        import sys
        from headwater.variables import Variable
        try:
            Variable.set("leader", sys.argv[1])
        except ValueError:
            print("lost")
        else:
            print("won")
    """
    env = {**os.environ, "HEADWATER__HOME_DIR": str(home)}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(4)
    ]
    outcomes = []
    for racer in racers:
        out, err = racer.communicate(timeout=60)
        assert racer.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    assert Variable.get("leader") == str(outcomes.index("won"))


# --------------------------------------------------------------------------------- events --
def test_emitted_events_are_kept_with_their_run_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from headwater.events import Event, emit_event, events_of

    @task(task_run_name="announce")
    def announce(table: str) -> None:
        emit_event("table.announced", resource={"prefect.resource.id": f"table.{table}"})

    @flow(flow_run_name="publishing")
    def publish(table: str) -> str:
        emit_event(
            "table.refreshed",
            resource={"prefect.resource.id": f"table.{table}", "owner": "data"},
            payload={"rows": 42},
            related=[{"prefect.resource.id": "db.warehouse", "prefect.resource.role": "db"}],
        )
        announce(table)
        return table

    with caplog.at_level(logging.DEBUG, logger="headwater.events"):
        state = publish("orders", return_state=True)
    assert state.is_completed() and state.result() == "orders"
    refreshed, announced = events_of(state.run_id)
    assert isinstance(refreshed, Event) and refreshed.event == "table.refreshed"
    assert refreshed.payload == {"rows": 42} and refreshed.resource["owner"] == "data"
    roles = {r["prefect.resource.role"]: r for r in refreshed.related}
    assert roles["flow-run"]["prefect.resource.id"] == f"prefect.flow-run.{state.run_id}"
    assert roles["flow-run"]["prefect.resource.name"] == "publishing"
    assert roles["flow"]["prefect.resource.name"] == "publish" and "db" in roles
    announced_roles = {r["prefect.resource.role"]: r for r in announced.related}
    assert announced_roles["task-run"]["prefect.resource.name"] == "announce"
    assert "event table.refreshed about table.orders" in caplog.text


def test_events_outside_runs_and_bad_events() -> None:
    from headwater.events import emit_event, events_of

    first = emit_event("outside.one", resource={"prefect.resource.id": "thing"})
    second = emit_event("outside.two", resource={"prefect.resource.id": "thing"}, follows=first)
    assert events_of(None)[-2:] == [first, second] and second.follows == first.id
    with pytest.raises(ValueError, match="'prefect.resource.id' key"):
        emit_event("no.id", resource={"name": "x"})
    with pytest.raises(ValueError, match="name must be a string"):
        emit_event("", resource={"prefect.resource.id": "thing"})
