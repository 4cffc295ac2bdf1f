"""What the current run is: ``flow_run`` and ``task_run`` (Prefect 3's ``prefect.runtime``).

>>> from headwater import flow, runtime
>>> @flow(flow_run_name="run-{x}")
... def named(x: int):
...     return runtime.flow_run.name, runtime.flow_run.parameters
>>> named(3)
('run-3', {'x': 3})

Outside a run, ids and names are ``None``, ``parameters`` is ``{}`` and ``run_count`` 0.
``deployment`` is always empty: deployments live on Prefect's server.
"""

from __future__ import annotations

from headwater.modern.runtime import deployment, flow_run, task_run

__all__ = ["deployment", "flow_run", "task_run"]
