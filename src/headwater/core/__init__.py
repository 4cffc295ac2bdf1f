"""The graph a user builds: tasks, edges, parameters and flows (no run logic here)."""

from headwater.core.edge import Edge
from headwater.core.flow import Flow
from headwater.core.parameter import DateTimeParameter, Parameter
from headwater.core.task import Task

__all__ = ["DateTimeParameter", "Edge", "Flow", "Parameter", "Task"]
