"""Control flow: conditional blocks, branches, merges and filters.

::

    from headwater import Flow, case, task
    from headwater.tasks.control_flow import merge

    @task
    def check():
        return True

    @task
    def act():
        return "acted"

    with Flow("control") as flow:
        with case(check(), True):
            done = act()

    assert flow.run().result[done].result == "acted"
"""

from headwater.tasks.control_flow.case import case
from headwater.tasks.control_flow.conditional import ifelse, merge, switch
from headwater.tasks.control_flow.filter import FilterTask

__all__ = ["FilterTask", "case", "ifelse", "merge", "switch"]
