"""The ``headwater`` command line: ``version``, ``config show`` and command registration."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

import headwater
from headwater import cli
from headwater.configuration import DEFAULT_CONFIG


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "HEADWATER__USER_CONFIG_PATH": str(tmp_path / "user.toml")}


def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, env=env, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_version(env):
    code, out, _ = run(["version"], env)
    assert code == 0
    assert out.strip() == headwater.__version__


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag(env, capsys, flag):
    assert cli.main([flag], env=env) == 0
    assert capsys.readouterr().out.strip() == f"headwater {headwater.__version__}"


def test_no_command_is_a_usage_error(env, capsys):
    assert cli.main([], env=env) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_config_without_action_is_a_usage_error(env, capsys):
    assert cli.main(["config"], env=env) == 2
    assert "ACTION" in capsys.readouterr().err


def test_config_show_names_each_source(env, tmp_path):
    user = tmp_path / "user.toml"
    user.write_text('debug = true\n[my_app]\nname = "demo"\n')
    code, out, _ = run(["config", "show"], {**env, "HEADWATER__TASKS__DEFAULTS__MAX_RETRIES": "3"})
    assert code == 0
    lines = out.splitlines()
    assert f"# user file: {user}" in lines

    def line_for(prefix: str) -> str:
        (line,) = [x for x in lines if x.startswith(prefix)]
        return line

    assert line_for("debug = true").endswith(f"# user file {user}")
    assert line_for("max_retries = 3").endswith(
        "# environment variable HEADWATER__TASKS__DEFAULTS__MAX_RETRIES"
    )
    assert line_for("level = ").endswith(f"# default file {DEFAULT_CONFIG}")
    assert line_for("name = ").endswith(f"# user file {user}")
    assert "[tasks.defaults]" in lines
    assert "[my_app]" in lines


def test_config_show_output_is_toml_of_the_effective_values(env):
    code, out, _ = run(["config", "show"], {**env, "HEADWATER__MY_APP__N": "2"})
    assert code == 0
    parsed = tomllib.loads(out)
    assert parsed["home_dir"] == f"{env['HOME']}/.headwater"
    assert parsed["my_app"]["n"] == 2
    assert parsed["tasks"]["defaults"]["timeout"] == 0  # as written in the file
    assert parsed["logging"]["format"].startswith("[%(asctime)s.%(msecs)03d]")


def test_config_show_top_level_env_keys_stay_before_tables(env):
    code, out, _ = run(["config", "show"], {**env, "HEADWATER__EXTRA": "1"})
    assert code == 0
    assert tomllib.loads(out)["extra"] == 1


def test_config_show_masks_secrets(env):
    env = {**env, "HEADWATER__CONTEXT__SECRETS__Api_Token": "hunter2"}
    code, out, _ = run(["config", "show"], env)
    assert code == 0
    assert "hunter2" not in out
    assert "[context.secrets]" in out
    assert 'Api_Token = "********"' in out

    code, out, _ = run(["config", "show", "--show-secrets"], env)
    assert 'Api_Token = "hunter2"' in out


def test_config_show_json(env):
    code, out, _ = run(["config", "show", "--json"], {**env, "HEADWATER__LOGGING__LEVEL": "DEBUG"})
    assert code == 0
    data = json.loads(out)
    assert data["logging.level"] == {
        "value": "DEBUG",
        "source": "environment variable HEADWATER__LOGGING__LEVEL",
    }
    assert data["debug"]["value"] is False
    assert data["debug"]["source"] == f"default file {DEFAULT_CONFIG}"


def test_config_show_reports_bad_configuration(env):
    code, out, err = run(["config", "show"], {**env, "HEADWATER__DEBUG": "maybe"})
    assert code == 1
    assert out == ""
    assert "configuration error" in err
    assert "HEADWATER__DEBUG" in err
    assert "boolean" in err


def test_config_show_reports_malformed_user_file(env, tmp_path):
    (tmp_path / "user.toml").write_text("[logging\n")
    code, _, err = run(["config", "show"], env)
    assert code == 1
    assert str(tmp_path / "user.toml") in err
    assert "line 1" in err


def test_registered_commands_are_dispatched(env, monkeypatch):
    monkeypatch.setattr(cli.app, "commands", dict(cli.app.commands))

    @cli.app.command("hello", help="Say hello.")
    @click.argument("name")
    @click.option("-p", multiple=True)
    @cli.pass_io
    def hello(io: cli.CommandIO, name: str, p: tuple[str, ...]) -> int:
        io.out(f"hello {name} {list(p)} {io.env['HOME']}")
        return 3

    code, out, _ = run(["hello", "world", "-p", "a=1"], env)
    assert code == 3
    assert out.strip() == f"hello world ['a=1'] {env['HOME']}"


def test_command_modules_are_imported(env, monkeypatch, tmp_path):
    (tmp_path / "hw_cli_plugin.py").write_text(
        "from headwater.cli import app, pass_io\n"
        "@app.command('ping', help='Reply pong.')\n"
        "@pass_io\n"
        "def ping(io):\n"
        "    io.out('pong')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli.app, "commands", dict(cli.app.commands))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["hw_cli_plugin"])
    try:
        assert run(["ping"], env)[:2] == (0, "pong\n")
    finally:
        sys.modules.pop("hw_cli_plugin", None)


def test_console_entry_point_end_to_end(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")} | {
        "HOME": str(tmp_path),
        "HEADWATER__USER_CONFIG_PATH": str(tmp_path / "none.toml"),
        "HEADWATER__LOGGING__LEVEL": "WARNING",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "headwater.cli", "config", "show"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'level = "WARNING"' in proc.stdout
    assert "environment variable HEADWATER__LOGGING__LEVEL" in proc.stdout
    assert f"# user file: {tmp_path / 'none.toml'} (not found)" in proc.stdout
