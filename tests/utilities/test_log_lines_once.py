"""A headwater log line is printed once, whatever logging the application set up.

headwater's own stderr handler stands aside when a handler of the application (on the root
logger) takes the record; each case runs in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

RUN = """
from headwater import Flow, task

@task
def noisy():
    noisy.logger.warning("a-unique-log-line")

with Flow("noisy") as flow:
    noisy()
flow.run()
"""

SETUPS = {
    "no logging set up": "",
    "basicConfig": "import logging; logging.basicConfig()",
    "basicConfig to stdout": "import logging, sys; logging.basicConfig(stream=sys.stdout)",
    "dictConfig": (
        "import logging.config\n"
        "logging.config.dictConfig({'version': 1, 'handlers': {'h': "
        "{'class': 'logging.StreamHandler'}}, 'root': {'handlers': ['h']}})"
    ),
    "root handler above the record's level": (
        "import logging; h = logging.StreamHandler(); h.setLevel(logging.ERROR); "
        "logging.getLogger().addHandler(h)"
    ),
    "headwater not propagating": (
        "import logging; logging.basicConfig(); logging.getLogger('headwater').propagate = False"
    ),
    "a NullHandler on the root logger": (
        "import logging; logging.getLogger().addHandler(logging.NullHandler())"
    ),
}


@pytest.mark.parametrize("setup", list(SETUPS), ids=list(SETUPS))
def test_a_log_line_is_printed_once(setup: str) -> None:
    code = textwrap.dedent(SETUPS[setup]) + "\n" + RUN
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert (proc.stdout + proc.stderr).count("a-unique-log-line") == 1, proc.stderr
