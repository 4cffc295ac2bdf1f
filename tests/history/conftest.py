"""Fixtures of the run-history tests: each store test runs on SQLite and on PostgreSQL.

``target`` is a fresh history database: a SQLite file under ``tmp_path``, or a new database on
the PostgreSQL server named by ``HEADWATER_TEST_POSTGRES_URL`` (``.ci/postgres.sh`` starts one
and prints the variable); without the variable the PostgreSQL cases skip, saying so.
``recording`` points the configuration (this process, its threads and subprocesses) at it, and
``store`` is it opened for reading.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

POSTGRES_VAR = "HEADWATER_TEST_POSTGRES_URL"


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_VAR, "")
    if not url:
        pytest.skip(
            f'{POSTGRES_VAR} is not set: start a server with `eval "$(.ci/postgres.sh)"` to '
            "run the PostgreSQL store tests"
        )
    return url


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server (dropped afterwards)."""
    psycopg = pytest.importorskip("psycopg")
    base = postgres_url()
    name = f"hw_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    from headwater.history import flush

    flush(30)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh history database: a SQLite file path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    url: str = request.getfixturevalue("postgres_database")
    return url


def settings_for(target: str) -> dict[str, Any]:
    """The configuration that records into ``target``."""
    if target.startswith("postgresql://"):
        return {"history.url": target, "history.enabled": True}
    return {"history.path": target, "history.url": "", "history.enabled": True}


@pytest.fixture
def recording(target: str) -> Iterator[str]:
    """Runs are recorded into ``target`` while the test runs (also in its subprocesses)."""
    from headwater.testing._isolation import temporary_settings

    with temporary_settings(settings_for(target)):
        yield target


@pytest.fixture
def store(recording: str) -> Iterator[Any]:
    """The history store of ``recording``, opened for reading."""
    from headwater.history import open_store

    s = open_store(recording)
    yield s
    s.flush()
    s.close()
