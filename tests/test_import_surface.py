"""SPEC §1: every public path imports and holds its names; ``import headwater`` is side-effect free."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

SURFACE = {
    "headwater": "Flow Task Parameter task tags case apply_map resource_manager mapped unmapped flatten context config __version__",
    "headwater.core": "Task Flow Edge Parameter DateTimeParameter",
    "headwater.core.task": "Task",
    "headwater.core.flow": "Flow",
    "headwater.core.edge": "Edge",
    "headwater.core.parameter": "Parameter DateTimeParameter",
    "headwater.engine": "FlowRunner TaskRunner get_default_executor_class get_default_flow_runner_class get_default_task_runner_class",
    "headwater.engine.state": "State Pending Scheduled Paused Resume Retrying Running Cancelling Finished Success Cached Mapped Skipped Failed TimedOut TriggerFailed ValidationFailed Looped Cancelled Submitted Queued",
    "headwater.engine.signals": "HeadwaterSignal HeadwaterStateSignal PrefectSignal SUCCESS FAIL TRIGGERFAIL VALIDATIONFAIL SKIP RETRY PAUSE LOOP ENDRUN signal_from_state",
    "headwater.engine.runner": "Runner ENDRUN",
    "headwater.engine.flow_runner": "FlowRunner ENDRUN",
    "headwater.engine.task_runner": "TaskRunner ENDRUN",
    "headwater.engine.result": "Result NoResult NoResultType",
    "headwater.engine.result.base": "ResultNotImplementedError",
    "headwater.engine.results": "LocalResult HeadwaterResult PrefectResult ConstantResult SecretResult",
    "headwater.engine.serializers": "Serializer PickleSerializer JSONSerializer DateTimeSerializer CompressedSerializer PandasSerializer",
    "headwater.engine.cache_validators": "never_use duration_only all_inputs all_parameters partial_inputs_only partial_parameters_only",
    "headwater.executors": "Executor LocalExecutor LocalDaskExecutor DaskExecutor",
    "headwater.schedules": "Schedule IntervalSchedule CronSchedule RRuleSchedule",
    "headwater.schedules.clocks": "IntervalClock CronClock DatesClock RRuleClock ClockEvent",
    "headwater.schedules.filters": "on_datetime between_datetimes on_date between_dates at_time between_times is_weekday is_weekend is_month_end is_month_start is_day_of_week",
    "headwater.schedules.adjustments": "add next_weekday",
    "headwater.triggers": "all_successful all_failed any_successful any_failed all_finished always_run manual_only not_all_skipped some_successful some_failed",
    "headwater.exceptions": "HeadwaterError TaskTimeoutSignal FlowStorageError",
    "headwater.configuration": "Config load_configuration string_to_type interpolate_env_vars to_environment_variables process_task_defaults",
    "headwater.utilities.configuration": "set_temporary_config",
    "headwater.utilities.context": "Context",
    "headwater.utilities.collections": "DotDict merge_dicts as_nested_dict dict_to_flatdict flatdict_to_dict flatten_seq",
    "headwater.utilities.tasks": "task tags as_task pause_task apply_map defaults_from_attrs",
    "headwater.utilities.edges": "mapped unmapped flatten EdgeAnnotation",
    "headwater.utilities.debug": "raise_on_exception is_serializable",
    "headwater.utilities.logging": "get_logger",
    "headwater.utilities.notifications": "callback_factory slack_notifier",
    "headwater.utilities.storage": "extract_flow_from_file extract_flow_from_module",
    "headwater.tasks.core": "Constant FunctionTask List Tuple Set Dict GetItem GetAttr",
    "headwater.tasks.core.constants": "Constant",
    "headwater.tasks.core.function": "FunctionTask",
    "headwater.tasks.core.collections": "List Tuple Set Dict",
    "headwater.tasks.core.operators": "GetItem GetAttr Add Sub Mul Div FloorDiv Mod Pow And Or Not Equal NotEqual GreaterThan GreaterThanOrEqual LessThan LessThanOrEqual",
    "headwater.tasks.core.resource_manager": "resource_manager ResourceManager",
    "headwater.tasks.control_flow": "case merge switch ifelse FilterTask",
    "headwater.tasks.control_flow.conditional": "CompareValue",
    "headwater.tasks.shell": "ShellTask",
    "headwater.tasks.secrets": "SecretBase HeadwaterSecret PrefectSecret EnvVarSecret",
    "headwater.client": "Secret",
    "headwater.storage": "Storage Local",
    # the @flow API (Prefect 2/3's names)
    "headwater.flows": "Flow flow",
    "headwater.futures": "PrefectFuture PrefectFutureList TaskRunFuture FutureList wait as_completed resolve",
    "headwater.task_runners": "TaskRunner ThreadPoolTaskRunner ConcurrentTaskRunner ProcessPoolTaskRunner DaskTaskRunner",
    "headwater.states": "State StateType Completed Cached Failed TimedOut Crashed Cancelled Cancelling Pending Running Retrying Scheduled AwaitingRetry Paused is_state",
    "headwater.runtime": "flow_run task_run deployment",
    "headwater.logging": "get_run_logger disable_run_logger",
}

MODERN_TOP_LEVEL = "flow State allow_failure quote get_run_logger deploy get_client"


@pytest.mark.parametrize("path", sorted(SURFACE))
def test_public_path_holds_names(path: str) -> None:
    module = importlib.import_module(path)
    missing = [name for name in SURFACE[path].split() if not hasattr(module, name)]
    assert not missing, f"{path} lacks {missing}"


def test_the_flow_api_names_import_lazily() -> None:
    import headwater

    missing = [n for n in MODERN_TOP_LEVEL.split() if not hasattr(headwater, n)]
    assert not missing, f"headwater lacks {missing}"
    code = "import sys, headwater; print(sorted(m for m in sys.modules if 'modern' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_prefect_aliases() -> None:
    from headwater.engine import signals
    from headwater.engine.results import HeadwaterResult, PrefectResult
    from headwater.exceptions import HeadwaterError, PrefectError

    assert PrefectResult is HeadwaterResult
    assert PrefectError is HeadwaterError
    assert signals.PrefectStateSignal is signals.HeadwaterStateSignal


def test_import_has_no_side_effects() -> None:
    code = r"""
import json, logging, signal, sys
root = logging.getLogger()
before = (list(root.handlers), root.level, logging.getLogRecordFactory())
handlers_before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
import headwater
after = (list(root.handlers), root.level, logging.getLogRecordFactory())
print(json.dumps({
    "root_unchanged": before == after,
    "signals_unchanged": handlers_before == {s: signal.getsignal(s) for s in handlers_before},
    "heavy": sorted(m for m in ("dask", "distributed", "graphviz", "pandas", "fsspec", "jinja2")
                    if m in sys.modules),
}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["root_unchanged"]
    assert result["signals_unchanged"]
    assert result["heavy"] == []


def test_a_run_leaves_the_root_logger_alone() -> None:
    code = r"""
import logging
root = logging.getLogger()
before = (list(root.handlers), root.level)
from headwater import Flow, task
@task
def one():
    return 1
with Flow("f") as flow:
    one()
assert flow.run().is_successful()
assert (list(root.handlers), root.level) == before
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
