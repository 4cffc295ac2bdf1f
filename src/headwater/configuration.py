"""Configuration loading (minimal; extended in the configuration module proper)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from headwater.utilities.collections import DotDict, as_nested_dict

__all__ = ["Config", "config", "load_configuration"]

DEFAULT_CONFIG = Path(__file__).with_name("config.toml")


class Config(DotDict):
    """Nested, attribute-accessible configuration."""


def load_configuration(path: str | os.PathLike = DEFAULT_CONFIG, env: Any = None) -> Config:
    with open(path, "rb") as f:
        data = tomllib.load(f)
    data["home_dir"] = os.path.expanduser(data["home_dir"])
    return as_nested_dict(data, Config)


config = load_configuration()
