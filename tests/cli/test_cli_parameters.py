"""``-p KEY=VALUE``: JSON when it parses, else text; converted by the parameter's type."""

from __future__ import annotations

import datetime
import json

import click
import pytest

from headwater import Flow, Parameter
from headwater.cli import UsageProblem
from headwater.cli._params import flow_parameters, parse_assignment, value_for

TYPED = """
import datetime
from headwater import Flow, Parameter, task

@task
def show(value):
    return [type(value).__name__, value if not isinstance(value, datetime.date) else str(value)]

with Flow("typed") as flow:
    for name, kind in [("anything", None), ("text", str), ("number", float), ("day", datetime.date),
                       ("counts", list[int]), ("flag", bool)]:
        show(Parameter(name, default=None, type=kind), task_args={"name": f"show_{name}"})
"""


class TestParseAssignment:
    def test_split_at_the_first_equals_sign(self):
        assert parse_assignment("query=a=b") == ("query", "a=b")
        assert parse_assignment(" n =3") == ("n", "3")
        assert parse_assignment("empty=") == ("empty", "")

    @pytest.mark.parametrize("text", ["n", "=3", " =3"])
    def test_no_key_or_no_equals(self, text):
        with pytest.raises(click.BadParameter, match="parameters are given as KEY=VALUE"):
            parse_assignment(text)


class TestValueFor:
    @pytest.mark.parametrize(
        ("raw", "value"),
        [
            ("3", 3),
            ("2.5", 2.5),
            ('["a","b"]', ["a", "b"]),
            ('{"k": 1}', {"k": 1}),
            ("true", True),
            ("null", None),
            ("hello", "hello"),
            ("2024-01-31", "2024-01-31"),
            ("007", "007"),
            ("", ""),
        ],
    )
    def test_json_when_it_parses_else_text(self, raw, value):
        assert value_for(Parameter("x", default=None), "x", raw) == value
        assert value_for(None, "x", raw) == value

    @pytest.mark.parametrize(
        ("kind", "raw", "value"),
        [
            (str, "42", "42"),
            (str, "007", "007"),
            (str, "true", "true"),
            (float, "10", 10.0),
            (int, "4", 4),
            (bool, "yes", True),
            (datetime.date, "2024-01-31", datetime.date(2024, 1, 31)),
            (list[int], "[1, 2]", [1, 2]),
            (list[str], '["a"]', ["a"]),
        ],
    )
    def test_typed_parameters_convert(self, kind, raw, value):
        converted = value_for(Parameter("x", default=None, type=kind), "x", raw)
        assert converted == value and type(converted) is type(value)

    def test_a_value_the_type_refuses_is_a_usage_error_naming_the_option(self):
        with pytest.raises(UsageProblem) as info:
            value_for(Parameter("n", default=1, type=int), "n", "many")
        message = info.value.format_message()
        assert message.startswith("-p n=many: Invalid value for parameter 'n': 'many'")
        assert "\n" not in message


class TestFlowParameters:
    def flow(self) -> Flow:
        flow = Flow("f")
        flow.add_task(Parameter("n", default=3, type=int))
        flow.add_task(Parameter("out"))
        return flow

    def test_values_and_the_last_assignment_wins(self):
        assert flow_parameters(self.flow(), [("out", "x"), ("n", "1"), ("n", "2")]) == {
            "out": "x",
            "n": 2,
        }

    def test_unknown_keys(self):
        with pytest.raises(UsageProblem, match=r"unknown parameter\(s\): a, b \(flow 'f' takes: n"):
            flow_parameters(self.flow(), [("out", "x"), ("a", "1"), ("b", "2")])

    def test_missing_required(self):
        with pytest.raises(UsageProblem, match="needs parameter\\(s\\) out: pass -p out=VALUE"):
            flow_parameters(self.flow(), [])


def test_values_reach_the_tasks_converted(headwater, write):
    path = write("typed.py", TYPED)
    proc = headwater(
        "run",
        str(path),
        "--json",
        "-p",
        "anything=5",
        "-p",
        "text=5",
        "-p",
        "number=5",
        "-p",
        "day=2024-02-29",
        "-p",
        "counts=[1,2,3]",
        "-p",
        "flag=false",
    )
    assert proc.returncode == 0, proc.stderr
    results = {t["name"]: t["result"] for t in json.loads(proc.stdout)["tasks"]}
    assert results["show_anything"] == ["int", 5]
    assert results["show_text"] == ["str", "5"]
    assert results["show_number"] == ["float", 5.0]
    assert results["show_day"] == ["date", "2024-02-29"]
    assert results["show_counts"] == ["list", [1, 2, 3]]
    assert results["show_flag"] == ["bool", False]


def test_a_bad_typed_value_exits_2_in_one_line(headwater, write):
    path = write("typed.py", TYPED)
    proc = headwater("run", str(path), "-p", "day=someday")
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("headwater run: -p day=someday: Invalid value for parameter 'day'")
