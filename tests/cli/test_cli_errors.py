"""Every error is one line in the command line's words; exit status 2 for usage, 1 otherwise."""

from __future__ import annotations

import io

import click
import pytest

from headwater import cli
from headwater.exceptions import ConfigurationError

FLOW = """
from headwater import Flow, Parameter, task

@task
def echo(x):
    return x

with Flow("echo") as flow:
    echo(Parameter("x", default=1))
"""


def in_process(argv: list[str], monkeypatch=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, env={}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run"], "Missing argument 'TARGET'"),
        (["run", "{flow}", "--bogus"], "No such option '--bogus'"),
        (["run", "{flow}", "-p", "x"], "parameters are given as KEY=VALUE, got 'x'"),
        (["run", "{flow}", "-p", "y=1"], "unknown parameter(s): y (flow 'echo' takes: x)"),
        (["run", "{flow}", "--executor", "cluster"], "invalid choice: 'cluster'"),
        (["run", "{flow}", "--flow"], "Option '--flow' requires an argument"),
        (["run", "missing.py"], "file 'missing.py' does not exist"),
        (["run", "{dir}"], "is a directory, not a file"),
        (["visualize", "{flow}", "--format", "png"], "Invalid value for '--format'"),
        (["nope"], "No such command 'nope'"),
        (["config", "nope"], "No such command 'nope'"),
        ([], "Missing command"),
    ],
)
def test_usage_errors_exit_2_in_one_line(headwater, write, tmp_path, args, needle):
    flow = write("echo_flow.py", FLOW)
    argv = [a.format(flow=flow, dir=tmp_path) for a in args]
    proc = headwater(*argv)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith("headwater")
    assert needle in line
    assert "Traceback" not in proc.stderr


def test_option_errors_point_at_help():
    code, _, err = in_process(["run", "x.py", "--bogus"])
    assert code == 2
    assert err.strip() == (
        "headwater run: No such option '--bogus'. "
        "(usage: headwater run [OPTIONS] TARGET; see 'headwater run --help')"
    )


def test_help_is_not_an_error():
    code, out, err = in_process(["run", "--help"])
    assert code == 0 and err == ""
    assert "Usage: headwater run [OPTIONS] TARGET" in out
    for option in ("--flow NAME", "-p, --param KEY=VALUE", "--executor", "--log-level", "--quiet"):
        assert option in out
    assert "--json" in out


def test_a_failed_flow_exits_1(headwater, write):
    path = write("failing.py", "from headwater import Flow, task\n")
    path.write_text(
        path.read_text()
        + "@task\ndef bad():\n    raise RuntimeError('x')\n"
        + "with Flow('bad') as flow:\n    bad()\n"
    )
    proc = headwater("run", str(path))
    assert proc.returncode == 1
    assert proc.stdout.startswith("Flow 'bad': Failed")


def test_a_configuration_error_raised_by_a_command_is_one_line(monkeypatch):
    monkeypatch.setattr(cli.app, "commands", dict(cli.app.commands))

    @cli.app.command("explode")
    def explode() -> None:
        raise ConfigurationError("configuration key debug must be a boolean,\nreally")

    code, out, err = in_process(["explode"])
    assert code == 1 and out == ""
    assert err == (
        "headwater: configuration error: configuration key debug must be a boolean, really\n"
    )


def test_an_unexpected_error_is_one_line_unless_debugging(monkeypatch):
    monkeypatch.setattr(cli.app, "commands", dict(cli.app.commands))

    @cli.app.command("crash")
    def crash() -> None:
        raise KeyError("surprise")

    code, _, err = in_process(["crash"])
    assert code == 1
    assert err.splitlines() == [
        "headwater: unexpected error: KeyError('surprise') "
        "(set HEADWATER__DEBUG=true to see the traceback)"
    ]
    with pytest.raises(KeyError):
        cli.main(["crash"], env={"HEADWATER__DEBUG": "true"}, stdout=io.StringIO())


def test_command_errors_keep_their_exit_status(monkeypatch):
    monkeypatch.setattr(cli.app, "commands", dict(cli.app.commands))

    @cli.app.command("refuse")
    def refuse() -> None:
        raise cli.CommandError("cannot do that", exit_code=3)

    @cli.app.command("misuse")
    def misuse() -> None:
        raise cli.UsageProblem("pass --flow NAME")

    assert in_process(["refuse"])[::2] == (3, "headwater: cannot do that\n")
    assert in_process(["misuse"])[::2] == (2, "headwater misuse: pass --flow NAME\n")


def test_click_usage_errors_are_usage_errors():
    assert issubclass(cli.UsageProblem, click.UsageError)


# ------------------------------------------------------------------ bad configuration --
BAD_CONFIG = {
    "env": ({"HEADWATER__DEBUG": "maybe"}, ["HEADWATER__DEBUG", "boolean"]),
    "user-file": (None, ["line 1"]),
}


@pytest.mark.parametrize("source", sorted(BAD_CONFIG))
@pytest.mark.parametrize("args", [["--version"], ["config", "show"], ["run", "{flow}"]])
def test_a_bad_configuration_is_one_line(headwater, write, home, source, args):
    env, needles = BAD_CONFIG[source]
    if env is None:
        (home / ".headwater").mkdir()
        (home / ".headwater" / "config.toml").write_text("[logging\n")
        needles = [*needles, str(home / ".headwater" / "config.toml")]
    flow = write("echo_flow.py", FLOW)
    proc = headwater(*[a.format(flow=flow) for a in args], env=env)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("headwater: configuration error: ")
    for needle in needles:
        assert needle in line
