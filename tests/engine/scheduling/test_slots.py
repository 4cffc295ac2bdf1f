"""What each call is given from upstream: a task's view and a mapped child's view."""

from __future__ import annotations

from headwater import Task
from headwater.core.edge import Edge
from headwater.engine.mapping import FLATTEN
from headwater.engine.scheduling.slots import child_inputs, task_inputs

up_a, up_m, down = Task(name="a"), Task(name="m"), Task(name="d")


def test_a_task_gets_each_upstream_handle_and_flattened_edges_are_marked() -> None:
    plain = Edge(up_a, down, key="x")
    flat = Edge(up_m, down, key="y", flattened=True)
    handles = {up_a: "future-a", up_m: ["c0", "c1"]}
    got = task_inputs([plain, flat], handles, frozenset({flat}))
    assert got == {plain: "future-a", flat: (FLATTEN, ["c0", "c1"])}


def test_child_i_gets_child_i_of_a_mapped_upstream_and_the_whole_of_an_unmapped_one() -> None:
    over = Edge(up_m, down, key="x", mapped=True)
    whole = Edge(up_a, down, key="y")
    handles = {up_m: ["c0", "c1", "c2"], up_a: "future-a"}
    assert child_inputs([over, whole], handles, {}, 1, frozenset()) == {
        over: "c1",
        whole: "future-a",
    }


def test_items_resolved_at_expansion_come_before_the_handle() -> None:
    over = Edge(up_a, down, key="x", mapped=True)
    handles = {up_a: "a list result, not children"}
    assert child_inputs([over], handles, {over: ["i0", "i1"]}, 0, frozenset()) == {over: "i0"}
