"""``headwater.configuration.setting``: one dotted key of the configuration in effect."""

from __future__ import annotations

import threading

import pytest

import headwater
from headwater.configuration import Config, ConfigKeyError, load_configuration, setting
from headwater.utilities.configuration import set_temporary_config


def test_setting_is_public():
    import headwater.configuration as configuration

    assert "setting" in configuration.__all__


def test_reads_the_loaded_configuration():
    assert setting("logging.level") == headwater.config.logging.level
    assert setting("flows.run_on_schedule") is headwater.config.flows.run_on_schedule
    assert setting("tasks.defaults.timeout") is None  # normalised at load


def test_follows_set_temporary_config():
    with set_temporary_config({"flows.checkpointing": True, "my_app.mode": "test"}):
        assert setting("flows.checkpointing") is True
        assert setting("my_app.mode") == "test"
    assert setting("flows.checkpointing") is headwater.config.flows.checkpointing
    assert setting("my_app.mode", None) is None


def test_is_isolated_per_thread():
    seen = []
    with set_temporary_config({"flows.progress": False}):
        thread = threading.Thread(target=lambda: seen.append(setting("flows.progress")))
        thread.start()
        thread.join()
        assert setting("flows.progress") is False
    assert seen == [headwater.config.flows.progress]


def test_missing_key_gives_the_default_then_the_schema_default():
    with headwater.context(config=Config()):  # a whole Config replaces the loaded one
        assert setting("flows.run_on_schedule") is True
        assert setting("flows.run_on_schedule", "given") == "given"
        assert setting("tasks.defaults.max_retries") == 0
        assert setting("tasks.defaults.retry_delay") is None
        assert setting("logging.log_attributes") == []


def test_a_value_where_a_section_is_expected_reads_as_missing():
    with headwater.context(config=Config(flows="off", tasks=Config(defaults=5))):
        assert setting("flows.checkpointing") is False
        assert setting("tasks.defaults.timeout", "x") == "x"


def test_a_plain_mapping_in_the_context_is_read_as_it_is():
    with headwater.context():
        headwater.context.config = {"flows": {"checkpointing": True}}
        assert setting("flows.checkpointing") is True
        assert setting("flows.run_on_schedule") is True  # schema default


def test_a_stored_none_is_returned_not_replaced():
    with set_temporary_config({"my_app.value": None}):
        assert setting("my_app.value", "default") is None


def test_reads_a_given_configuration():
    cfg = Config(flows=Config(checkpointing=True))
    assert setting("flows.checkpointing", config=cfg) is True
    assert setting("flows.run_on_schedule", config=cfg) is True  # schema default
    assert setting("flows.checkpointing", config={"flows": {"checkpointing": 1}}) == 1
    assert setting("flows.checkpointing", config=headwater.config) is (
        headwater.config.flows.checkpointing
    )


def test_unknown_missing_key_without_default_names_the_key():
    with pytest.raises(ConfigKeyError, match=r"'my_app.nope' is not set.*setting\('my_app.nope'"):
        setting("my_app.nope")
    with pytest.raises(KeyError):
        setting("my_app.nope")
    with pytest.raises(AttributeError):
        setting("my_app.nope")


def test_reads_user_keys_of_a_loaded_configuration(tmp_path):
    env = {
        "HOME": str(tmp_path),
        "HEADWATER__USER_CONFIG_PATH": "",
        "HEADWATER__MY_APP__SIZE": "10",
    }
    cfg = load_configuration(env=env)
    assert setting("my_app.size", config=cfg) == 10
