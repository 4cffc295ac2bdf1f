"""The one schema: config.toml, the load checks, env typing and the pydantic model agree with it."""

from __future__ import annotations

import datetime
import re
import tomllib
from pathlib import Path

import pytest

from headwater._config.layers import DEFAULT_CONFIG, flatten
from headwater._config.model import annotation, build_model
from headwater._config.schema import (
    KEY,
    KEYS,
    KINDS,
    OPEN_SECTIONS,
    SECTIONS,
    fallback,
    render_defaults,
)
from headwater.configuration import load_configuration
from headwater.exceptions import ConfigurationError

SRC = Path(__file__).resolve().parents[2] / "src" / "headwater"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "HEADWATER__USER_CONFIG_PATH": str(tmp_path / "user.toml")}


# ------------------------------------------------------------------------- config.toml --
def test_config_toml_is_generated_from_the_schema():
    assert Path(DEFAULT_CONFIG).read_text() == render_defaults(), (
        "config.toml and headwater._config.schema differ: change the schema and regenerate "
        "the file with `python -m headwater._config.schema > src/headwater/config.toml`"
    )


def test_config_toml_holds_exactly_the_schema_keys_and_defaults():
    with open(DEFAULT_CONFIG, "rb") as f:
        data = tomllib.load(f)
    flat: dict[tuple[str, ...], object] = {}
    sections: set[tuple[str, ...]] = set()
    flatten(data, flat, sections)
    assert flat == {key.path: key.default for key in KEYS}
    assert set(OPEN_SECTIONS) <= sections


def test_every_key_and_open_section_is_documented():
    for key in KEYS:
        assert key.doc.strip(), key.dotted
        assert key.kind in KINDS, key.dotted
    for path, doc in OPEN_SECTIONS.items():
        assert doc.strip(), path


def test_schema_defaults_pass_their_own_checks():
    for key in KEYS:
        assert key.kind.check(key.default), key.dotted


def test_sections_are_the_prefixes_of_known_keys():
    assert ("tasks", "defaults") in SECTIONS and ("tasks",) in SECTIONS
    assert ("context",) in SECTIONS and ("context", "secrets") in SECTIONS
    assert not any(key in SECTIONS for key in KEY)


def test_a_section_set_to_a_value_in_the_user_file_is_refused(env):
    Path(env["HEADWATER__USER_CONFIG_PATH"]).write_text("context = 1\n")
    with pytest.raises(ConfigurationError, match=r"configuration key context is a section"):
        load_configuration(env=env)


# ------------------------------------------------------------- env typing from the schema --
@pytest.mark.parametrize("key", KEYS, ids=[k.dotted for k in KEYS])
def test_env_value_is_typed_by_the_schema(env, key):
    """Text kinds keep the variable's text; the other kinds are typed like Python literals."""
    var = "HEADWATER__" + "__".join(key.path).upper()
    samples = {
        "string": ("123", "123"),
        "class_path": ("a.b.C", "a.b.C"),
        "boolean": ("TRUE", True),
        "string_list": ("['x']", ["x"]),
        "log_level": ("10", 10),
        "retries": ("3", 3),
        "seconds": ("2.5", datetime.timedelta(seconds=2.5)),
        "progress": ("false", False),
        "count": ("3", 3),
    }
    text, expected = samples[key.kind.name]
    assert load_configuration(env={**env, var: text}).get_nested(key.dotted) == expected


# ------------------------------------------------------------------- the pydantic model --
def _model_fields(model, parent=()):
    for name, field in model.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            yield from _model_fields(sub, (*parent, name))
        else:
            yield (*parent, name)


def test_the_model_has_a_field_for_every_key_and_nothing_else():
    assert set(_model_fields(build_model())) == set(KEY) | set(OPEN_SECTIONS)


SAMPLES = [
    True,
    False,
    0,
    3,
    -1,
    2.5,
    -0.5,
    None,
    "",
    "auto",
    " AUTO ",
    "sometimes",
    "INFO",
    "debug",
    "LOUD",
    "a.b",
    "pkg.mod.Class",
    "LocalExecutor",
    "a..b",
    [],
    ["a", "b"],
    [1],
    {"a": 1},
    dict,
    datetime.timedelta(seconds=3),
]


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_model_and_load_check_accept_the_same_values(kind):
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    adapter = TypeAdapter(annotation(kind), config=ConfigDict(strict=True))
    for value in SAMPLES:
        try:
            adapter.validate_python(value)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted is kind.check(value), (kind.name, value)


def test_validate_config_requires_every_known_key(env):
    from headwater.configuration import validate_config

    cfg = load_configuration(env=env)
    del cfg.flows["persistent_cache"]
    with pytest.raises(ConfigurationError, match=r"flows.persistent_cache: missing"):
        validate_config(cfg)


def test_an_unknown_kind_has_no_model_type():
    from headwater._config.schema import Kind

    with pytest.raises(ValueError, match="no pydantic type for configuration kind 'colour'"):
        annotation(Kind("colour", "a colour", lambda v: True))


# ----------------------------------------------------------------------- the fallbacks --
def test_fallbacks_are_the_loaded_packaged_defaults(env):
    cfg = load_configuration(env=env)
    for key in KEYS:
        if key.dotted != "home_dir":  # expanded at load
            assert fallback(key.dotted) == cfg.get_nested(key.dotted), key.dotted
    assert fallback("tasks.defaults.timeout") is None


def test_no_hand_written_config_fallbacks_remain_in_src():
    """Code reads a setting with setting("section.key"), not try/except around attributes."""
    line = r"[^\n]*\n"
    pattern = re.compile(
        rf"try:\n(?:{line}){{0,2}}[^\n]*\b(?:config|cfg)\.[a-z_]+\.[a-z_]+{line}"
        rf"(?:{line}){{0,2}}\s*except AttributeError"
    )
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_packaged_defaults_come_from_the_schema_as_toml_would_give_them():
    """Loading the packaged file takes its content from the schema, without parsing TOML."""
    from headwater._config.schema import defaults_tree

    with open(DEFAULT_CONFIG, "rb") as f:
        parsed = tomllib.load(f)
    tree = defaults_tree()
    assert tree == parsed
    flat_tree: dict[tuple[str, ...], object] = {}
    flat_parsed: dict[tuple[str, ...], object] = {}
    flatten(tree, flat_tree, set())
    flatten(parsed, flat_parsed, set())
    assert list(flat_tree) == list(flat_parsed)  # same order, so `config show` keeps file order
    tree["logging"]["log_attributes"].append("x")
    assert defaults_tree()["logging"]["log_attributes"] == []  # each call is a new tree


def test_import_reads_no_toml_without_a_user_file(tmp_path):
    import os
    import subprocess
    import sys

    code = "import sys, headwater; print('tomllib' in sys.modules)"
    base = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
    base["HEADWATER__USER_CONFIG_PATH"] = str(tmp_path / "none.toml")
    out = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
