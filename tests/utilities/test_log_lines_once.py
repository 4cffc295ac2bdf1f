"""A headwater log line is printed once, whatever logging the application set up.

headwater's own stderr handler stands aside when a handler of the application (on the root
logger, or a stream handler on headwater's loggers) takes the record; handlers that only store
records change nothing. Each case runs in a fresh interpreter.
"""

from __future__ import annotations

import re
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
    "dictConfig after importing headwater": (
        "import headwater, logging.config\n"
        "logging.config.dictConfig({'version': 1, 'disable_existing_loggers': False, "
        "'handlers': {'h': {'class': 'logging.StreamHandler'}}, "
        "'root': {'handlers': ['h'], 'level': 'INFO'}})"
    ),
    "dictConfig of the headwater logger": (
        "import headwater, logging.config\n"
        "logging.config.dictConfig({'version': 1, 'disable_existing_loggers': False, "
        "'handlers': {'h': {'class': 'logging.StreamHandler', 'stream': 'ext://sys.stdout'}}, "
        "'loggers': {'headwater': {'handlers': ['h'], 'level': 'INFO'}}})"
    ),
    "a printing handler that is no StreamHandler on the root logger": (
        "import logging, sys\n"
        "class Printer(logging.Handler):\n"
        "    def emit(self, record):\n"
        "        sys.stderr.write(self.format(record) + '\\n')\n"
        "logging.getLogger().addHandler(Printer())"
    ),
}


@pytest.mark.parametrize("setup", list(SETUPS), ids=list(SETUPS))
def test_a_log_line_is_printed_once(setup: str) -> None:
    code = textwrap.dedent(SETUPS[setup]) + "\n" + RUN
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    out = proc.stdout + proc.stderr
    assert out.count("a-unique-log-line") == 1, out
    assert out.count("Beginning Flow run for 'noisy'") == 1, out


def test_a_handler_that_stores_records_changes_nothing_on_the_console() -> None:
    """A handler on headwater's own loggers that prints nothing (a run history's, a test's)
    neither silences headwater's console lines nor makes them appear twice."""
    setup = textwrap.dedent(
        """
        import atexit, logging
        class Store(logging.Handler):
            def __init__(self):
                super().__init__()
                self.records = []
            def emit(self, record):
                self.records.append(record)
        stores = [Store(), Store()]
        logging.getLogger("headwater").addHandler(stores[0])
        logging.getLogger("headwater.noisy").addHandler(stores[1])
        atexit.register(lambda: print("stored", [len(s.records) for s in stores]))
        """
    )
    for before in ("", "import logging; logging.basicConfig()\n"):
        proc = subprocess.run(
            [sys.executable, "-c", before + setup + RUN],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert proc.stderr.count("a-unique-log-line") == 1, proc.stderr
        assert proc.stderr.count("Beginning Flow run for 'noisy'") == 1, proc.stderr
        [stored] = [line for line in proc.stdout.splitlines() if line.startswith("stored")]
        headwater_count, task_count = (int(n) for n in re.findall(r"\d+", stored))
        assert headwater_count >= 3 and task_count == 1, stored
