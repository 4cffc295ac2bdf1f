"""headwater's own SVG drawing of a flow: valid XML, escaped names, layers, arrows, a cap."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET

import pytest

from headwater import Flow, Parameter, task
from headwater.engine.state import Failed, Success, TriggerFailed
from headwater.utilities._svg_graph import MAX_BOXES, Arrow, Box, draw_svg
from headwater.utilities._svg_layout import MAX_WAYPOINTS, lay_out, layers
from headwater.utilities.graph import flow_to_svg

SVG = "{http://www.w3.org/2000/svg}"


@task
def numbers():
    return [1, 2, 3]


@task
def square(x):
    if x == 2:
        raise ValueError("two is not allowed")
    return x * x


@task
def total(xs, scale):
    return sum(xs) * scale


def build():
    with Flow("squares") as flow:
        scale = Parameter("scale", default=1)
        total(square.map(numbers()), scale)
    return flow


@task
def step():
    return 1


def chain_of(n, name="chain"):
    with Flow(name) as flow:
        prev = None
        for i in range(n):
            prev = step(upstream_tasks=[prev] if prev else [], task_args={"name": f"step {i}"})
    return flow


def random_flow(n, seed=7):
    rnd = random.Random(seed)
    tasks = []
    with Flow(f"random {n}") as flow:
        for i in range(n):
            ups = rnd.sample(tasks, min(len(tasks), rnd.randint(0, 3)))
            tasks.append(step(upstream_tasks=ups, task_args={"name": f"task {i}"}))
    return flow


def boxes(root):
    """{label: (x, y, w, h)} of the front rectangle of each task's box."""
    out = {}
    for g in root.iter(f"{SVG}g"):
        rects = g.findall(f"{SVG}rect")
        if rects:
            r = rects[-1]
            out[g.find(f"{SVG}title").text] = tuple(
                float(r.get(k)) for k in ("x", "y", "width", "height")
            )
    return out


def edges(root):
    return [g for g in root.iter(f"{SVG}g") if g.find(f"{SVG}path") is not None]


class TestDocument:
    def test_is_an_svg_document(self):
        root = ET.fromstring(flow_to_svg(build()))
        assert root.tag == f"{SVG}svg"
        assert root.find(f"{SVG}title").text == "squares"
        width, height = float(root.get("width")), float(root.get("height"))
        assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
        assert 100 < width < 1000 and 100 < height < 1000

    def test_same_flow_same_bytes(self):
        assert flow_to_svg(build()) == flow_to_svg(build())
        assert flow_to_svg(random_flow(120)) == flow_to_svg(random_flow(120))

    def test_boxes_edges_and_arrowheads(self):
        root = ET.fromstring(flow_to_svg(build()))
        assert set(boxes(root)) == {"scale", "numbers", "square", "total"}
        drawn = edges(root)
        assert len(drawn) == 3
        assert all(len(g.findall(f"{SVG}polygon")) == 1 for g in drawn)
        titles = {g.find(f"{SVG}title").text for g in drawn}
        assert titles == {"numbers → square (x)", "square → total (xs)", "scale → total (scale)"}

    def test_mapped_edges_are_dashed_and_mapped_tasks_stacked(self):
        root = ET.fromstring(flow_to_svg(build()))
        dashed = [
            g.find(f"{SVG}title").text
            for g in edges(root)
            if g.find(f"{SVG}path").get("stroke-dasharray")
        ]
        assert dashed == ["numbers → square (x)"]
        stacked = [
            g.find(f"{SVG}title").text
            for g in root.iter(f"{SVG}g")
            if len(g.findall(f"{SVG}rect")) == 2
        ]
        assert stacked == ["square"]

    def test_edge_labels_are_drawn(self):
        svg = flow_to_svg(build())
        assert re.search(r'paint-order="stroke">xs</text>', svg)

    def test_an_empty_flow(self):
        root = ET.fromstring(flow_to_svg(Flow("nothing")))
        assert "(no tasks)" in [t.text for t in root.iter(f"{SVG}text")]


class TestStates:
    def test_boxes_take_their_state_colour_and_counts(self):
        flow = build()
        state = flow.run()
        root = ET.fromstring(flow_to_svg(flow, state))
        fills = {
            g.find(f"{SVG}title").text: g.findall(f"{SVG}rect")[-1].get("fill")
            for g in root.iter(f"{SVG}g")
            if g.find(f"{SVG}rect") is not None
        }
        assert fills["numbers"] == Success.color
        assert fills["total"] == TriggerFailed.color
        assert fills["square\n1 Failed, 2 Success"] == Failed.color  # a failed child shows
        spans = [s.text for s in root.iter(f"{SVG}tspan")]
        assert "1 Failed, 2 Success" in spans

    def test_text_is_dark_on_light_fills_and_white_on_dark_ones(self):
        svg = draw_svg(
            "c", [Box("a", "dark", color="#101010"), Box("b", "light", color="#fafafa")], []
        )
        root = ET.fromstring(svg)
        ink = {
            t.find(f"{SVG}tspan").text: t.get("fill")
            for t in root.iter(f"{SVG}text")
            if t.find(f"{SVG}tspan") is not None
        }
        assert ink == {"dark": "#ffffff", "light": "#1a202c"}


class TestEscaping:
    @pytest.mark.parametrize(
        "name",
        ["say \"hi\" <now> & 'then'", "</svg><script>alert(1)</script>", "tab\tand ünïcødé ☃ 表"],
    )
    def test_names_come_back_as_written(self, name):
        @task(name=name)
        def odd():
            return 1

        with Flow(f"flow {name}") as flow:
            odd()
        svg = flow_to_svg(flow)
        root = ET.fromstring(svg)
        assert root.find(f"{SVG}title").text == f"flow {name}"
        assert [s.text for s in root.iter(f"{SVG}tspan")] == [name]
        assert "<script>" not in svg

    def test_characters_xml_cannot_hold_are_replaced(self):
        svg = draw_svg("bad\x00title\udcff", [Box("a", "nul\x00 bell\x07 esc\x1b")], [])
        root = ET.fromstring(svg)
        assert [s.text for s in root.iter(f"{SVG}tspan")] == ["nul\ufffd bell\ufffd esc\ufffd"]
        svg.encode("utf-8")  # no lone surrogate left

    def test_long_names_are_shortened_with_the_full_name_in_the_tooltip(self):
        name = "a_really_long_task_name_that_goes_on_and_on_and_on_forever"
        root = ET.fromstring(draw_svg("long", [Box("a", name)], []))
        [span] = [s.text for s in root.iter(f"{SVG}tspan")]
        assert span.endswith("…") and len(span) == 36 and name.startswith(span[:-1])
        assert name in [t.text for t in root.iter(f"{SVG}title")]


class TestLayout:
    @pytest.mark.parametrize("n", [12, 60])
    def test_every_edge_goes_to_a_later_layer(self, n):
        flow = random_flow(n)
        where = boxes(ET.fromstring(flow_to_svg(flow)))
        pairs = [(where[e.upstream_task.name], where[e.downstream_task.name]) for e in flow.edges]
        down = all(up[1] + up[3] < low[1] for up, low in pairs)  # rows, top to bottom
        right = all(up[0] + up[2] < low[0] for up, low in pairs)  # or columns, left to right
        assert down or right

    def test_boxes_do_not_overlap(self):
        where = list(boxes(ET.fromstring(flow_to_svg(random_flow(80)))).values())
        for i, (x, y, w, h) in enumerate(where):
            for x2, y2, w2, h2 in where[i + 1 :]:
                assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y

    def test_layers_are_longest_paths_with_roots_next_to_their_first_child(self):
        links = [("a", "b"), ("b", "c"), ("a", "c"), ("p", "c")]
        assert layers(["a", "b", "c", "p", "lone"], links) == [["a", "lone"], ["b", "p"], ["c"]]

    def test_keys_on_a_cycle_go_last(self):
        assert layers(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "b")]) == [["a"], ["b", "c"]]

    def test_long_links_get_waypoints_so_boxes_make_room(self):
        layout = lay_out(
            {k: (80.0, 32.0) for k in "abcd"}, [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
        )
        assert [len(r) for r in layout.routes] == [0, 0, 0, 2]
        for wp in layout.routes[3]:
            row = next(r for r in layout.rows if wp in r)
            boxes_in_row = [p for p in row if not p.waypoint]
            assert all(wp.x + wp.w <= p.x or p.x + p.w <= wp.x for p in boxes_in_row)

    def test_too_many_waypoints_give_straight_links(self):
        n = 100  # a chain, and a root linked to all of it: ~n*n/2 waypoints
        keys = [f"k{i}" for i in range(n)]
        links = list(zip(keys, keys[1:])) + [("k0", k) for k in keys[2:]]
        assert sum(range(n - 1)) > MAX_WAYPOINTS
        assert all(not r for r in lay_out({k: (60.0, 32.0) for k in keys}, links).routes)

    def test_a_very_wide_flow_is_drawn_left_to_right(self):
        with Flow("wide") as flow:
            for i in range(60):
                step(task_args={"name": f"independent {i}"})
        root = ET.fromstring(flow_to_svg(flow))
        assert float(root.get("height")) > 5 * float(root.get("width"))

    def test_a_long_chain_is_drawn_top_to_bottom(self):
        root = ET.fromstring(flow_to_svg(chain_of(30)))
        assert float(root.get("height")) > 5 * float(root.get("width"))


class TestSize:
    def test_five_hundred_tasks_are_all_drawn(self):
        flow = random_flow(MAX_BOXES)
        root = ET.fromstring(flow_to_svg(flow))
        assert len(boxes(root)) == MAX_BOXES
        assert len(edges(root)) == len(flow.edges)
        assert "Showing the first" not in flow_to_svg(flow)

    def test_beyond_the_cap_the_first_tasks_are_drawn_with_a_note(self):
        flow = chain_of(MAX_BOXES + 100)
        root = ET.fromstring(flow_to_svg(flow))
        assert len(boxes(root)) == MAX_BOXES
        assert set(boxes(root)) == {f"step {i}" for i in range(MAX_BOXES)}
        notes = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith("Showing")]
        assert notes == [
            f"Showing the first {MAX_BOXES} of {MAX_BOXES + 100} tasks; flow.to_dot() and "
            "flow.visualize() draw them all."
        ]

    def test_edges_to_unknown_boxes_are_left_out(self):
        root = ET.fromstring(draw_svg("t", [Box("a", "a")], [Arrow("a", "zz"), Arrow("a", "a")]))
        assert edges(root) == []
