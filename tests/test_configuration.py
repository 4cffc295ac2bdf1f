"""Configuration loading, typing, interpolation, validation and context-scoped overrides."""

from __future__ import annotations

import asyncio
import copy
import datetime
import os
import pickle
import re
import subprocess
import sys
import textwrap
import threading
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import headwater
from headwater.configuration import (
    DEFAULT_CONFIG,
    Config,
    ConfigProxy,
    current_config,
    explain_configuration,
    global_config,
    interpolate_env_vars,
    load_class_from_config,
    load_configuration,
    process_task_defaults,
    string_to_type,
    to_environment_variables,
    validate_config,
)
from headwater.exceptions import ConfigurationError
from headwater.utilities.configuration import set_temporary_config

SPEC_KEYS = [
    "debug",
    "home_dir",
    "logging.level",
    "logging.format",
    "logging.datefmt",
    "logging.log_attributes",
    "logging.extra_loggers",
    "flows.checkpointing",
    "flows.run_on_schedule",
    "flows.eager_edge_validation",
    "tasks.defaults.max_retries",
    "tasks.defaults.retry_delay",
    "tasks.defaults.timeout",
    "engine.executor.default_class",
    "engine.executor.dask.address",
    "engine.executor.dask.cluster_class",
    "engine.flow_runner.default_class",
    "engine.task_runner.default_class",
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    return tmp_path / "user.toml"


@pytest.fixture
def env(home: Path, user_file: Path) -> dict[str, str]:
    """A hermetic environment: a fake HOME and a user file path that tests may create."""
    return {"HOME": str(home), "HEADWATER__USER_CONFIG_PATH": str(user_file)}


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def load(env: dict[str, str], **extra: str) -> Config:
    return load_configuration(env={**env, **extra})


# ------------------------------------------------------------------------ packaged defaults --
class TestDefaults:
    def test_every_spec_key_is_present(self, env):
        cfg = load(env)
        for key in SPEC_KEYS:
            assert cfg.get_nested(key, default=KeyError) is not KeyError, key
        assert isinstance(cfg.context.secrets, Config)

    def test_every_key_in_config_toml_is_commented(self):
        lines = Path(DEFAULT_CONFIG).read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^[\w\"]+\s*=", line):
                assert lines[i - 1].startswith("#"), f"key without comment: {line!r}"

    def test_default_values(self, env, home):
        cfg = load(env)
        assert cfg.debug is False
        assert cfg.home_dir == f"{home}/.headwater"
        assert cfg.logging.level == "INFO"
        assert cfg.flows.checkpointing is False
        assert cfg.engine.executor.default_class == "headwater.executors.LocalExecutor"
        # process_task_defaults: 0 means "not set"
        assert cfg.tasks.defaults.max_retries == 0
        assert cfg.tasks.defaults.retry_delay is None
        assert cfg.tasks.defaults.timeout is None

    def test_prefect1_sections_that_apply_are_present(self, env):
        cfg = load(env)
        assert cfg.flows.defaults.storage.default_class == "headwater.storage.Local"
        assert cfg.flows.defaults.storage.add_default_labels is True
        assert cfg.tasks.defaults.max_retries == 0

    def test_packaged_defaults_pass_the_pydantic_model(self, env):
        validate_config(load(env))

    def test_import_does_not_import_pydantic(self):
        code = "import sys, headwater.configuration; print('pydantic' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------ user file --
class TestUserFile:
    def test_missing_user_file_is_fine(self, env, user_file):
        assert not user_file.exists()
        assert load(env).logging.level == "INFO"

    def test_user_file_overrides_and_unknown_keys_are_kept(self, env, user_file):
        write(
            user_file,
            """
            debug = true
            [logging]
            level = "DEBUG"
            colour = "blue"
            [my_app]
            retries = 7
            [my_app.db]
            url = "sqlite://"
            """,
        )
        cfg = load(env)
        assert cfg.debug is True
        assert cfg.logging.level == "DEBUG"
        assert cfg.logging.format.startswith("[%(asctime)s.%(msecs)03d]")  # untouched default kept
        assert cfg.logging.colour == "blue"
        assert cfg.my_app.retries == 7
        assert cfg.my_app.db.url == "sqlite://"
        assert isinstance(cfg.my_app.db, Config)

    def test_user_file_path_comes_from_injected_env(self, home):
        other = write(home / "elsewhere.toml", "[flows]\ncheckpointing = true\n")
        cfg = load_configuration(env={"HOME": str(home), "HEADWATER__USER_CONFIG_PATH": str(other)})
        assert cfg.flows.checkpointing is True

    def test_user_file_path_expands_home_of_injected_env(self, home):
        write(home / "hw.toml", "debug = true\n")
        env = {"HOME": str(home), "HEADWATER__USER_CONFIG_PATH": "~/hw.toml"}
        assert load_configuration(env=env).debug is True

    def test_default_user_file_is_under_home(self, home):
        (home / ".headwater").mkdir()
        write(home / ".headwater" / "config.toml", "debug = true\n")
        assert load_configuration(env={"HOME": str(home)}).debug is True

    def test_empty_user_config_path_reads_no_user_file(self, home):
        (home / ".headwater").mkdir()
        write(home / ".headwater" / "config.toml", "debug = true\n")
        assert load_configuration(user_config_path="", env={"HOME": str(home)}).debug is False
        env = {"HOME": str(home), "HEADWATER__USER_CONFIG_PATH": ""}
        assert load_configuration(env=env).debug is False

    def test_explicit_user_config_path_wins(self, env, home):
        explicit = write(home / "explicit.toml", "debug = true\n")
        assert load_configuration(user_config_path=explicit, env=env).debug is True

    def test_malformed_user_file(self, env, user_file):
        write(user_file, "[logging]\nlevel = \n")
        with pytest.raises(ConfigurationError) as info:
            load(env)
        msg = str(info.value)
        assert str(user_file) in msg
        assert "not valid TOML" in msg
        assert "line 2" in msg

    def test_malformed_defaults_file(self, env, tmp_path):
        bad = write(tmp_path / "defaults.toml", "debug = [1,\n")
        with pytest.raises(ConfigurationError, match=re.escape(str(bad)) + ".*line"):
            load_configuration(path=bad, env=env)

    def test_missing_defaults_file(self, env, tmp_path):
        with pytest.raises(ConfigurationError, match="cannot read default configuration file"):
            load_configuration(path=tmp_path / "nope.toml", env=env)

    def test_user_path_is_a_directory(self, env, tmp_path):
        with pytest.raises(ConfigurationError, match=re.escape(str(tmp_path))):
            load_configuration(user_config_path=tmp_path, env=env)

    def test_wrong_type_in_user_file_names_file_and_key(self, env, user_file):
        write(user_file, '[tasks.defaults]\nmax_retries = "three"\n')
        with pytest.raises(ConfigurationError) as info:
            load(env)
        msg = str(info.value)
        assert "tasks.defaults.max_retries" in msg
        assert str(user_file) in msg
        assert "integer" in msg

    def test_user_file_replacing_a_section_by_a_value(self, env, user_file):
        write(user_file, 'logging = "loud"\n')
        with pytest.raises(ConfigurationError, match=r"logging is a section.*user file"):
            load(env)

    def test_key_shadowing_a_config_method_is_rejected(self, env, user_file):
        write(user_file, "[my_app]\nget = 1\n")
        with pytest.raises(ConfigurationError, match=r"my_app\.get.*Config method"):
            load(env)


# ------------------------------------------------------------------------ env variables --
class TestEnvironment:
    @pytest.mark.parametrize(
        "raw, expected",
        [
            ("true", True),
            ("TRUE", True),
            ("False", False),
            ("3", 3),
            ("-2.5", -2.5),
            ("[1, 'a']", [1, "a"]),
            ("{'a': 1}", {"a": 1}),
            ("None", None),
            ("'quoted'", "quoted"),
            ("hello world", "hello world"),
            ("", ""),
            ("1e3", 1000.0),
        ],
    )
    def test_string_to_type(self, raw, expected):
        assert string_to_type(raw) == expected
        assert type(string_to_type(raw)) is type(expected)

    @given(st.integers())
    def test_string_to_type_ints(self, n):
        assert string_to_type(str(n)) == n

    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_string_to_type_floats(self, x):
        assert string_to_type(repr(x)) == x

    @given(st.text(alphabet=st.characters(whitelist_categories=("L",)), min_size=1))
    def test_string_to_type_words_stay_text_unless_bool_or_literal(self, word):
        result = string_to_type(word)
        if word.lower() in ("true", "false"):
            assert result is (word.lower() == "true")
        elif word in ("None", "True", "False"):
            assert result is not word
        else:
            assert result == word

    def test_env_overrides_user_file(self, env, user_file):
        write(user_file, "[logging]\nlevel = 'DEBUG'\n")
        cfg = load(env, HEADWATER__LOGGING__LEVEL="ERROR")
        assert cfg.logging.level == "ERROR"

    def test_env_values_are_typed(self, env):
        cfg = load(
            env,
            HEADWATER__DEBUG="TRUE",
            HEADWATER__TASKS__DEFAULTS__MAX_RETRIES="4",
            HEADWATER__TASKS__DEFAULTS__TIMEOUT="2.5",
            HEADWATER__LOGGING__EXTRA_LOGGERS="['dask', 'urllib3']",
        )
        assert cfg.debug is True
        assert cfg.tasks.defaults.max_retries == 4
        assert cfg.tasks.defaults.timeout == datetime.timedelta(seconds=2.5)
        assert cfg.logging.extra_loggers == ["dask", "urllib3"]

    def test_string_keys_keep_env_text_verbatim(self, env):
        cfg = load(
            env,
            HEADWATER__LOGGING__DATEFMT="123",
            HEADWATER__ENGINE__EXECUTOR__DASK__ADDRESS="tcp://127.0.0.1:8786",
        )
        assert cfg.logging.datefmt == "123"
        assert cfg.engine.executor.dask.address == "tcp://127.0.0.1:8786"

    def test_unknown_env_keys_are_kept_and_typed(self, env):
        cfg = load(env, HEADWATER__MY_APP__SIZE="10", HEADWATER__MY_APP__NAME="x")
        assert cfg.my_app.size == 10
        assert cfg.my_app.name == "x"
        assert cfg.debug is False

    def test_keys_are_lowercased_but_secret_names_keep_case(self, env):
        cfg = load(env, HEADWATER__CONTEXT__SECRETS__MyToken="s3cr$t", HEADWATER__Flows__X="1")
        assert cfg.context.secrets["MyToken"] == "s3cr$t"
        assert cfg.flows.x == 1

    def test_other_prefixes_are_ignored(self, env):
        cfg = load(env, HEADWATERX__DEBUG="true", PREFECT__DEBUG="true", HEADWATER_DEBUG="1")
        assert cfg.debug is False

    def test_custom_prefix(self, env):
        cfg = load_configuration(env={**env, "MYAPP__DEBUG": "true"}, env_var_prefix="MYAPP")
        assert cfg.debug is True

    @pytest.mark.parametrize(
        "var, value, expected",
        [
            ("HEADWATER__TASKS__DEFAULTS__MAX_RETRIES", "abc", "integer >= 0"),
            ("HEADWATER__TASKS__DEFAULTS__MAX_RETRIES", "-1", "integer >= 0"),
            ("HEADWATER__TASKS__DEFAULTS__MAX_RETRIES", "true", "integer >= 0"),
            ("HEADWATER__DEBUG", "yes", "boolean"),
            ("HEADWATER__FLOWS__CHECKPOINTING", "1", "boolean"),
            ("HEADWATER__LOGGING__EXTRA_LOGGERS", "dask", "list of strings"),
            ("HEADWATER__LOGGING__LEVEL", "LOUD", "logging level"),
            ("HEADWATER__TASKS__DEFAULTS__TIMEOUT", "soon", "number of seconds"),
            ("HEADWATER__ENGINE__EXECUTOR__DEFAULT_CLASS", "LocalExecutor", "dotted import path"),
        ],
    )
    def test_wrong_type_names_variable_key_and_type(self, env, var, value, expected):
        with pytest.raises(ConfigurationError) as info:
            load(env, **{var: value})
        msg = str(info.value)
        assert var in msg
        key = var.removeprefix("HEADWATER__").lower().replace("__", ".")
        assert key in msg
        assert expected in msg
        assert isinstance(info.value, ValueError)

    def test_env_setting_a_section(self, env):
        with pytest.raises(ConfigurationError, match=r"HEADWATER__LOGGING sets logging.*section"):
            load(env, HEADWATER__LOGGING="quiet")

    def test_env_treating_a_value_as_a_section(self, env):
        with pytest.raises(ConfigurationError, match=r"HEADWATER__DEBUG__X treats debug"):
            load(env, HEADWATER__DEBUG__X="1")

    def test_env_empty_part(self, env):
        with pytest.raises(ConfigurationError, match="HEADWATER__LOGGING____LEVEL"):
            load(env, HEADWATER__LOGGING____LEVEL="DEBUG")


# ---------------------------------------------------------------------------- interpolation --
class TestInterpolation:
    def test_env_vars_and_home_are_expanded(self, env, home, user_file):
        write(
            user_file,
            """
            [my_app]
            a = "$DATA/a"
            b = "${DATA}/b"
            c = "~/c"
            d = "$UNSET_VARIABLE/d"
            e = "x~y"
            """,
        )
        cfg = load(env, DATA="/data")
        assert cfg.my_app.a == "/data/a"
        assert cfg.my_app.b == "/data/b"
        assert cfg.my_app.c == f"{home}/c"
        assert cfg.my_app.d == "$UNSET_VARIABLE/d"
        assert cfg.my_app.e == "x~y"

    def test_expanded_values_are_typed_for_their_key(self, env, user_file):
        write(user_file, '[tasks.defaults]\nmax_retries = "$RETRIES"\n[my_app]\nn = "$RETRIES"\n')
        cfg = load(env, RETRIES="3")
        assert cfg.tasks.defaults.max_retries == 3
        assert cfg.my_app.n == 3

    def test_wrong_type_after_expansion(self, env, user_file):
        write(user_file, '[tasks.defaults]\nmax_retries = "$RETRIES"\n')
        with pytest.raises(ConfigurationError, match="max_retries.*after interpolation"):
            load(env, RETRIES="many")

    def test_nested_env_vars(self, env):
        cfg = load(env, HEADWATER__MY_APP__P="$OUTER", OUTER="$INNER/x", INNER="/in")
        assert cfg.my_app.p == "/in/x"

    def test_references(self, env, user_file, home):
        write(
            user_file,
            """
            [my_app]
            root = "${home_dir}/app"
            results = "${my_app.root}/results"
            flag = "${flows.checkpointing}"
            label = "checkpointing=${flows.checkpointing}"
            """,
        )
        cfg = load(env)
        assert cfg.my_app.root == f"{home}/.headwater/app"
        assert cfg.my_app.results == f"{home}/.headwater/app/results"  # nested reference
        assert cfg.my_app.flag is False  # a whole-value reference keeps the type
        assert cfg.my_app.label == "checkpointing=False"  # str() of the value, as Prefect 1

    def test_references_resolve_after_env_is_merged(self, env, user_file):
        write(user_file, '[my_app]\nretries = "${tasks.defaults.max_retries}"\n')
        cfg = load(env, HEADWATER__TASKS__DEFAULTS__MAX_RETRIES="5")
        assert cfg.my_app.retries == 5

    def test_reference_into_known_key_is_type_checked(self, env, user_file):
        write(user_file, '[my_app]\nx = "no"\n[flows]\ncheckpointing = "${my_app.x}"\n')
        with pytest.raises(ConfigurationError, match="flows.checkpointing must be a boolean"):
            load(env)

    def test_env_var_reference(self, env):
        cfg = load(env, HEADWATER__MY_APP__DIR="${home_dir}/x")
        assert cfg.my_app.dir == cfg.home_dir + "/x"

    def test_top_level_key_reference_wins_over_env_var(self, env, home):
        cfg = load(env, HEADWATER__MY_APP__DIR="${home_dir}/x", home_dir="/not/this")
        assert cfg.my_app.dir == f"{home}/.headwater/x"

    def test_missing_reference_is_empty_and_warns_naming_the_key(self, env, user_file):
        # Prefect 1 replaces a reference to a missing key by "": so does headwater, but it says so.
        write(user_file, '[my_app]\npath = "${my_app.nowhere}/x"\n')
        with pytest.warns(UserWarning) as record:
            cfg = load(env)
        assert cfg.my_app.path == "/x"
        message = str(record[0].message)
        assert "my_app.path" in message and "my_app.nowhere" in message
        assert "neither a configuration key nor a set environment variable" in message

    def test_nested_reference_is_resolved_from_the_inside_out(self, env, user_file):
        write(
            user_file,
            '[my_app]\nwhich = "b"\na = 1\nb = 2\npick = "${my_app.${my_app.which}}"\n',
        )
        assert load(env).my_app.pick == 2

    def test_reference_to_a_section(self, env, user_file):
        write(user_file, '[my_app]\nx = "${logging}"\n')
        with pytest.raises(ConfigurationError, match=r"my_app.x refers to \$\{logging\}.*section"):
            load(env)

    def test_reference_cycle_names_the_keys(self, env, user_file):
        write(
            user_file,
            """
            [a]
            x = "${b.y}/1"
            [b]
            y = "${c.z}"
            [c]
            z = "pre-${a.x}"
            """,
        )
        with pytest.raises(ConfigurationError) as info:
            load(env)
        msg = str(info.value)
        assert "cycle" in msg
        assert "a.x -> b.y -> c.z -> a.x" in msg

    def test_self_reference(self, env):
        with pytest.raises(ConfigurationError, match=r"cycle: my_app.x -> my_app.x"):
            load(env, HEADWATER__MY_APP__X="${my_app.x}")

    def test_secrets_are_used_verbatim(self, env, user_file):
        write(user_file, '[context.secrets]\nPW = "p$HOME${nope}~"\n')
        cfg = load(env)
        assert cfg.context.secrets.PW == "p$HOME${nope}~"

    def test_interpolate_env_vars(self, home):
        env = {"A": "1", "B": "$A$A", "HOME": str(home)}
        assert interpolate_env_vars("$B", env=env) == 11
        assert interpolate_env_vars("x-$A", env=env) == "x-1"
        assert interpolate_env_vars("~/d", env=env) == f"{home}/d"
        assert interpolate_env_vars("123", env=env) == "123"  # unchanged text is not typed
        assert interpolate_env_vars(5, env=env) == 5
        assert interpolate_env_vars("", env=env) == ""

    def test_interpolate_env_vars_that_never_settle(self):
        with pytest.raises(ConfigurationError, match="does not settle"):
            interpolate_env_vars("$X", env={"X": "a$X"})


# ------------------------------------------------------------------------- dotted classes --
class TestLoadClass:
    def test_loads_the_default_executor(self, env):
        from headwater.executors import LocalExecutor

        cls = load_class_from_config("engine.executor.default_class", load(env))
        assert cls is LocalExecutor

    def test_missing_module(self, env):
        cfg = load(env, HEADWATER__ENGINE__EXECUTOR__DEFAULT_CLASS="nopkg_xyz.mod.Executor")
        with pytest.raises(ConfigurationError) as info:
            load_class_from_config("engine.executor.default_class", cfg)
        msg = str(info.value)
        assert "engine.executor.default_class" in msg
        assert "nopkg_xyz.mod.Executor" in msg
        assert "HEADWATER__ENGINE__EXECUTOR__DEFAULT_CLASS" in msg

    def test_missing_attribute(self, env):
        cfg = load(env, HEADWATER__ENGINE__EXECUTOR__DEFAULT_CLASS="headwater.executors.Nope")
        with pytest.raises(ConfigurationError, match="headwater.executors has no attribute 'Nope'"):
            load_class_from_config("engine.executor.default_class", cfg)

    def test_module_failing_on_import(self, env, tmp_path, monkeypatch):
        write(tmp_path / "hw_broken_mod.py", "raise RuntimeError('boom')\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        cfg = load(env, HEADWATER__ENGINE__EXECUTOR__DEFAULT_CLASS="hw_broken_mod.X")
        with pytest.raises(ConfigurationError, match="importing hw_broken_mod failed.*boom"):
            load_class_from_config("engine.executor.default_class", cfg)
        sys.modules.pop("hw_broken_mod", None)

    @pytest.mark.parametrize("where", ["user file", "environment variable"])
    def test_flow_run_with_an_unknown_executor_names_the_source(self, tmp_path, where):
        """flow.run() with a bad default executor: a warning naming file/variable, key and fix,
        then the run goes on with the built-in LocalExecutor (as Prefect 1 falls back)."""
        user = write(tmp_path / "user.toml", "")
        env = {"HOME": str(tmp_path), "HEADWATER__USER_CONFIG_PATH": str(user)}
        bad = "headwater.executors.DaskExecutorr"
        if where == "user file":
            write(user, f'[engine.executor]\ndefault_class = "{bad}"\n')
            source = f"user file {user}"
        else:
            env["HEADWATER__ENGINE__EXECUTOR__DEFAULT_CLASS"] = bad
            source = "environment variable HEADWATER__ENGINE__EXECUTOR__DEFAULT_CLASS"
        script = textwrap.dedent(
            """
            import warnings
            from headwater import Flow, task

            @task
            def one():
                return 1

            with Flow("f") as flow:
                t = one()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                state = flow.run()
            print(state.result[t].result)
            for w in caught:
                print("WARNING", w.message)
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.strip().splitlines()
        assert lines[0] == "1"
        [msg] = [line for line in lines if line.startswith("WARNING")]
        assert f"configuration key engine.executor.default_class = {bad!r}" in msg
        assert f"(from {source})" in msg
        assert "has no attribute 'DaskExecutorr'" in msg
        assert "importable dotted path such as 'headwater.executors.LocalDaskExecutor'" in msg
        assert "Using headwater.executors.LocalExecutor instead" in msg

    def test_unset_key(self, env):
        with pytest.raises(ConfigurationError, match="my_app.cls is not set"):
            load_class_from_config("my_app.cls", load(env))

    def test_class_object_is_returned(self):
        with set_temporary_config({"engine.executor.default_class": dict}):
            assert load_class_from_config("engine.executor.default_class") is dict


# ------------------------------------------------------------------------------- helpers --
class TestHelpers:
    def test_process_task_defaults(self):
        cfg = Config(tasks=Config(defaults=Config(max_retries=None, retry_delay=3, timeout=0)))
        out = process_task_defaults(cfg)
        assert out is cfg
        assert cfg.tasks.defaults.max_retries == 0
        assert cfg.tasks.defaults.retry_delay == datetime.timedelta(seconds=3)
        assert cfg.tasks.defaults.timeout is None
        assert process_task_defaults(cfg.copy()) == cfg  # idempotent

    def test_process_task_defaults_creates_sections(self):
        cfg = process_task_defaults(Config())
        assert cfg.tasks.defaults.to_dict() == {
            "max_retries": 0,
            "retry_delay": None,
            "timeout": None,
        }

    def test_to_environment_variables(self, env):
        cfg = load(env, HEADWATER__CONTEXT__SECRETS__Token="t")
        out = to_environment_variables(cfg, include={"logging.level", "flows"})
        assert out == {
            "HEADWATER__LOGGING__LEVEL": "INFO",
            "HEADWATER__FLOWS__CHECKPOINTING": "False",
            "HEADWATER__FLOWS__RUN_ON_SCHEDULE": "True",
            "HEADWATER__FLOWS__EAGER_EDGE_VALIDATION": "False",
            "HEADWATER__FLOWS__PERSISTENT_CACHE": "False",
            "HEADWATER__FLOWS__PROGRESS": "auto",
            "HEADWATER__FLOWS__DEFAULTS__STORAGE__DEFAULT_CLASS": "headwater.storage.Local",
            "HEADWATER__FLOWS__DEFAULTS__STORAGE__ADD_DEFAULT_LABELS": "True",
        }
        everything = to_environment_variables(cfg, prefix="X")
        assert everything["X__DEBUG"] == "False"
        assert everything["X__CONTEXT__SECRETS__Token"] == "t"

    def test_to_environment_variables_round_trip(self, env, user_file):
        write(
            user_file,
            """
            [logging]
            extra_loggers = ["dask"]
            level = "DEBUG"
            [tasks.defaults]
            max_retries = 2
            retry_delay = 1.5
            timeout = 30
            [my_app]
            n = 3
            s = "text"
            """,
        )
        cfg = load(env, HEADWATER__CONTEXT__SECRETS__Api_Key="k")
        exported = to_environment_variables(cfg)
        fresh = {"HOME": env["HOME"], "HEADWATER__USER_CONFIG_PATH": "/nonexistent", **exported}
        assert load_configuration(env=fresh) == cfg

    @given(
        st.lists(
            st.one_of(
                st.booleans(),
                st.integers(),
                st.floats(allow_nan=False, allow_infinity=False),
                st.none(),
                st.text().filter(lambda t: "$" not in t and not t.startswith("~")),
                st.lists(st.text(max_size=5), max_size=3),
            ),
            max_size=6,
        )
    )
    def test_to_environment_variables_round_trips_any_value(self, values):
        cfg = load_configuration(env={"HOME": "/h", "HEADWATER__USER_CONFIG_PATH": ""})
        for i, value in enumerate(values):
            cfg.set_nested(f"my_app.k{i}", value)
        cfg.set_nested("context.secrets.Token", "007")
        cfg.set_nested("logging.datefmt", "123")
        exported = to_environment_variables(cfg)
        reloaded = load_configuration(
            env={"HOME": "/h", "HEADWATER__USER_CONFIG_PATH": "", **exported}
        )
        assert reloaded == cfg

    def test_config_nested_helpers(self):
        cfg = Config()
        cfg.set_nested("a.b.c", 1)
        assert cfg.a.b.c == 1
        assert cfg.get_nested("a.b.c") == 1
        assert cfg.get_nested("a.x.c", "dflt") == "dflt"
        cfg.set_nested("d", {"e": 2})
        assert isinstance(cfg.d, Config) and cfg.d.e == 2
        with pytest.raises(ConfigurationError, match="'a.b.c' is a value"):
            cfg.set_nested("a.b.c.d", 1)
        with pytest.raises(AttributeError, match="'Config' object has no attribute 'zzz'"):
            cfg.zzz  # noqa: B018
        with pytest.raises(KeyError, match="the configuration has no key 'zzz'"):
            cfg.zzz  # noqa: B018
        assert getattr(cfg, "zzz", 5) == 5

    def test_copy_has_new_sections_and_shares_values(self, env):
        # As Prefect 1's Config.copy: keys are independent, values (lists ...) are shared.
        cfg = load(env)
        other = cfg.copy()
        other.logging.level = "DEBUG"
        assert cfg.logging.level == "INFO"
        assert other.logging.extra_loggers is cfg.logging.extra_loggers

    def test_default_box_creates_missing_sections(self):
        cfg = Config(default_box=True)
        cfg.tasks.defaults.max_retries = 3
        assert process_task_defaults(cfg).tasks.defaults.max_retries == 3
        assert isinstance(cfg.tasks, Config)

    def test_prefect_signature_reads_only_what_it_is_given(self, tmp_path, monkeypatch):
        defaults = write(tmp_path / "d.toml", "[general]\nx = 1\n")
        user = write(tmp_path / "u.toml", "[general]\ny = 2\n")
        backend = write(tmp_path / "b.toml", "[general]\ny = 3\n")
        monkeypatch.setenv("MYAPP__GENERAL__Z", "4")
        plain = load_configuration(str(defaults))
        assert plain.general.to_dict() == {"x": 1}
        both = load_configuration(str(defaults), str(user), str(backend), env_var_prefix="MYAPP")
        assert both.general.to_dict() == {"x": 1, "y": 3, "z": 4}

    def test_secret_dict_values_stay_dicts(self, env):
        cfg = load(env, HEADWATER__CONTEXT__SECRETS__AWS='{"KEY": "k"}')
        assert type(cfg.context.secrets.AWS) is dict

    def test_explain_configuration_sources(self, env, user_file):
        write(user_file, "debug = true\n")
        rows, found = explain_configuration(env={**env, "HEADWATER__FLOWS__CHECKPOINTING": "true"})
        sources = {k: src for k, _, src in rows}
        values = {k: v for k, v, _ in rows}
        assert found == str(user_file)
        assert sources["debug"] == f"user file {user_file}"
        assert sources["logging.level"] == f"default file {DEFAULT_CONFIG}"
        assert sources["flows.checkpointing"] == (
            "environment variable HEADWATER__FLOWS__CHECKPOINTING"
        )
        assert values["tasks.defaults.timeout"] == 0  # as written, before processing
        _, missing = explain_configuration(env={**env, "HEADWATER__USER_CONFIG_PATH": "/no"})
        assert missing == "/no (not found)"

    def test_validate_config_reports_every_problem(self, env):
        cfg = load(env)
        cfg.debug = "yes"
        del cfg.logging["level"]
        with pytest.raises(ConfigurationError) as info:
            validate_config(cfg)
        msg = str(info.value)
        assert "debug: Input should be a valid boolean (got 'yes')" in msg
        assert "logging.level: missing" in msg


# -------------------------------------------------------------------- the config proxy --
class TestProxy:
    def test_proxy_reads_the_loaded_config(self):
        assert isinstance(headwater.config, ConfigProxy)
        assert isinstance(headwater.config, Config)
        assert headwater.config is headwater.configuration.config
        assert headwater.context._base["config"] is global_config()
        assert current_config() is global_config()
        assert headwater.config.logging.level == global_config().logging.level
        assert headwater.config["flows"] is global_config().flows
        assert headwater.config == global_config()
        assert set(headwater.config) == set(global_config())
        assert "tasks" in headwater.config
        assert headwater.config.get_nested("tasks.defaults.max_retries") == 0

    def test_context_config_overrides(self, env):
        other = load(env, HEADWATER__DEBUG="true")
        with headwater.context(config=other):
            assert headwater.config.debug is True
            assert current_config() is other
        assert headwater.config.debug is global_config().debug

    def test_context_config_may_be_a_plain_dict(self):
        with headwater.context(config={"flows": {"checkpointing": "custom"}}):
            assert headwater.config.flows.checkpointing == "custom"

    def test_context_holding_the_proxy_does_not_recurse(self):
        with headwater.context(config=headwater.config):
            assert headwater.config.flows is global_config().flows

    def test_writes_go_to_the_config_in_effect(self):
        with set_temporary_config({}) as temp:
            headwater.config.my_key = 1
            headwater.config["my_other"] = 2
            assert (temp.my_key, temp["my_other"]) == (1, 2)
        assert "my_key" not in headwater.config
        assert "my_other" not in global_config()

    def test_pickle_and_deepcopy_keep_the_proxy(self):
        assert pickle.loads(pickle.dumps(headwater.config)) is headwater.config
        assert copy.deepcopy(headwater.config) is headwater.config
        cfg = Config(a=Config(b=1))
        assert pickle.loads(pickle.dumps(cfg)) == cfg


# ------------------------------------------------------------------ set_temporary_config --
class TestSetTemporaryConfig:
    def test_sets_and_restores(self):
        before = headwater.config.to_dict()
        with set_temporary_config({"flows.checkpointing": True, "my_app.a.b": 1}) as cfg:
            assert headwater.config.flows.checkpointing is True
            assert headwater.config.my_app.a.b == 1
            assert headwater.context.config is cfg
        assert headwater.config.to_dict() == before
        assert "my_app" not in headwater.config

    def test_nesting(self):
        with set_temporary_config({"my_app.x": 1}):
            with set_temporary_config({"my_app.y": 2}):
                assert (headwater.config.my_app.x, headwater.config.my_app.y) == (1, 2)
            assert "y" not in headwater.config.my_app
        assert "my_app" not in headwater.config

    def test_task_defaults_are_processed(self):
        with set_temporary_config({"tasks.defaults.retry_delay": 5, "tasks.defaults.timeout": 0}):
            assert headwater.config.tasks.defaults.retry_delay == datetime.timedelta(seconds=5)
            assert headwater.config.tasks.defaults.timeout is None

    def test_known_keys_are_type_checked(self):
        with pytest.raises(ConfigurationError, match="tasks.defaults.max_retries.*integer"):
            with set_temporary_config({"tasks.defaults.max_retries": "3"}):
                pass  # pragma: no cover

    def test_key_through_a_value(self):
        with pytest.raises(ConfigurationError, match="'debug' is a value"):
            with set_temporary_config({"debug.x": 1}):
                pass  # pragma: no cover

    def test_usable_as_decorator(self):
        @set_temporary_config({"my_app.deco": True})
        def f():
            return headwater.config.my_app.deco

        assert f() is True
        assert "my_app" not in headwater.config

    def test_concurrent_thread_sees_the_normal_config(self):
        inside, seen_in_thread = threading.Event(), threading.Event()
        seen: list = []

        def other_thread():
            assert inside.wait(10)
            seen.append(headwater.config.tasks.defaults.max_retries)
            seen.append(headwater.config.get("my_app"))
            seen_in_thread.set()

        t = threading.Thread(target=other_thread)
        t.start()
        with set_temporary_config({"tasks.defaults.max_retries": 9, "my_app.x": 1}):
            inside.set()
            assert seen_in_thread.wait(10)  # the thread read while this block was active
            assert headwater.config.tasks.defaults.max_retries == 9
        t.join(10)
        assert seen == [0, None]

    def test_block_in_a_thread_does_not_leak_to_the_main_thread(self):
        inside, checked = threading.Event(), threading.Event()
        seen: list = []

        def other_thread():
            with set_temporary_config({"flows.checkpointing": True}):
                seen.append(headwater.config.flows.checkpointing)
                inside.set()
                assert checked.wait(10)

        t = threading.Thread(target=other_thread)
        t.start()
        assert inside.wait(10)
        main_value = headwater.config.flows.checkpointing
        checked.set()
        t.join(10)
        assert seen == [True]
        assert main_value is False

    def test_asyncio_tasks_are_isolated(self):
        async def with_temp(gate: asyncio.Event, done: asyncio.Event):
            with set_temporary_config({"my_app.x": 1}):
                gate.set()
                await done.wait()
                return headwater.config.my_app.x

        async def without(gate: asyncio.Event, done: asyncio.Event):
            await gate.wait()
            value = headwater.config.get("my_app")
            done.set()
            return value

        async def run():
            gate, done = asyncio.Event(), asyncio.Event()
            return await asyncio.gather(with_temp(gate, done), without(gate, done))

        assert asyncio.run(run()) == [1, None]


def test_docs_examples_run():
    """Every ```python block of docs/configuration.md runs on its own."""
    doc = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(doc), "exec"), {"__name__": "__docs__"})


def test_config_toml_is_valid_toml():
    with open(DEFAULT_CONFIG, "rb") as f:
        assert tomllib.load(f)["engine"]["executor"]["default_class"]


# ------------------------------------------------------------------ the pydantic model at load --
class TestModelValidationAtLoad:
    def test_loading_user_values_does_not_import_pydantic(self, tmp_path):
        code = "import sys, headwater; print('pydantic' in sys.modules)"
        base = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__")}
        base["HEADWATER__USER_CONFIG_PATH"] = str(tmp_path / "none.toml")
        plain = subprocess.run(
            [sys.executable, "-c", code], env=base, capture_output=True, text=True
        )
        assert plain.stdout.strip() == "False", plain.stderr
        custom = {**base, "HEADWATER__FLOWS__CHECKPOINTING": "true"}
        checked = subprocess.run(
            [sys.executable, "-c", code], env=custom, capture_output=True, text=True
        )
        assert checked.stdout.strip() == "False", checked.stderr
        bad = {**base, "HEADWATER__FLOWS__CHECKPOINTING": "sometimes"}
        refused = subprocess.run(
            [sys.executable, "-c", code], env=bad, capture_output=True, text=True
        )
        assert refused.returncode != 0 and "HEADWATER__FLOWS__CHECKPOINTING" in refused.stderr

    def test_a_model_error_names_the_key_and_where_the_value_came_from(self, env, user_file):
        from headwater._config.layers import Source
        from headwater._config.model import check_against_model

        data = {"flows": {"checkpointing": "sometimes"}}
        sources = {("flows", "checkpointing"): Source("user", str(user_file))}
        with pytest.raises(ConfigurationError) as info:
            check_against_model(data, sources)
        message = str(info.value)
        assert "flows.checkpointing" in message
        assert "'sometimes'" in message
        assert f"user file {user_file}" in message

    def test_progress_accepts_auto_and_booleans_only(self, env):
        assert load(env, HEADWATER__FLOWS__PROGRESS="AUTO").flows.progress == "AUTO"
        assert load(env, HEADWATER__FLOWS__PROGRESS="false").flows.progress is False
        with pytest.raises(ConfigurationError, match="HEADWATER__FLOWS__PROGRESS"):
            load(env, HEADWATER__FLOWS__PROGRESS="sometimes")
