from __future__ import annotations

import datetime
import logging

import pytest

import headwater
from headwater import Flow, task
from headwater.client import Secret
from headwater.configuration import load_configuration
from headwater.executors import LocalExecutor
from headwater.tasks.secrets import EnvVarSecret, HeadwaterSecret, PrefectSecret, SecretBase

SECRET = "s3cr3t-value-\u2603"


@task
def use(secret):
    return f"len={len(secret)}"


@task
def plain():
    return "not-a-secret"


class RecordingResult:
    """A stand-in result that records every value written through it."""

    def __init__(self):
        self.written = []
        self.location = None

    def write(self, value, /, **kwargs):
        self.written.append(value)
        return self

    def copy(self):
        return self


def config_with_secrets(**secrets):
    env = {"HEADWATER__USER_CONFIG_PATH": "/nonexistent/headwater/config.toml"}
    env.update({f"HEADWATER__CONTEXT__SECRETS__{k}": v for k, v in secrets.items()})
    return load_configuration(env=env)


def run_flow(flow, **kwargs):
    return flow.run(executor=LocalExecutor(), **kwargs)


class TestSecret:
    def test_reads_context(self):
        with headwater.context(secrets={"TOKEN": SECRET}):
            assert Secret("TOKEN").get() == SECRET
            assert Secret("TOKEN").exists()

    def test_falls_back_to_config(self):
        cfg = config_with_secrets(FROM_ENV="abc")
        with headwater.context(config=cfg):
            assert Secret("FROM_ENV").get() == "abc"
            assert Secret("FROM_ENV").exists()

    def test_names_are_case_sensitive(self):
        cfg = config_with_secrets(MixedCase="v")
        with headwater.context(config=cfg):
            assert Secret("MixedCase").get() == "v"
            assert not Secret("MIXEDCASE").exists()

    def test_context_wins_over_config(self):
        cfg = config_with_secrets(KEY="from-config")
        with headwater.context(config=cfg, secrets={"KEY": "from-context"}):
            assert Secret("KEY").get() == "from-context"

    def test_context_without_the_name_falls_back_to_config(self):
        cfg = config_with_secrets(ONLY_CONFIG="c")
        with headwater.context(config=cfg, secrets={"OTHER": "x"}):
            assert Secret("ONLY_CONFIG").get() == "c"

    def test_missing_is_a_value_error_naming_it_and_how_to_set_it(self):
        with headwater.context(secrets={"OTHER": SECRET}):
            assert not Secret("MISSING").exists()
            with pytest.raises(ValueError, match="Local secret 'MISSING' was not found") as info:
                Secret("MISSING").get()
        assert "HEADWATER__CONTEXT__SECRETS__MISSING" in str(info.value)
        assert SECRET not in str(info.value)

    def test_json_object_strings_are_decoded(self):
        with headwater.context(secrets={"CREDS": '{"user": "u", "password": "p"}'}):
            assert Secret("CREDS").get() == {"user": "u", "password": "p"}

    def test_config_sections_become_plain_dicts(self):
        cfg = config_with_secrets(AWS='{"key": "k", "nested": {"a": 1}}')
        with headwater.context(config=cfg):
            value = Secret("AWS").get()
        assert type(value) is dict
        assert value == {"key": "k", "nested": {"a": 1}}

    @pytest.mark.parametrize("text", ["0123", "[not json", "{broken", "plain"])
    def test_other_strings_are_returned_verbatim(self, text):
        with headwater.context(secrets={"S": text}):
            assert Secret("S").get() == text

    def test_repr_hides_value(self):
        with headwater.context(secrets={"TOKEN": SECRET}):
            assert SECRET not in repr(Secret("TOKEN"))

    def test_bad_names(self):
        with pytest.raises(TypeError, match="Secret name must be a string, got int"):
            Secret(5)
        with pytest.raises(ValueError, match="must not be empty"):
            Secret("")


class TestHeadwaterSecret:
    def test_prefect_alias(self):
        assert PrefectSecret is HeadwaterSecret

    def test_run_returns_secret(self):
        with headwater.context(secrets={"DB": SECRET}):
            assert HeadwaterSecret("DB").run() == SECRET
            assert HeadwaterSecret().run(name="DB") == SECRET

    def test_task_is_named_after_secret_and_never_checkpoints(self):
        t = HeadwaterSecret("DB")
        assert t.name == "DB"
        assert t.checkpoint is False
        assert isinstance(t, SecretBase)

    def test_no_name(self):
        with pytest.raises(ValueError, match="no secret name given"):
            HeadwaterSecret().run()

    def test_name_wrong_type(self):
        with pytest.raises(TypeError, match="secret name must be a string, got int"):
            HeadwaterSecret(3)

    def test_missing_secret(self):
        with pytest.raises(ValueError, match="Local secret 'NOPE' was not found"):
            HeadwaterSecret("NOPE").run()

    @pytest.mark.parametrize(
        "option",
        [
            {"cache_for": datetime.timedelta(hours=1)},
            {"cache_key": "k"},
            {"target": "{task_name}.txt"},
            {"result": RecordingResult()},
        ],
    )
    def test_options_that_would_store_the_value_are_refused(self, option):
        (name,) = option
        with pytest.raises(ValueError, match=f"do not accept {name}="):
            HeadwaterSecret("DB", **option)

    def test_checkpoint_true_is_refused(self):
        with pytest.raises(ValueError, match="never checkpointed"):
            HeadwaterSecret("DB", checkpoint=True)

    def test_in_flow_from_run_context(self):
        with Flow("secret-flow") as flow:
            out = use(HeadwaterSecret("DB"))
        state = run_flow(flow, context={"secrets": {"DB": SECRET}})
        assert state.is_successful()
        assert state.result[out].result == f"len={len(SECRET)}"

    def test_in_flow_from_config(self):
        cfg = config_with_secrets(DB="abcd")
        with Flow("secret-config") as flow:
            out = use(HeadwaterSecret("DB"))
        with headwater.context(config=cfg):
            state = run_flow(flow)
        assert state.result[out].result == "len=4"

    def test_missing_secret_fails_the_task_naming_it(self):
        with Flow("secret-missing") as flow:
            secret = HeadwaterSecret("ABSENT")
            out = use(secret)
        state = run_flow(flow)
        assert state.is_failed()
        assert "'ABSENT' was not found" in state.result[secret].message
        assert not state.result[out].is_successful()

    def test_value_is_never_checkpointed(self):
        result = RecordingResult()
        with Flow("secret-checkpoint", result=result) as flow:
            use(HeadwaterSecret("DB"))
            plain()
        state = run_flow(flow, context={"secrets": {"DB": SECRET}, "checkpointing": True})
        assert state.is_successful()
        assert "not-a-secret" in result.written  # checkpointing is on for ordinary tasks
        assert SECRET not in result.written

    def test_value_is_never_logged(self, caplog):
        with Flow("secret-logs") as flow:
            use(HeadwaterSecret("DB"))
        with caplog.at_level(logging.DEBUG, logger="headwater"):
            state = run_flow(flow, context={"secrets": {"DB": SECRET}})
        assert state.is_successful()
        assert caplog.records
        assert not any(SECRET in r.getMessage() for r in caplog.records)
        assert SECRET not in caplog.text


class TestEnvVarSecret:
    def test_reads_variable(self, monkeypatch):
        monkeypatch.setenv("HW_TEST_SECRET", SECRET)
        assert EnvVarSecret("HW_TEST_SECRET").run() == SECRET

    def test_read_at_run_time(self, monkeypatch):
        t = EnvVarSecret("HW_TEST_LATE")
        monkeypatch.setenv("HW_TEST_LATE", "later")
        assert t.run() == "later"

    def test_cast(self, monkeypatch):
        monkeypatch.setenv("HW_TEST_PORT", "8080")
        assert EnvVarSecret("HW_TEST_PORT", cast=int).run() == 8080

    def test_missing_returns_none(self, monkeypatch):
        monkeypatch.delenv("HW_TEST_ABSENT", raising=False)
        assert EnvVarSecret("HW_TEST_ABSENT", cast=int).run() is None

    def test_missing_raises_when_asked(self, monkeypatch):
        monkeypatch.delenv("HW_TEST_ABSENT", raising=False)
        with pytest.raises(ValueError, match="environment variable 'HW_TEST_ABSENT' is not set"):
            EnvVarSecret("HW_TEST_ABSENT", raise_if_missing=True).run()

    def test_cast_failure_names_variable_but_not_value(self, monkeypatch):
        monkeypatch.setenv("HW_TEST_PORT", SECRET)
        with pytest.raises(
            ValueError, match="could not convert environment variable 'HW_TEST_PORT' with 'int'"
        ) as info:
            EnvVarSecret("HW_TEST_PORT", cast=int).run()
        assert SECRET not in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__

    def test_name_at_run(self, monkeypatch):
        monkeypatch.setenv("HW_TEST_OTHER", "x")
        assert EnvVarSecret().run(name="HW_TEST_OTHER") == "x"

    def test_no_name(self):
        with pytest.raises(ValueError, match="no variable name given"):
            EnvVarSecret().run()

    def test_cast_not_callable(self):
        with pytest.raises(TypeError, match="cast must be callable"):
            EnvVarSecret("X", cast="int")

    def test_name_wrong_type(self):
        with pytest.raises(TypeError, match="variable name must be a string, got list"):
            EnvVarSecret(["X"])

    def test_is_a_secret_task(self):
        t = EnvVarSecret("X")
        assert isinstance(t, SecretBase)
        assert t.checkpoint is False
        assert t.name == "X"
        with pytest.raises(ValueError, match="do not accept target="):
            EnvVarSecret("X", target="x.txt")

    def test_in_flow(self, monkeypatch):
        monkeypatch.setenv("HW_TEST_WORKERS", "4")
        with Flow("env-secret") as flow:
            out = use(EnvVarSecret("HW_TEST_WORKERS"))
        assert run_flow(flow).result[out].result == "len=1"

    def test_cast_failure_in_flow_keeps_value_out_of_state_and_logs(self, monkeypatch, caplog):
        monkeypatch.setenv("HW_TEST_PORT", SECRET)
        with Flow("env-secret-bad") as flow:
            secret = EnvVarSecret("HW_TEST_PORT", cast=int)
            use(secret)
        with caplog.at_level(logging.DEBUG, logger="headwater"):
            state = run_flow(flow)
        assert state.result[secret].is_failed()
        assert "HW_TEST_PORT" in state.result[secret].message
        assert SECRET not in state.result[secret].message
        assert SECRET not in caplog.text


@task
def secret_length(value):
    return len(value)


def test_a_secret_reaches_its_downstream_task_on_every_executor(executor):
    """The secret's Result forgets its value when pickled alone; the state carries it."""
    with Flow("secret-downstream") as flow:
        length = secret_length(HeadwaterSecret("API_TOKEN"))
    state = flow.run(executor=executor, context={"secrets": {"API_TOKEN": "tok-12345"}})
    assert state.is_successful(), state.result[length]
    assert state.result[length].result == len("tok-12345")
