from __future__ import annotations

import sys

import pytest

import headwater
from headwater import Flow, Parameter, task
from headwater.executors import LocalExecutor
from headwater.tasks.templates import JinjaTemplate, StringFormatter

try:
    import jinja2
except ImportError:  # pragma: no cover - jinja2 is a test dependency
    jinja2 = None


@task
def items():
    return ["a", "b", "c"]


def run_flow(flow, **kwargs):
    return flow.run(executor=LocalExecutor(), **kwargs)


class TestStringFormatter:
    def test_formats_keyword_arguments(self):
        assert StringFormatter(template="{x}-{y}").run(x=1, y="two") == "1-two"

    def test_template_given_at_run(self):
        assert StringFormatter().run(template="hi {name}", name="ada") == "hi ada"

    def test_reads_the_context(self):
        with headwater.context(region="eu"):
            assert StringFormatter(template="region={region}").run() == "region=eu"

    def test_arguments_take_precedence_over_context(self):
        with headwater.context(region="eu"):
            assert StringFormatter(template="{region}").run(region="us") == "us"

    def test_format_spec_and_indexing(self):
        out = StringFormatter(template="{n:05.1f} {d[k]}").run(n=3.14159, d={"k": "v"})
        assert out == "003.1 v"

    def test_no_template(self):
        with pytest.raises(ValueError, match=r"StringFormatter 'StringFormatter': no template"):
            StringFormatter().run(x=1)

    def test_template_wrong_type(self):
        with pytest.raises(TypeError, match="template must be a string, got int"):
            StringFormatter(template=5).run()

    def test_unknown_field_is_named(self):
        with pytest.raises(KeyError, match=r"uses the field \{missing\}.*pass missing=\.\.\."):
            StringFormatter(template="{present} {missing}").run(present=1)

    @pytest.mark.parametrize("template", ["{}", "{0}"])
    def test_positional_fields_are_rejected(self, template):
        with pytest.raises(ValueError, match="has positional fields"):
            StringFormatter(template=template).run()

    def test_in_flow_sees_run_context_and_parameters(self):
        fmt = StringFormatter(
            template="{flow_name}/{task_name}/{today}/{parameters[env]}/{who}", name="fmt"
        )
        with Flow("report") as flow:
            env = Parameter("env", default="dev")
            out = fmt(who=env)
        state = run_flow(flow, env="prod")
        assert state.is_successful()
        today = state.result[out].result.split("/")[2]
        assert state.result[out].result == f"report/fmt/{today}/prod/prod"
        assert len(today) == 10 and today[4] == "-"

    def test_mapped_sees_map_index(self):
        with Flow("mapped-format") as flow:
            out = StringFormatter(template="{map_index}:{item}").map(item=items())
        state = run_flow(flow)
        assert state.result[out].result == ["0:a", "1:b", "2:c"]

    def test_unknown_field_fails_the_task(self):
        with Flow("format-bad") as flow:
            out = StringFormatter(template="{nope}")()
        state = run_flow(flow)
        assert state.result[out].is_failed()
        assert "{nope}" in state.result[out].message


@pytest.mark.skipif(jinja2 is None, reason="needs jinja2")
class TestJinjaTemplate:
    def test_renders_keyword_arguments(self):
        t = JinjaTemplate(template="{% for x in xs %}{{ x|upper }}{% endfor %}")
        assert t.run(xs=["a", "b"]) == "AB"

    def test_template_given_at_run(self):
        assert JinjaTemplate().run(template="{{ a + b }}", a=1, b=2) == "3"

    def test_reads_the_context(self):
        with headwater.context(region="eu"):
            assert JinjaTemplate(template="{{ region }}").run() == "eu"
            assert JinjaTemplate(template="{{ region }}").run(region="us") == "us"

    def test_undefined_renders_empty_by_default(self):
        assert JinjaTemplate(template="[{{ nope }}]").run() == "[]"

    def test_strict_makes_undefined_an_error(self):
        with pytest.raises(jinja2.UndefinedError, match="'nope' is undefined"):
            JinjaTemplate(template="{{ nope }}", strict=True).run()

    def test_no_autoescaping(self):
        assert JinjaTemplate(template="{{ s }}").run(s="<b>&</b>") == "<b>&</b>"

    def test_no_template(self):
        with pytest.raises(ValueError, match=r"JinjaTemplate 'JinjaTemplate': no template"):
            JinjaTemplate().run()

    def test_template_wrong_type(self):
        with pytest.raises(TypeError, match="template must be a string, got list"):
            JinjaTemplate(template=["{{ x }}"]).run()

    def test_syntax_error_names_line(self):
        with pytest.raises(ValueError, match="invalid template syntax on line 2"):
            JinjaTemplate(template="ok\n{% for %}").run()

    def test_missing_jinja2_at_construction(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "jinja2", None)
        with pytest.raises(ImportError, match=r'pip install "headwater\[templates\]"'):
            JinjaTemplate(template="{{ x }}")

    def test_missing_jinja2_at_run(self, monkeypatch):
        t = JinjaTemplate(template="{{ x }}")
        monkeypatch.setitem(sys.modules, "jinja2", None)
        with pytest.raises(ImportError, match="needs the jinja2 package"):
            t.run(x=1)

    def test_in_flow_sees_run_context(self):
        tmpl = JinjaTemplate(
            template="{{ flow_name }} {{ parameters['n'] }} {{ greeting }}", name="render"
        )
        with Flow("jinja-flow") as flow:
            n = Parameter("n", default=1)
            out = tmpl(greeting="hello", upstream_tasks=[n])
        state = run_flow(flow, n=7)
        assert state.result[out].result == "jinja-flow 7 hello"

    def test_mapped_sees_map_index(self):
        with Flow("jinja-mapped") as flow:
            out = JinjaTemplate(template="{{ map_index }}{{ item }}").map(item=items())
        assert run_flow(flow).result[out].result == ["0a", "1b", "2c"]
