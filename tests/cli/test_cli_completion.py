"""Shell completion through click's ``_HEADWATER_COMPLETE`` variable, and the entry points."""

from __future__ import annotations

import importlib.metadata

import pytest


def complete(headwater, words: str, cword: int) -> list[str]:
    proc = headwater(
        env={"_HEADWATER_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash_source", "complete -o nosort -F _headwater_completion headwater"),
        ("zsh_source", "compdef _headwater_completion headwater"),
        ("fish_source", "complete --no-files --command headwater"),
    ],
)
def test_source_scripts(headwater, shell, marker):
    proc = headwater(env={"_HEADWATER_COMPLETE": shell})
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout
    assert "_HEADWATER_COMPLETE" in proc.stdout


def test_commands_complete(headwater):
    assert complete(headwater, "headwater ", 1) == [
        "plain,agent",
        "plain,config",
        "plain,history",
        "plain,report",
        "plain,run",
        "plain,runs",
        "plain,serve",
        "plain,ui",
        "plain,version",
        "plain,visualize",
    ]
    assert complete(headwater, "headwater v", 1) == ["plain,version", "plain,visualize"]
    assert complete(headwater, "headwater config s", 2) == ["plain,show"]


def test_options_and_values_complete(headwater):
    assert "plain,--executor" in complete(headwater, "headwater run x.py --ex", 3)
    assert complete(headwater, "headwater run x.py --executor t", 4) == ["plain,threads"]
    assert complete(headwater, "headwater run x.py --log-level WA", 4) == ["plain,WARNING"]
    assert complete(headwater, "headwater visualize x.py --format d", 4) == ["plain,dot"]


def test_the_target_completes_as_a_file(headwater):
    assert complete(headwater, "headwater run exa", 2) == ["file,exa"]


def test_the_console_script_is_headwater_cli_main():
    [script] = [
        ep
        for ep in importlib.metadata.entry_points(group="console_scripts")
        if ep.name == "headwater"
    ]
    assert script.value == "headwater.cli:main"
    from headwater.cli import main

    assert script.load() is main
