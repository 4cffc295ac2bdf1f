"""Prefect 1.4.1's module paths beyond SPEC §1: each imports and holds the names it had.

(The §1 table itself is checked in ``test_import_surface.py``.)
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

SURFACE = {
    "headwater": "Client",
    "headwater.exceptions": (
        "HeadwaterError HeadwaterException PrefectError PrefectException HeadwaterSignal "
        "PrefectSignal TaskTimeoutSignal VersionLockMismatchSignal ClientError ObjectNotFoundError "
        "AuthorizationError FlowStorageError ConfigurationError SerializationError "
        "ServerNotAvailableError"
    ),
    "headwater.engine.state": "_MetaState MetaState",
    "headwater.engine.flow_runner": "FlowRunnerInitializeResult",
    "headwater.engine.task_runner": "TaskRunnerInitializeResult",
    "headwater.engine.runner": "call_state_handlers",
    "headwater.core.edge": "Edge Task",
    "headwater.run_configs": (
        "RunConfig UniversalRun LocalRun DockerRun KubernetesRun ECSRun VertexRun"
    ),
    "headwater.run_configs.base": "RunConfig UniversalRun",
    "headwater.run_configs.local": "LocalRun",
    "headwater.run_configs.docker": "DockerRun",
    "headwater.run_configs.kubernetes": "KubernetesRun",
    "headwater.run_configs.ecs": "ECSRun",
    "headwater.run_configs.vertex": "VertexRun",
    "headwater.storage": (
        "Storage Local Module S3 GCS Azure Docker Webhook GitHub GitLab Bitbucket CodeCommit Git "
        "get_default_storage_class"
    ),
    "headwater.storage.s3": "S3",
    "headwater.storage.gcs": "GCS",
    "headwater.storage.azure": "Azure",
    "headwater.storage.docker": "Docker",
    "headwater.storage.webhook": "Webhook",
    "headwater.storage.github": "GitHub",
    "headwater.storage.gitlab": "GitLab",
    "headwater.storage.bitbucket": "Bitbucket",
    "headwater.storage.codecommit": "CodeCommit",
    "headwater.storage.git": "Git",
    "headwater.storage.module": "Module",
    "headwater.serialization.flow": "FlowSchema",
    "headwater.serialization.task": "TaskSchema ParameterSchema",
    "headwater.serialization.edge": "EdgeSchema",
    "headwater.serialization.state": "StateSchema",
    "headwater.serialization.schedule": "ScheduleSchema ClockSchema",
    "headwater.serialization.result": "StateResultSchema ResultSchema",
    "headwater.serialization.run_config": "RunConfigSchema",
    "headwater.serialization.storage": "StorageSchema",
    "headwater.engine.executors": "Executor LocalExecutor LocalDaskExecutor DaskExecutor",
    "headwater.engine.executors.local": "LocalExecutor",
    "headwater.engine.executors.dask": "LocalDaskExecutor DaskExecutor",
    "headwater.engine.cloud": "CloudFlowRunner CloudTaskRunner",
    "headwater.client": "Client Secret",
    "headwater.client.client": "Client",
    "headwater.agent": "Agent LocalAgent DockerAgent KubernetesAgent ECSAgent VertexAgent",
    "headwater.agent.local": "LocalAgent",
    "headwater.backend": (
        "FlowRunView FlowView TaskRunView TenantView set_key_value get_key_value delete_key "
        "list_keys create_link_artifact create_markdown_artifact update_link_artifact "
        "update_markdown_artifact delete_artifact"
    ),
    "headwater.hello_world": "hello_flow say_hello capitalize",
    "headwater.utilities.executors": (
        "run_with_heartbeat no_heartbeat run_with_thread_timeout run_task_with_timeout "
        "tail_recursive RecursiveCall"
    ),
    "headwater.utilities.serialization": (
        "to_qualified_name from_qualified_name JSONCompatible Nested SortedList ObjectSchema "
        "OneOfSchema Bytes UUID DateTimeTZ FunctionReference StatefulFunctionReference"
    ),
    "headwater.utilities.graphql": (
        "GraphQLResult EnumValue LiteralSetValue GQLObject parse_graphql "
        "parse_graphql_arguments with_args compress decompress"
    ),
    "headwater.utilities.filesystems": "ParsedPath parse_path read_bytes_from_path",
    "headwater.utilities.importtools": "import_object",
    "headwater.utilities.datetimes": "retry_delay",
    "headwater.utilities.compatibility": "nullcontext",
    "headwater.utilities.diagnostics": (
        "system_information config_overrides environment_variables flow_information diagnostic_info"
    ),
    "headwater.utilities.logging": (
        "get_logger configure_logging CloudHandler LogManager LOG_MANAGER LOG_OVERHEAD getlogsize "
        "temporary_logger_config RedirectToLog create_diagnostic_logger"
    ),
    "headwater.configuration": "DEFAULT_CONFIG USER_CONFIG",
    "headwater.tasks.templates": "JinjaTemplate StringFormatter",
    "headwater.tasks.templates.jinja2": "JinjaTemplate",
    "headwater.tasks.templates.strings": "StringFormatter",
    "headwater.tasks.files": "Copy Glob Move Remove Unzip Zip",
    "headwater.tasks.database.sqlite": "SQLiteQuery SQLiteScript",
    "headwater.tasks.notifications": "SlackTask EmailTask PushbulletTask",
    "headwater.tasks.notifications.slack_task": "SlackTask",
    "headwater.tasks.notifications.email_task": "EmailTask",
    "headwater.tasks.powershell": "PowershellTask",
    "headwater.tasks.powershell.powershell": "PowershellTask",
    "headwater.tasks.prefect": (
        "StartFlowRun RenameFlowRun CancelFlowRun create_flow_run wait_for_flow_run "
        "get_task_run_result"
    ),
}


@pytest.mark.parametrize("path", sorted(SURFACE))
def test_module_holds_its_names(path: str) -> None:
    module = importlib.import_module(path)
    missing = [name for name in SURFACE[path].split() if not hasattr(module, name)]
    assert not missing, f"{path} lacks {missing}"


def test_prefect_exception_names_are_aliases() -> None:
    from headwater import exceptions
    from headwater.engine import signals

    assert exceptions.PrefectException is exceptions.HeadwaterError
    assert exceptions.PrefectSignal is exceptions.HeadwaterSignal is signals.HeadwaterSignal
    assert issubclass(signals.FAIL, exceptions.HeadwaterSignal)
    assert issubclass(exceptions.TaskTimeoutSignal, exceptions.HeadwaterSignal)
    assert not issubclass(exceptions.HeadwaterSignal, Exception)
    assert issubclass(exceptions.ServerNotAvailableError, exceptions.HeadwaterError)


def test_old_executor_path_warns_with_the_new_one() -> None:
    from headwater.engine.executors import LocalExecutor
    from headwater.executors import LocalExecutor as NewLocalExecutor

    with pytest.warns(UserWarning, match="moved to headwater.executors.LocalExecutor"):
        executor = LocalExecutor()
    assert isinstance(executor, NewLocalExecutor)


def test_hello_world_runs() -> None:
    from headwater.hello_world import capitalize, hello_flow

    state = hello_flow.run(name="marvin")
    assert state.is_successful()
    [cap] = hello_flow.get_tasks(name=capitalize.name)
    assert state.result[cap].result == "Marvin"


def test_new_modules_keep_import_light() -> None:
    code = (
        "import json, sys\n"
        "import headwater.run_configs, headwater.storage, headwater.serialization.flow\n"
        "import headwater.exceptions, headwater.engine.executors\n"
        "heavy = ('dask', 'distributed', 'yaml', 'requests', 'jinja2', 'graphviz')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
