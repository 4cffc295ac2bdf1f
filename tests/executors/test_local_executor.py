"""LocalExecutor passes the executor contract."""

from __future__ import annotations

from headwater.executors import LocalExecutor
from headwater.testing import ExecutorContract


class TestLocalExecutor(ExecutorContract):
    def make_executor(self) -> LocalExecutor:
        return LocalExecutor()
