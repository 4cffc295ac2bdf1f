"""Fixtures of the UI tests: a history of real flow runs (one per module), the UI over it
through Starlette's test client, and over a real loopback socket (uvicorn in a thread)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the UI tests need the ui extra: pip install -e '.[ui]'")
pytest.importorskip("uvicorn", reason="the UI tests need the ui extra: pip install -e '.[ui]'")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2 (the test extra)")

from ui_support import (
    HOST,
    TOKEN,
    History,
    etl_flow,
    evil,
    evil_flow,
    gate_flow,
    greet_flow,
    newest,
    run_into,
)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """The history of the module's tests (see the module docstring)."""
    db = tmp_path_factory.mktemp("ui") / "history.db"
    out = History(db)
    etl = etl_flow()
    for key, n in (("etl-3", 3), ("etl-2", 2)):
        assert run_into(db, etl, parameters={"n": n}).is_successful()
        row = newest(db, "etl")
        out.runs[key] = row["id"]
        out.flows["etl"] = row["flow_id"]
    assert run_into(db, evil_flow()).is_failed()
    row = newest(db, evil("flow"))
    out.runs["evil"] = row["id"]
    out.flows["evil"] = row["flow_id"]
    return out


@pytest.fixture
def client(history: History) -> Iterator[Any]:
    """Starlette's test client on the UI over ``history`` (``etl`` and ``gated`` registered)."""
    from starlette.testclient import TestClient

    from headwater.ui import create_app

    app = create_app(
        history.db, flows=[etl_flow(), ("gated", gate_flow().flow), greet_flow()], token=TOKEN
    )
    with TestClient(app, base_url=HOST) as test_client:
        yield test_client
    app.state.ui.data.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    """``serve(db, **kwargs)``: a started :class:`~headwater.ui.UIServer`, stopped after."""
    from headwater.ui import UIServer

    servers: list[Any] = []

    def start(db: Path, **kwargs: Any) -> Any:
        kwargs.setdefault("token", TOKEN)
        server = UIServer(db, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
