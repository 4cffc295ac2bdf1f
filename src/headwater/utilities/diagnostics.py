"""Diagnostic information for bug reports: system, configuration overrides, environment and
flow settings, as JSON text. Values of configuration keys and secrets are never included.

>>> import json
>>> info = json.loads(diagnostic_info())
>>> sorted(info)
['config_overrides', 'env_vars', 'system_information']
"""

from __future__ import annotations

import json
import os
import platform
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = [
    "config_overrides",
    "diagnostic_info",
    "environment_variables",
    "flow_information",
    "system_information",
]


def system_information() -> dict[str, Any]:
    """The platform, Python and headwater versions."""
    import headwater

    return {
        "system_information": {
            "platform": platform.platform(),
            "python_version": platform.python_version(),
            "prefect_version": headwater.__version__,
            "headwater_version": headwater.__version__,
        }
    }


def _present(data: Any, include_secret_names: bool) -> Any:
    if isinstance(data, dict):
        return {
            k: _present(v, include_secret_names)
            if k != "secrets" or include_secret_names
            else False
            for k, v in data.items()
        }
    return True


def config_overrides(include_secret_names: bool = False) -> dict[str, Any]:
    """The keys of the user configuration file that differ from the defaults (``True`` for
    each; a ``secrets`` section shows as ``False`` unless ``include_secret_names``)."""
    import tomllib

    from headwater import configuration
    from headwater.utilities.collections import dict_to_flatdict, flatdict_to_dict

    def read(path: str) -> dict[str, Any]:
        path = os.path.expanduser(str(configuration.interpolate_env_vars(path)))
        if not os.path.isfile(path):
            return {}
        with open(path, "rb") as f:
            return tomllib.load(f)

    defaults = dict_to_flatdict(read(configuration.DEFAULT_CONFIG))
    user = dict_to_flatdict(read(configuration.USER_CONFIG))
    changed = {k: v for k, v in user.items() if k not in defaults or defaults[k] != v}
    return {"config_overrides": _present(flatdict_to_dict(changed), include_secret_names)}


def environment_variables() -> dict[str, Any]:
    """The names (not values) of the ``HEADWATER__`` environment variables that are set."""
    from headwater.configuration import ENV_VAR_PREFIX

    prefix = ENV_VAR_PREFIX + "__"
    return {"env_vars": [name for name in os.environ if name.startswith(prefix)]}


def _settings(obj: Any) -> dict[str, Any]:
    """``{"type": class name, attribute: whether it is set}`` of a run config or storage."""
    out: dict[str, Any] = {"type": type(obj).__name__}
    for key, value in vars(obj).items():
        out[key.lstrip("_")] = _present(value, True) if value else False
    return out


def flow_information(flow: Flow) -> dict[str, Any]:
    """What kind of run config, storage, result and schedule the flow has (no values)."""
    run_config = getattr(flow, "run_config", None)
    result = flow.result
    return {
        "flow_information": {
            "environment": False,
            "run_config": _settings(run_config) if run_config else False,
            "storage": _settings(flow.storage) if flow.storage else False,
            "result": {"type": _result_name(result)} if result else False,
            "schedule": {"type": type(flow.schedule).__name__} if flow.schedule else False,
            "task_count": len(flow.tasks),
        }
    }


def _result_name(result: Any) -> str:
    name = type(result).__name__
    return "PrefectResult" if name == "HeadwaterResult" else name


def diagnostic_info(flow: Flow | None = None, include_secret_names: bool = False) -> str:
    """All of the above as indented, sorted JSON text (flow information only with a flow)."""
    info: dict[str, Any] = {}
    info.update(system_information())
    info.update(config_overrides(include_secret_names))
    info.update(environment_variables())
    if flow is not None:
        info.update(flow_information(flow))
    return json.dumps(info, sort_keys=True, indent=2, default=str)
